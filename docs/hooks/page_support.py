"""What the tutorial pages call while the site builds: :func:`show` puts a Matplotlib
figure into the page (a PNG inlined as a data URI, so the page needs no other file) and
:func:`show_file` does the same for a PNG file a convnet plot wrote, and :func:`table` prints
rows as a Markdown table.

Example:
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> figure, axes = plt.subplots(figsize=(2, 1)); _ = axes.plot([0, 1])
    >>> show(figure, "a line", echo=False).startswith('<img alt="a line"')
    True
"""

from __future__ import annotations

import base64
import io
import sys


def _page_print(depth: int = 2):
    """The print of the page block that called the helper (the one the build captures)."""
    return sys._getframe(depth).f_globals.get("print", print)


def _inline_png(png: bytes, alt: str) -> str:
    return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}" />'


def show(figure, alt: str, echo: bool = True) -> str:
    """Print (and return) ``figure`` as an ``<img>`` tag with the PNG inline; closes it."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    tag = _inline_png(buffer.getvalue(), alt)
    if echo:
        _page_print()(tag)
    return tag


def show_file(path, alt: str) -> str:
    """Print (and return) the PNG file at ``path`` as an inline ``<img>`` tag."""
    with open(path, "rb") as handle:
        tag = _inline_png(handle.read(), alt)
    _page_print()(tag)
    return tag


def table(header, rows) -> None:
    """Print ``rows`` (sequences of cells) under ``header`` as a Markdown table, with the
    page's own print."""
    page_print = _page_print()
    page_print("| " + " | ".join(map(str, header)) + " |")
    page_print("|" + " --- |" * len(header))
    for row in rows:
        page_print("| " + " | ".join(map(str, row)) + " |")
