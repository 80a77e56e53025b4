"""Shared pieces of the playground tests: a server in a background thread, plain HTTP
requests, and a real headless Chromium (Playwright) on the page.

Each test module makes its own fixtures from these (``server = pytest.fixture(...)(...)``),
so the modules run alone or together.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gannet.playground import PlaygroundServer, serve

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "playground"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def running_server() -> Iterator[PlaygroundServer]:
    """A playground server in a background thread. Live sessions build gannet Trainers, which
    seed the global RNGs and set torch's thread count; both are put back afterwards."""
    threads = torch.get_num_threads()
    rng = (torch.get_rng_state(), random.getstate(), np.random.get_state())
    srv = serve("127.0.0.1", 0)
    srv.start()
    yield srv
    srv.close()
    torch.set_num_threads(threads)
    torch.set_rng_state(rng[0])
    random.setstate(rng[1])
    np.random.set_state(rng[2])


def request(
    srv: PlaygroundServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) of one request to the test server."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        if resp.getheader("Content-Type", "").startswith("application/json") and payload:
            parsed = json.loads(payload)
        else:
            parsed = {"text": payload.decode(errors="replace")}
        return resp.status, parsed, dict(resp.getheaders())
    finally:
        conn.close()


def post(srv: PlaygroundServer, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    status, payload, _ = request(srv, "POST", path, body)
    return status, payload


def launch_browser() -> Iterator[Any]:
    """Headless Chromium through Playwright; skips (with the reason) when either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not found at {CHROMIUM} (scripts/install-browser.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageErrors:
    """Script errors and requests off this server seen by a page."""

    def __init__(self, pg: Any, server: PlaygroundServer) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        pg.on("pageerror", lambda e: self.errors.append(str(e)))
        pg.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        pg.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((server.url, "data:", "blob:"))
                else self.foreign.append(r.url)
            ),
        )

    def check(self) -> None:
        assert not self.errors, self.errors
        assert not self.foreign, self.foreign


def open_page(
    browser: Any, server: PlaygroundServer, url: str = "", width: int = 1366, height: int = 900
) -> tuple[Any, Any, PageErrors]:
    """(context, page, errors): the playground loaded and its first analytic answer drawn."""
    # bypass_csp lets Playwright evaluate its helpers; the page itself keeps its strict CSP.
    context = browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True, accept_downloads=True
    )
    pg = context.new_page()
    errors = PageErrors(pg, server)
    pg.goto(url or server.url)
    pg.wait_for_function(
        "() => window.gannetState && window.gannetState.ready && "
        "window.gannetState.analytic.updates > 0 && !window.gannetState.analytic.pending"
    )
    return context, pg, errors


def shot(pg: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=True)


def set_slider(pg: Any, testid: str, value: float) -> None:
    """Move a slider (or type in a number box) as a user would: set the value, fire input."""
    pg.eval_on_selector(
        f"[data-testid={testid}]",
        "(el, v) => { el.value = String(v); "
        "el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def settled(pg: Any) -> dict[str, Any]:
    """The analytic view's state once no request is pending."""
    pg.wait_for_function("() => !window.gannetState.analytic.pending")
    state: dict[str, Any] = pg.evaluate("() => window.gannetState.analytic")
    return state
