"""The playground's modules import one way (issue 29): the HTTP layer (server.py) imports the
route tables, the routes type against :class:`~gannet.playground.context.RouteContext`, and
nothing in the package but its ``__init__`` imports server.py. Every import counts here, those
under ``if TYPE_CHECKING:`` and inside functions included (tests/test_imports.py leaves the
playground out and type-only imports aside)."""

from __future__ import annotations

import ast
import threading
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace

import pytest

from gannet.playground.context import RouteContext
from gannet.playground.explorer import Explorer
from gannet.playground.explorer_routes import EXPLORER_GET_ROUTES
from gannet.playground.fields import ApiError
from gannet.playground.live import SessionStore
from gannet.playground.routes import GET_ROUTES, POST_ROUTES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gannet" / "playground"
NAME = "gannet.playground"


def modules() -> dict[str, Path]:
    return {NAME if p.stem == "__init__" else f"{NAME}.{p.stem}": p for p in PACKAGE.glob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The playground modules ``path`` imports, wherever the import statement stands."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = NAME if not node.module else f"{NAME}.{node.module}"
            else:
                base = node.module or ""
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(path, set(mods)) - {name} for name, path in mods.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a list of modules, first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges.get(v, ())):
            if state.get(w) == 1:
                return [*path[path.index(w) :], w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(edges):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_the_walker_sees_the_package() -> None:
    edges = graph()
    assert f"{NAME}.server" in edges[NAME]
    assert {f"{NAME}.routes", f"{NAME}.explorer_routes", f"{NAME}.context"} <= edges[
        f"{NAME}.server"
    ]
    assert f"{NAME}.context" in edges[f"{NAME}.routes"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_only_the_package_imports_the_http_layer() -> None:
    importers = {name for name, targets in graph().items() if f"{NAME}.server" in targets}
    assert importers == {NAME}, importers


def test_no_import_cycle_in_the_playground_even_type_only() -> None:
    found = cycle(graph())
    assert found is None, " -> ".join(found or [])


def test_a_route_needs_only_its_context() -> None:
    """Any object with the RouteContext's three attributes serves a route: no server needed."""
    ctx: RouteContext = SimpleNamespace(
        sessions=SessionStore(), explorer=Explorer(None), training=threading.Lock()
    )
    assert GET_ROUTES["/api/health"](ctx, {})["ok"] is True
    assert EXPLORER_GET_ROUTES["/api/explorer/runs"](ctx, {})["enabled"] is False
    with pytest.raises(ApiError) as e:
        POST_ROUTES["/api/live/stop"](ctx, {"session": "gone"})
    assert e.value.status == HTTPStatus.NOT_FOUND
