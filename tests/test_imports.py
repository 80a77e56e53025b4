"""No import circles inside gannet, of any kind.

The static import graph of ``src/gannet`` is built with :mod:`ast`: an edge A -> B for every
``import gannet.B`` / ``from gannet.B import x`` in A, marked by how it runs: *module-level*
(when A is imported: at the top of A, in a class body, under ``if``/``try``), *function-level*
(inside a function, when it is called) or *type-only* (under ``if TYPE_CHECKING:``, never run).
Every kind counts: a circle of module-level imports makes the import order matter (a module
sees the other half-initialised), and one hidden in a function or behind ``TYPE_CHECKING`` is
the same tangle of responsibilities (two modules that each need the other). The test prints
each circle with the line of every import in it.

``from P import name`` is an edge to ``P.name`` when that is a module, else to ``P``; the
implicit import of a module's parent packages is not an edge (every module would otherwise
depend on ``gannet/__init__``, which imports the public API).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "gannet"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    module_level: bool
    type_only: bool = False


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


ImportNode = ast.Import | ast.ImportFrom


def _imports(
    node: ast.AST, in_function: bool, type_only: bool = False
) -> Iterator[tuple[ImportNode, bool, bool]]:
    """Every import statement under ``node``, with whether it runs at import time and whether
    it is under ``if TYPE_CHECKING:`` (never run)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _imports_of(statement, in_function, True)
            for statement in child.orelse:
                yield from _imports_of(statement, in_function, type_only)
        else:
            yield from _imports_of(child, in_function, type_only)


def _imports_of(
    statement: ast.AST, in_function: bool, type_only: bool
) -> Iterator[tuple[ImportNode, bool, bool]]:
    if isinstance(statement, ast.Import | ast.ImportFrom):
        yield statement, not in_function and not type_only, type_only
    elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        yield from _imports(statement, True, type_only)
    else:
        # the statement itself may be a compound one (if/try/with/class): look inside it
        yield from _imports(statement, in_function, type_only)


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
    for node, module_level, type_only in _imports(tree, False):
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
                out.append(Edge(name, target, node.lineno, module_level, type_only))
    return out


def import_graph() -> list[Edge]:
    modules = all_modules()
    return [edge for name, path in modules.items() for edge in edges_of(name, path, modules)]


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


def kind(edge: Edge) -> str:
    if edge.type_only:
        return ", type-only"
    return "" if edge.module_level else ", in a function"


def describe(cycle: list[Edge]) -> str:
    steps = [f"{e.source} (line {e.line}{kind(e)}) -> " for e in cycle]
    return "".join(steps) + cycle[-1].target


def test_the_graph_sees_the_package():
    """A sanity check of the walker itself: known modules and edges are there."""
    edges = import_graph()
    sources = {e.source for e in edges}
    assert {"gannet", "gannet.cli", "gannet.models.base", "gannet.metrics.modes"} <= sources
    assert any(e.source == "gannet" and e.target == "gannet.api" for e in edges)
    # the hooks' view of a trainer is a type-only import, and it is seen
    assert any(
        e.source == "gannet.training.hooks.base"
        and e.target == "gannet.training.view"
        and e.type_only
        for e in edges
    )


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
    hidden = [Edge("a", "b", 1, False, True), Edge("b", "a", 5, False)]
    (cycle,) = find_cycles(hidden)
    assert describe(cycle) == "a (line 1, type-only) -> b (line 5, in a function) -> a"


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
    assert [(e.target, e.module_level, e.type_only) for e in edges] == [
        ("gannet.errors", True, False),
        ("gannet.models.base", True, False),
        ("gannet.config", False, True),
        ("gannet.metrics", False, False),
    ]


def test_no_import_circle_of_any_kind():
    cycles = find_cycles(import_graph())
    for cycle in cycles:
        print("import circle:", describe(cycle))
    assert not cycles, "import circles:\n" + "\n".join(describe(c) for c in cycles)
