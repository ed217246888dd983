"""The house's import rules, read from the source: core never imports application, and no
two modules import each other (directly or through others), late imports included.

core = tensor/autograd, ops, functional, nn, optim, distributed (and random, process_settings, the small
modules they need); application = everything else (data, io, train, models, summary, viz,
filters, cli, designed, ...). The package ``__init__`` files that gather names are exempt as
importers (``convnet/__init__.py`` imports every layer on purpose).
"""

from __future__ import annotations

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "convnet")
CORE = ("convnet.tensor", "convnet.tensor_ops", "convnet.ops", "convnet.functional", "convnet.nn",
        "convnet.optim", "convnet.random", "convnet.process_settings", "convnet.distributed",
        # torch's tensor vocabulary and module paths
        "convnet.dtypes", "convnet.device", "convnet.tensor_math", "convnet.tensor_reduce",
        "convnet.tensor_shape", "convnet.tensor_inplace", "convnet.tensor_convert",
        "convnet.creation", "convnet.torch_api", "convnet.cuda", "convnet.accelerator",
        "convnet.backends", "convnet.utils", "convnet.errors", "convnet.grad_mode",
        "convnet._naming")


def module_files() -> dict[str, str]:
    root = os.path.dirname(PACKAGE)
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                modules[dotted.removesuffix(".__init__")] = path
    return modules


def imports_of(name: str, path: str, modules: dict) -> set[str]:
    """The convnet modules ``name`` imports anywhere in its file (late imports too)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {target for target in found if target in modules and target != name}


def is_core(name: str) -> bool:
    return any(name == core or name.startswith(core + ".") for core in CORE)


def is_gathering_init(name: str, modules: dict) -> bool:
    return modules[name].endswith("__init__.py")


@pytest.fixture(scope="module")
def graph():
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}, modules


def test_core_never_imports_application(graph):
    edges, modules = graph
    upward = sorted(f"{source} -> {target}" for source, targets in edges.items()
                    if is_core(source) for target in targets
                    if not is_core(target) and target != "convnet")
    assert upward == []


def test_no_import_cycles(graph):
    edges, modules = graph
    # a package __init__ that re-exports its own submodules is not a cycle partner
    edges = {source: {t for t in targets if not (is_gathering_init(t, modules)
                                                 and source.startswith(t + "."))}
             for source, targets in edges.items()}
    edges["convnet"] = set()
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_check_sees_a_cycle_and_an_upward_import(tmp_path):
    """The reader itself: a hand-made pair of files is read as the edges they contain."""
    (tmp_path / "a.py").write_text("from .b import x\ndef late():\n    from .data import y\n")
    modules = {"convnet.ops.a": str(tmp_path / "a.py"), "convnet.ops.b": "", "convnet.ops.data": ""}
    assert imports_of("convnet.ops.a", str(tmp_path / "a.py"), modules) == {
        "convnet.ops.b", "convnet.ops.data"}
