"""No import cycles inside gannet.

The static import graph of ``src/gannet`` is built with :mod:`ast`: an edge A -> B for every
``import gannet.B`` / ``from gannet.B import x`` in A, marked *module-level* (run when A is
imported: at the top of A, in a class body, under ``if``/``try``) or *function-level* (inside
a function, run when it is called). Imports under ``if TYPE_CHECKING:`` are never run and are
left out. A cycle of module-level imports makes the import order matter (a module sees the
other half-initialised), so it fails the test, which prints the cycle.

``from P import name`` is an edge to ``P.name`` when that is a module, else to ``P``; the
implicit import of a module's parent packages is not an edge (every module would otherwise
depend on ``gannet/__init__``, which imports the public API).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "gannet"

EXCLUDED = ("gannet.trainer", "gannet.training", "gannet.figures", "gannet.playground")
"""Modules being rewritten (and everything under these packages): not checked yet."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    module_level: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def excluded(name: str) -> bool:
    return any(name == e or name.startswith(e + ".") for e in EXCLUDED)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (excluded ones too: they are targets)."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


ImportNode = ast.Import | ast.ImportFrom


def _imports(node: ast.AST, in_function: bool) -> Iterator[tuple[ImportNode, bool]]:
    """Every import statement under ``node``, with whether it runs at import time."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            statements: list[ast.AST] = list(child.orelse)  # only the else branch runs
        else:
            statements = [child]
        for statement in statements:
            if isinstance(statement, ast.Import | ast.ImportFrom):
                yield statement, not in_function
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from _imports(statement, True)
            else:
                yield from _imports(statement, in_function)


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of ``from ... import`` (relative imports included)."""
    if node.level == 0:
        return node.module or ""
    base = source.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def edges_of(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: list[Edge] = []
    for node, module_level in _imports(tree, False):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            where = _resolve(name, is_package, node)
            for alias in node.names:
                sub = f"{where}.{alias.name}"
                targets.append(sub if sub in modules else where)
        for target in targets:
            while target and target not in modules:  # `import gannet.x.Y`-style: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.append(Edge(name, target, node.lineno, module_level))
    return out


def import_graph() -> list[Edge]:
    modules = all_modules()
    return [
        edge
        for name, path in modules.items()
        if not excluded(name)
        for edge in edges_of(name, path, modules)
    ]


def find_cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One cycle through each strongly connected component that has one (Tarjan, then a
    breadth-first search inside the component), each as its list of edges."""
    graph: dict[str, list[Edge]] = {}
    for e in edges:
        graph.setdefault(e.source, []).append(e)
        graph.setdefault(e.target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the number of modules
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for e in graph[v]:
            if e.target not in index:
                visit(e.target)
                low[v] = min(low[v], low[e.target])
            elif e.target in on_stack:
                low[v] = min(low[v], index[e.target])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for component in components:
        start = min(component)
        paths: dict[str, list[Edge]] = {start: []}
        queue = [start]
        found: list[Edge] | None = None
        while queue and found is None:
            v = queue.pop(0)
            for e in graph[v]:
                if e.target == start:
                    found = [*paths[v], e]
                    break
                if e.target in component and e.target not in paths:
                    paths[e.target] = [*paths[v], e]
                    queue.append(e.target)
        assert found is not None
        cycles.append(found)
    return cycles


def describe(cycle: list[Edge]) -> str:
    steps = [f"{e.source} (line {e.line}) -> " for e in cycle]
    return "".join(steps) + cycle[-1].target


def test_the_graph_sees_the_package():
    """A sanity check of the walker itself: known modules and edges are there."""
    edges = import_graph()
    sources = {e.source for e in edges}
    assert {"gannet", "gannet.cli", "gannet.models.base", "gannet.metrics.modes"} <= sources
    assert any(e.source == "gannet" and e.target == "gannet.api" for e in edges)
    assert all(not excluded(e.source) for e in edges)


def test_find_cycles_reports_a_cycle():
    edges = [
        Edge("a", "b", 1, True),
        Edge("b", "c", 2, True),
        Edge("c", "a", 3, True),
        Edge("c", "d", 4, True),
    ]
    (cycle,) = find_cycles(edges)
    assert describe(cycle) == "a (line 1) -> b (line 2) -> c (line 3) -> a"
    assert find_cycles(edges[:2]) == []


def test_relative_and_type_checking_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import errors\n"
        "from .models import base\n"
        "if TYPE_CHECKING:\n"
        "    import gannet.config\n"
        "def f():\n"
        "    from gannet.metrics import METRICS\n"
    )
    modules = all_modules()
    edges = edges_of("gannet.m", path, modules)
    assert [(e.target, e.module_level) for e in edges] == [
        ("gannet.errors", True),
        ("gannet.models.base", True),
        ("gannet.metrics", False),
    ]


def test_no_cycle_among_module_level_imports():
    edges = [e for e in import_graph() if e.module_level]
    cycles = find_cycles(edges)
    for cycle in cycles:
        print("import cycle:", describe(cycle))
    assert not cycles, "import cycles:\n" + "\n".join(describe(c) for c in cycles)


@pytest.mark.parametrize("pair", [("gannet.models.base", "gannet.models.conditional")])
def test_no_cycle_even_through_function_level_imports(pair):
    """Cycles once hidden by an import inside a function stay gone."""
    edges = [e for e in import_graph() if e.source in pair and e.target in pair]
    assert not find_cycles(edges), [describe(c) for c in find_cycles(edges)]
