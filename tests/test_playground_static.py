"""The page's files as the server serves them (issue 29): every file index.html references, and
every ES module those import (``import ... from "./x.js"``, ``import "./x.js"``,
``export ... from``, ``import("./x.js")``), followed transitively, answers 200 with its
content type (a module with another MIME type is refused by the browser); every named import
is exported by its module; and the server's allow-list holds exactly the files the page
reaches, so a missing or forgotten module cannot slip through. No browser needed."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from gannet.playground import PlaygroundServer
from gannet.playground.server import PAGE_FILES
from tests.playground_support import request, running_server

STATIC = Path(__file__).resolve().parents[1] / "src" / "gannet" / "playground" / "static"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
MAX_LINES = 450

server = pytest.fixture(scope="module")(running_server)

_REFERENCE = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""")
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']"""  # import/export ... from
    r"""|^\s*import\s*["']([^"']+)["']"""  # import "./x.js" (for its effects)
    r"""|\bimport\(\s*["']([^"']+)["']\s*\)""",  # import("./x.js")
    re.M,
)
_NAMED = re.compile(r"""^\s*import\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']""", re.M)


def references(html: str) -> list[str]:
    """The local files a page's <script src> and <link href> name (not data: URLs)."""
    return [r for r in _REFERENCE.findall(html) if not r.startswith(("data:", "#"))]


def imports(js: str) -> list[str]:
    """The module specifiers a module imports, statically or dynamically."""
    text = re.sub(r"/\*.*?\*/", "", js, flags=re.S)  # not the ones a comment mentions
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return [next(g for g in m.groups() if g) for m in _IMPORT.finditer(text)]


def exported(js: str) -> set[str]:
    names = set(
        re.findall(
            r"^export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+([\w$]+)", js, re.M
        )
    )
    for group in re.findall(r"^export\s*\{([^}]*)\}", js, re.M):
        names |= {part.split(" as ")[-1].strip() for part in group.split(",") if part.strip()}
    return names


def crawl(srv: PlaygroundServer) -> Iterator[tuple[str, str, int, str, str]]:
    """(path, referrer, status, content type, text) of the page and everything it reaches."""
    seen = {"/"}
    queue = [("/", "")]
    while queue:
        path, referrer = queue.pop(0)
        status, body, headers = request(srv, "GET", path)
        text = body.get("text", "")
        yield path, referrer, status, headers.get("Content-Type", ""), text
        if status != 200:
            continue
        found = references(text) if path.endswith((".html", "/")) else []
        found += imports(text) if path.endswith(".js") else []
        for ref in found:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(path, ref)).path
            if target not in seen:
                seen.add(target)
                queue.append((target, path))


def test_the_crawler_reads_references_and_imports() -> None:
    html = '<link rel="icon" href="data:,"><link href="a.css"><script type="module" src="m.js">'
    assert references(html) == ["a.css", "m.js"]
    js = (
        '/* import { no } from "./comment.js"; */\n'
        'import { a, b as c } from "./x.js";\n'
        'import "./side.js";\n'
        "import {\n  d,\n  e,\n} from './multi.js';\n"
        'export { f } from "./re.js";\n'
        'const later = () => import("./lazy.js");\n'
    )
    assert imports(js) == ["./x.js", "./side.js", "./multi.js", "./re.js", "./lazy.js"]
    assert exported("export function f() {}\nexport const g = 1;\nexport { h as i };") == {
        "f",
        "g",
        "i",
    }


def test_every_file_the_page_reaches_is_served_with_its_type(server: PlaygroundServer) -> None:
    reached = []
    for path, referrer, status, content_type, _ in crawl(server):
        where = f"{path} (from {referrer or 'the address bar'})"
        assert status == 200, f"{where}: HTTP {status}"
        suffix = Path(path).suffix or ".html"
        assert suffix in TYPES, f"{where}: the page reaches a {suffix or 'suffixless'} file"
        assert content_type.startswith(TYPES[suffix]), f"{where}: served as {content_type!r}"
        reached.append(path)
    assert "/main.js" in reached and "/explorer.js" in reached
    # The allow-list is what the page uses: no file served that nothing loads.
    assert sorted(p.lstrip("/") or "index.html" for p in reached) == sorted(PAGE_FILES)


def test_every_static_file_is_in_the_allow_list() -> None:
    assert sorted(p.name for p in STATIC.iterdir()) == sorted(PAGE_FILES)


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_modules_import_what_their_neighbours_export(name: str) -> None:
    """Every import is a relative "./x.js" of static/ (a browser cannot resolve a bare name
    without an import map) and every name imported is exported there: a wrong name is a
    SyntaxError that stops the whole page."""
    text = (STATIC / name).read_text(encoding="utf-8")
    for spec in imports(text):
        assert spec.startswith("./") and spec.endswith(".js"), f"{name}: import {spec!r}"
        assert (STATIC / spec[2:]).is_file(), f"{name}: imports {spec}, which is not in static/"
    for names, spec in _NAMED.findall(text):
        wanted = {part.split(" as ")[0].strip() for part in names.split(",") if part.strip()}
        missing = wanted - exported((STATIC / spec[2:]).read_text(encoding="utf-8"))
        assert not missing, f"{name}: {spec} does not export {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_modules_stay_small(name: str) -> None:
    lines = len((STATIC / name).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it"
