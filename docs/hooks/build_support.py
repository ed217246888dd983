"""MkDocs hook: what the tutorials and the API reference need while the site builds.

- The tutorials run in the build process (markdown-exec): this hook makes ``docs/hooks``
  importable, so a page's hidden first block can say ``from page_support import show``,
  and fixes Matplotlib's backend to Agg (no screen).
- ``<!-- convnet functions -->`` in a page becomes one API entry per function of the
  ``convnet`` namespace (``convnet.cat``, ``convnet.zeros``, ...), grouped by family, so
  the reference lists the names users call, as they call them, and cannot miss one.
"""

from __future__ import annotations

import os
import sys

MARKER = "<!-- convnet functions -->"

# the module a function is defined in -> the heading of its group on the page
FAMILIES = {
    "convnet.creation": "Creating tensors",
    "convnet.tensor_ops": "Arithmetic and element-wise functions",
    "convnet.tensor_math": "Comparison, logic and more element-wise maths",
    "convnet.tensor_reduce": "Reductions, sorting and search",
    "convnet.tensor_shape": "Shapes, joining and indexing",
    "convnet.tensor_convert": "Shapes, joining and indexing",
    "convnet.torch_api": "Joining, products and softmax",
    "convnet.grad_mode": "Gradients on and off",
    "convnet.dtypes": "Data types and devices",
    "convnet.device": "Data types and devices",
    "convnet.io.checkpoint": "Saving and loading",
    "convnet.random": "Random numbers",
    "convnet.summary": "Model summaries",
}


def on_config(config):
    os.environ.setdefault("MPLBACKEND", "Agg")
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    return config


def convnet_functions() -> dict[str, list[str]]:
    """Every public function and class of the ``convnet`` namespace (not its submodules
    or dtype objects), by family heading, each family sorted by name."""
    import inspect

    import convnet
    groups: dict[str, list[str]] = {}
    for name in sorted(dir(convnet)):
        value = getattr(convnet, name)
        if name.startswith("_") or inspect.ismodule(value) or name == "Tensor":
            continue
        if not callable(value):
            continue
        module = getattr(value, "__module__", None) or ""
        if not module.startswith("convnet"):
            continue
        heading = FAMILIES.get(module, "Other functions")
        groups.setdefault(heading, []).append(name)
    return groups


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown.splitlines():      # the marker alone on its line
        return markdown
    sections = []
    for heading, names in convnet_functions().items():
        sections.append(f"## {heading}\n")
        sections += [f"::: convnet.{name}\n    options:\n      heading_level: 3\n"
                     for name in names]
    return "\n".join("\n".join(sections) if line == MARKER else line
                     for line in markdown.splitlines())
