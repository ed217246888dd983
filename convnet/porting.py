"""Point a PyTorch script's imports at convnet, changing nothing else.

A script written for torch and torchvision runs on convnet once its import statements name
convnet's modules under the names the script uses: ``import torch`` becomes
``import convnet as torch``, ``from torchvision import datasets`` becomes
``from convnet.vision import datasets``, ``import torch.utils.data`` keeps ``torch`` bound.
Only import statements change, each kept on its own lines, so line numbers in tracebacks
still match the original. An import that convnet has no counterpart for is a ValueError
naming the line; everything that is not a torch or torchvision import is left as written.

``convnet port SCRIPT`` prints (or ``-o`` writes) the ported script.

Example:
    >>> print(port_source("import torch\\nfrom torch import nn, optim\\nx = 1\\n"), end="")
    import convnet as torch
    from convnet import nn, optim
    x = 1
"""

from __future__ import annotations

import ast
import importlib.util

__all__ = ["port_source", "port_module_name"]

ROOTS = {"torch": "convnet", "torchvision": "convnet.vision"}


def port_module_name(name: str) -> str | None:
    """convnet's module for the torch or torchvision module ``name``; None if not torch's.

    Raises ValueError when ``name`` is torch's and convnet has no such module.

    Example:
        >>> port_module_name("torch.nn.functional"), port_module_name("numpy")
        ('convnet.nn.functional', None)
    """
    root, _, rest = name.partition(".")
    if root not in ROOTS:
        return None
    ported = ROOTS[root] + ("." + rest if rest else "")
    try:
        found = importlib.util.find_spec(ported) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise ValueError(f"convnet has no counterpart of {name}")
    return ported


def _alias(alias: ast.alias) -> str:
    return alias.name + (f" as {alias.asname}" if alias.asname else "")


def _port_import(node: ast.Import) -> str | None:
    parts, changed = [], False
    for alias in node.names:
        ported = port_module_name(alias.name)
        if ported is None:
            parts.append(_alias(alias))
        elif alias.asname:
            parts.append(f"{ported} as {alias.asname}")
            changed = True
        elif "." in alias.name:
            # ``import torch.utils.data`` binds ``torch``: load the module, bind the root
            root = alias.name.split(".")[0]
            parts.append(f"{ported}, {ROOTS[root]} as {root}")
            changed = True
        else:
            parts.append(f"{ported} as {alias.name}")
            changed = True
    return f"import {', '.join(parts)}" if changed else None


def _port_import_from(node: ast.ImportFrom) -> str | None:
    if node.level or node.module is None:
        return None
    ported = port_module_name(node.module)
    if ported is None:
        return None
    return f"from {ported} import {', '.join(_alias(alias) for alias in node.names)}"


def port_source(source: str, filename: str = "<script>") -> str:
    """``source`` with its torch and torchvision imports naming convnet's modules.

    Args:
        source: a Python script or module written for PyTorch.
        filename: shown in errors.

    Returns:
        the same text, line for line, where only import statements differ.

    Raises:
        ValueError: an import convnet has no module for, naming ``filename`` and the line.

    Example:
        >>> print(port_source("import torchvision.transforms as T"))
        import convnet.vision.transforms as T
    """
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines(keepends=True)
    replacements = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        try:
            text = (_port_import(node) if isinstance(node, ast.Import)
                    else _port_import_from(node))
        except ValueError as error:
            raise ValueError(f"{filename}, line {node.lineno}: {error}") from None
        if text is not None:
            replacements.append((node, text))
    for node, text in sorted(replacements, key=lambda item: -item[0].lineno):
        first, last = node.lineno - 1, node.end_lineno - 1
        start, end = node.col_offset, node.end_col_offset
        head, tail = lines[first][:start], lines[last][end:]
        spare = ["\n"] * (last - first)  # keep the line count of a multi-line import
        lines[first:last + 1] = [head + text + tail] + spare
    return "".join(lines)
