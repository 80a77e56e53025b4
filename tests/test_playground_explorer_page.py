"""The latent explorer in a real headless Chromium (Playwright), issue 27: pick a run, drag
in the latent plane and see the grid change, walk Figure 3's paths and the sliders, pick a
class of a conditional run; no run file written. Screenshots go to test-artifacts/playground/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gannet.playground import PlaygroundServer
from tests.explorer_support import decode, explorer_server, make_runs, tree_digest
from tests.playground_support import launch_browser, open_page, running_server, shot
from tests.test_playground_page import OVERLAPS

pytestmark = pytest.mark.browser

browser = pytest.fixture(scope="module")(launch_browser)
plain_server = pytest.fixture(scope="module")(running_server)

EX = "window.gannetState.explorer"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runs(tmp_path_factory.mktemp("explorer-page"), browser_only=True)


@pytest.fixture(scope="module")
def server(runs: Path) -> Iterator[PlaygroundServer]:
    yield from explorer_server(runs)


def frame_after(pg: Any, frames: int) -> dict[str, Any]:
    """The explorer's state once a frame after the ``frames``-th is drawn and none is due."""
    pg.wait_for_function(f"() => {EX}.frames > {frames} && !{EX}.busy", timeout=30000)
    state: dict[str, Any] = pg.evaluate(f"() => {EX}")
    return state


def canvas_pixels(pg: Any, testid: str) -> str:
    url: str = pg.eval_on_selector(f"[data-testid={testid}]", "c => c.toDataURL('image/png')")
    return url


def test_dragging_in_the_latent_plane_changes_the_grid(
    browser: Any, server: PlaygroundServer, runs: Path
) -> None:
    before = tree_digest(runs)
    context, pg, errors = open_page(browser, server)
    pg.wait_for_function(f"() => {EX} && {EX}.ready")
    pg.click("[data-testid=tab-explorer]")
    pg.wait_for_selector("tr[data-run=mnist] button")
    row = pg.inner_text("tr[data-run=mnist]")
    assert "paper-mlp" in row and "parzen: mean 123.5" in row and "D " in row
    pg.click("tr[data-run=mnist] button")
    state = frame_after(pg, 0)
    assert state["run"] == "mnist" and state["last"]["count"] == 25
    assert state["last"]["plane"]["u"][2] == pytest.approx(0.5)  # the centre: (0.5, 0.5)
    first_image, first_pixels = state["image"], canvas_pixels(pg, "explorer-plot")
    assert "G " in pg.inner_text("[data-testid=explorer-time]")
    assert " ms" in pg.inner_text("[data-testid=explorer-time]")
    assert pg.is_hidden("[data-testid=explorer-class]")
    assert pg.is_hidden("[data-testid=explorer-trunc]")
    shot(pg, "explorer-plane.png")

    # Drag the point on the map from the middle to the upper right.
    r = state["padRange"]  # the map's half-width while dragging
    box = pg.locator("[data-testid=explorer-pad]").bounding_box()
    pg.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    pg.mouse.down()
    for i in range(1, 11):
        t = 0.5 + 0.03 * i
        pg.mouse.move(box["x"] + box["width"] * t, box["y"] + box["height"] * (1 - t))
    pg.mouse.up()
    state = frame_after(pg, state["frames"])
    assert state["u"] == pytest.approx(0.6 * r, abs=0.05 * r)
    assert state["v"] == pytest.approx(0.6 * r, abs=0.05 * r)
    assert state["last"]["plane"]["u"][2] == pytest.approx(state["u"])  # the last frame is there
    assert state["image"] != first_image
    assert canvas_pixels(pg, "explorer-plot") != first_pixels  # and it is on screen
    assert not np_equal(decode(state["image"]), decode(first_image))
    assert "u = " in pg.inner_text("[data-testid=explorer-uv]")
    shot(pg, "explorer-dragged.png")

    # Figure 3's paths, then the sliders.
    pg.check("[data-testid=explorer-mode-path]")
    state = frame_after(pg, state["frames"])
    assert (state["last"]["rows"], state["last"]["cols"]) == (4, 8)
    assert state["last"]["path"] == {
        "spherical": False,
        "pairs": [[0, 1], [2, 3], [4, 5], [6, 7]],
    }
    pg.check("[data-testid=explorer-slerp]")
    state = frame_after(pg, state["frames"])
    assert state["last"]["path"]["spherical"]
    pg.check("[data-testid=explorer-mode-sliders]")
    state = frame_after(pg, state["frames"])
    assert state["last"]["count"] == 1 and len(state["z"]) == 100
    pg.wait_for_selector("[data-testid=explorer-z-0]")
    one = state["image"]
    pg.eval_on_selector(
        "[data-testid=explorer-z-0]",
        "el => { el.value = String(-Number(el.value) || 1.5); "
        "el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    state = frame_after(pg, state["frames"])
    assert state["image"] != one and state["last"]["z"][0] == pytest.approx(state["z"][0], abs=1e-5)

    # A conditional run: the class picker.
    pg.click("tr[data-run=cond] button")
    pg.wait_for_function(f"() => {EX}.run === 'cond' && {EX}.info.num_classes === 4")
    pg.check("[data-testid=explorer-mode-plane]")
    state = frame_after(pg, state["frames"])
    assert pg.is_visible("[data-testid=explorer-class]")
    class0 = state["image"]
    pg.select_option("[data-testid=explorer-class]", "2")
    state = frame_after(pg, state["frames"])
    assert state["klass"] == 2 and state["image"] != class0
    context.close()
    errors.check()
    assert tree_digest(runs) == before  # nothing of any run was written


def np_equal(a: Any, b: Any) -> bool:
    return bool(a.shape == b.shape and (a == b).all())


def test_without_runs_the_tab_stays_hidden(browser: Any, plain_server: PlaygroundServer) -> None:
    context, pg, errors = open_page(browser, plain_server)
    pg.wait_for_function(f"() => {EX} && {EX}.ready")
    assert pg.is_hidden("[data-testid=tab-explorer]")
    assert pg.evaluate(f"() => {EX}.enabled") is False
    context.close()
    errors.check()


@pytest.mark.parametrize("width", [1366, 414])
def test_the_explorer_layout_has_no_overlapping_text(
    browser: Any, server: PlaygroundServer, width: int
) -> None:
    context, pg, errors = open_page(browser, server, url=server.url + "#explorer", width=width)
    pg.wait_for_selector("tr[data-run=cond] button")
    pg.click("tr[data-run=cond] button")
    frame_after(pg, 0)
    result = pg.evaluate(OVERLAPS)
    shot(pg, f"layout-explorer-{width}.png")
    assert result["n"] > 30 and not result["problems"], result["problems"]
    context.close()
    errors.check()
