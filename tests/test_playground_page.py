"""The playground page's new pieces in a real headless Chromium (Playwright), issue 18: a drawn
density, painted points, the manifold view, gradient arrows, Step in slow motion, the share
link, PNG export, the analytic tab's feedback, and layouts at 1366x900 and 414 px wide without
overlapping text. Screenshots go to test-artifacts/playground/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.integrate import trapezoid

from gannet.cli import main as cli_main
from gannet.paper import theory
from gannet.playground import PlaygroundServer
from gannet.playground.analytic import DRAWN_POINTS
from gannet.playground.live import LiveSession
from gannet.playground.measure import manifold_z
from gannet.playground.painted import painted_mode_stats
from tests.playground_support import (
    launch_browser,
    open_page,
    running_server,
    set_slider,
    settled,
    shot,
)

pytestmark = pytest.mark.browser

server = pytest.fixture(scope="module")(running_server)
browser = pytest.fixture(scope="module")(launch_browser)


@pytest.fixture
def page(browser: Any, server: PlaygroundServer) -> Iterator[Any]:
    context, pg, errors = open_page(browser, server)
    yield pg
    context.close()
    errors.check()


def live_session(pg: Any, server: PlaygroundServer) -> LiveSession:
    session = server.sessions.get(pg.evaluate("() => window.gannetState.live.session"))
    assert session is not None
    return session


def train_live(pg: Any, steps: int) -> dict[str, Any]:
    """Play until ``steps`` iterations, pause, and return the page's last live state."""
    pg.select_option("[data-testid=live-speed]", "50")
    pg.click("[data-testid=live-play]")
    pg.wait_for_function(f"() => window.gannetState.live.step >= {steps}", timeout=90000)
    pg.click("[data-testid=live-play]")
    pg.wait_for_function("() => !window.gannetState.live.busy && !window.gannetState.live.running")
    last: dict[str, Any] = pg.evaluate("() => window.gannetState.live.last")
    return last


def wait_live(pg: Any, condition: str) -> dict[str, Any]:
    pg.wait_for_function(
        "() => { const l = window.gannetState.live.last; "
        f"return l && !window.gannetState.live.busy && ({condition}); }}",
        timeout=90000,
    )
    last: dict[str, Any] = pg.evaluate("() => window.gannetState.live.last")
    return last


# --------------------------------------------------------------------------- the analytic tab


def test_a_drawn_density_gives_its_c_of_g(page: Any) -> None:
    pg = page
    pg.check("[data-testid=data-drawn]")
    pg.click("[data-testid=draw-clear]")
    settled(pg)
    box = pg.locator("[data-testid=analytic-plot]").bounding_box()
    # A stroke across the right half of the density plot, up and down.
    pg.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.58)
    pg.mouse.down()
    for i in range(1, 25):
        y = 0.58 - 0.35 * np.sin(np.pi * i / 24)
        pg.mouse.move(box["x"] + box["width"] * (0.55 + 0.012 * i), box["y"] + box["height"] * y)
    pg.mouse.up()
    pg.wait_for_function("() => window.gannetState.analytic.shownData.kind === 'drawn'")
    state = settled(pg)
    values = state["data"]["values"]
    assert state["shownData"]["values"] == values and len(values) == DRAWN_POINTS
    drawn = np.flatnonzero(np.asarray(values) > 0)
    assert len(drawn) > 20 and np.linspace(-6, 6, DRAWN_POINTS)[drawn].min() >= 0
    p = state["params"]
    grid = np.linspace(state["grid"]["x_min"], state["grid"]["x_max"], state["grid"]["n"])
    p_data = np.interp(grid, np.linspace(-6, 6, DRAWN_POINTS), values, left=0, right=0)
    expected = theory.virtual_criterion(
        p_data, theory.gaussian_pdf(grid, p["mu_g"], p["sd_g"]), grid
    )
    assert abs(state["criterion"] - expected) < 1e-6
    shown = float(pg.inner_text("[data-testid=readout-c]").replace("−", "-"))
    assert abs(shown - expected) < 1e-6
    shot(pg, "analytic-drawn.png")
    # Live training on what was drawn.
    pg.click("[data-testid=tab-live]")
    pg.select_option("[data-testid=live-data]", "drawn-1d")
    last = wait_live(pg, "l.settings.data === 'drawn-1d'")
    assert last["settings"]["density"] == values and last["dim"] == 1
    x = np.asarray(last["x"])
    knots = np.linspace(-6, 6, DRAWN_POINTS)
    expected_pdf = np.interp(x, knots, values) / trapezoid(values, knots)
    np.testing.assert_allclose(last["p_data"], expected_pdf, atol=1e-5)
    last = train_live(pg, 20)
    assert last["step"] >= 20 and last["settings"]["density"] == values
    shot(pg, "live-drawn.png")


def test_the_stall_case_says_the_gradient_vanished(page: Any) -> None:
    pg = page
    set_slider(pg, "mu-g", -5)
    set_slider(pg, "sd-g", 0.1)
    set_slider(pg, "lr", 2)
    settled(pg)
    pg.click("[data-testid=train]")
    pg.wait_for_function("() => !window.gannetState.analytic.training", timeout=30000)
    status = pg.inner_text("[data-testid=analytic-status]")
    assert "gradient has vanished" in status and "flat at 0" in status, status
    assert "after 1 step." in status.replace(" step:", " step.") or "after 1 step" in status
    assert "1 steps" not in status
    text = pg.inner_text("body")
    assert "-0.000000" not in text and "−0.000000" not in text
    shot(pg, "analytic-stall.png")


# --------------------------------------------------------------------------- the live tab


def to_pixels(pg: Any, points: list[list[float]]) -> list[tuple[float, float]]:
    """Page coordinates of data points on the live 2-D plot."""
    canvas = pg.locator("[data-testid=live-plot]").bounding_box()
    drawn = pg.evaluate("() => window.gannetState.live.drawn")
    box, (lo, hi) = drawn["box"], drawn["range"]
    return [
        (
            canvas["x"] + box["x"] + (x - lo) / (hi - lo) * box["w"],
            canvas["y"] + box["y"] + box["h"] - (y - lo) / (hi - lo) * box["h"],
        )
        for x, y in points
    ]


def test_painted_points_train_and_are_covered_by_gannets_metric(
    page: Any, server: PlaygroundServer
) -> None:
    pg = page
    pg.click("[data-testid=tab-live]")
    pg.select_option("[data-testid=live-data]", "painted")
    wait_live(pg, "l.settings.data === 'painted'")
    pg.click("[data-testid=paint-clear]")
    pg.wait_for_function("() => window.gannetState.live.points.length === 0")
    targets = [[-2.0, 2.0], [-1.5, 2.0], [2.0, -1.0], [2.5, -1.5], [0.0, 0.0]]
    for x, y in to_pixels(pg, targets):
        pg.mouse.click(x, y)
    last = wait_live(pg, "l.settings.points && l.settings.points.length === 5")
    painted = last["settings"]["points"]
    np.testing.assert_allclose(painted, targets, atol=0.03)  # where the clicks landed
    assert last["modes"] == painted and last["step"] == 0
    last = train_live(pg, 30)
    session = live_session(pg, server)
    assert session.mode_samples is not None
    expected = painted_mode_stats(session.mode_samples, torch.tensor(painted)).to_dict()
    assert last["coverage"] == expected and expected["n_modes"] == 5
    assert f"{expected['modes_covered']} / 5" in pg.inner_text("[data-testid=live-extra]")
    history = pg.evaluate("() => window.gannetState.live.history")
    assert history[-1]["covered"] == expected["modes_covered"] / 5
    assert history[-1]["hq"] == expected["high_quality_fraction"]
    assert all(0 <= h["jsd"] <= np.log(2) for h in history)
    shot(pg, "live-painted.png")


def test_manifold_and_arrows_are_the_servers_g_and_d(page: Any, server: PlaygroundServer) -> None:
    pg = page
    pg.click("[data-testid=tab-live]")
    pg.select_option("[data-testid=live-data]", "ring")
    pg.select_option("[data-testid=live-loss]", "minimax")
    wait_live(pg, "l.settings.data === 'ring' && l.settings.loss === 'minimax'")
    last = train_live(pg, 20)
    tr = live_session(pg, server).trainer
    with torch.no_grad():
        expected = tr.G(manifold_z().reshape(-1, 2)).reshape(21, 21, 2).numpy()
    np.testing.assert_allclose(last["manifold"]["points"], expected, atol=1e-5)
    drawn = pg.evaluate("() => window.gannetState.live.drawn")
    assert drawn["manifold"] == 21
    # Each drawn arrow points along minus the gradient of its sample's term of G's loss.
    x = torch.tensor(last["arrows"]["points"], dtype=torch.float32).requires_grad_(True)
    cost = -torch.nn.functional.softplus(tr.D(x).view(-1)).sum()  # log(1 - D), per sample
    (grad,) = torch.autograd.grad(cost, x)
    segments = np.asarray(drawn["arrows"])
    pixel = np.stack([segments[:, 2] - segments[:, 0], segments[:, 1] - segments[:, 3]], 1)
    direction = -grad.numpy()
    long = np.linalg.norm(pixel, axis=1) > 4
    assert long.sum() >= 10
    cosine = (pixel * direction).sum(1) / (
        np.linalg.norm(pixel, axis=1) * np.linalg.norm(direction, axis=1)
    )
    assert cosine[long].min() > 0.99
    shot(pg, "live-manifold-arrows.png")
    pg.uncheck("[data-testid=show-manifold]")
    pg.uncheck("[data-testid=show-arrows]")
    drawn = pg.evaluate("() => window.gannetState.live.drawn")
    assert drawn["manifold"] == 0 and drawn["arrows"] == []


def test_step_shows_the_d_and_g_phases(page: Any) -> None:
    pg = page
    pg.click("[data-testid=tab-live]")
    pg.fill("[data-testid=live-k]", "2")
    pg.select_option("[data-testid=live-data]", "ring")
    last = wait_live(pg, "l.settings.data === 'ring' && l.settings.k === 2")
    manifold0, heat0 = last["manifold"]["points"], last["heat"]["values"]
    pg.click("[data-testid=live-step]")
    pg.wait_for_function("() => window.gannetState.live.phases.length === 1")
    banner = pg.inner_text("[data-testid=live-phase]")
    assert "D update 1 of 2" in banner, banner
    shot(pg, "live-phase-d.png")
    after_d = pg.evaluate("() => window.gannetState.live.last")
    assert after_d["heat"]["values"] != heat0  # D's map changed ...
    assert after_d["manifold"]["points"] == manifold0  # ... G did not move
    pg.wait_for_function("() => window.gannetState.live.phases.length === 3", timeout=30000)
    assert "G update" in pg.inner_text("[data-testid=live-phase]")
    after_g = pg.evaluate("() => window.gannetState.live.last")
    assert after_g["manifold"]["points"] != manifold0 and after_g["step"] == 1
    phases = pg.evaluate("() => window.gannetState.live.phases")
    assert [(p["name"], p["index"], p["step"]) for p in phases] == [
        ("d", 1, 0),
        ("d", 2, 0),
        ("g", 1, 1),
    ]
    shot(pg, "live-phase-g.png")


# --------------------------------------------------------------------------- share, export


def test_a_shared_link_restores_the_setup(
    browser: Any, server: PlaygroundServer, tmp_path: Path
) -> None:
    from gannet.data.synthetic import mixture_2d_modes

    grid = [[float(a), float(b)] for a, b in mixture_2d_modes("grid")[0].tolist()]
    context, pg, errors = open_page(browser, server)
    try:
        pg.check("[data-testid=data-mixture]")
        set_slider(pg, "mu-g", 1.25)
        settled(pg)
        pg.click("[data-testid=tab-live]")
        pg.select_option("[data-testid=live-loss]", "minimax")
        pg.fill("[data-testid=live-seed]", "7")
        pg.select_option("[data-testid=live-lr]", "0.003")
        # Points are painted through the page's state here (exact grid centres).
        pg.evaluate(f"() => {{ window.gannetState.live.points = {json.dumps(grid)}; }}")
        pg.select_option("[data-testid=live-data]", "painted")
        first = wait_live(pg, "l.settings.data === 'painted' && l.settings.seed === 7")
        pg.click("[data-testid=share]")
        url = pg.input_value("[data-testid=share-url]")
        analytic = pg.evaluate("() => window.gannetState.analytic")
    finally:
        context.close()
    errors.check()
    assert url.startswith(server.url + "#") and "view=live" in url

    context, pg, errors = open_page(browser, server, url)
    try:
        restored = wait_live(pg, "true")
        assert restored["settings"] == first["settings"]
        assert restored["samples"] == first["samples"]  # the same seed: the same start
        a = pg.evaluate("() => window.gannetState.analytic")
        assert a["params"] == analytic["params"] and a["data"] == analytic["data"]
        assert a["data"]["kind"] == "mixture" and a["criterion"] == analytic["criterion"]
        # Painted on the grid's centres, the set is the grid mixture: its coverage is what
        # `gannet eval modes --mixture grid` reports for the same samples.
        last = train_live(pg, 30)
        session = live_session(pg, server)
        assert session.mode_samples is not None
        path, out = tmp_path / "samples.npz", tmp_path / "modes.json"
        np.savez(path, samples=session.mode_samples.numpy())
        argv = ["eval", "modes", "--samples-file", str(path), "--data", "mixture-2d"]
        assert cli_main([*argv, "--mixture", "grid", "--out", str(out)]) == 0
        reported = json.loads(out.read_text())
        ours = {k: v for k, v in last["coverage"].items() if k != "kind"}
        assert {k: reported[k] for k in ours} == ours
        with pg.expect_download() as info:
            pg.click("[data-testid=export-png]")
        download = info.value
        data = Path(download.path()).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        assert download.suggested_filename.startswith("gannet-live-step-")
    finally:
        context.close()
    errors.check()


# --------------------------------------------------------------------------- layout

OVERLAPS = """() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest("[hidden]") || el.closest("select") || el.closest("script")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0.5 && r.height > 0.5)
        boxes.push({ text: node.textContent.trim().slice(0, 30), r, el });
    }
  }
  const out = [];
  const W = document.documentElement.clientWidth;
  for (const b of boxes) {
    if (b.r.right > W + 1 || b.r.left < -1)
      out.push(`off screen: "${b.text}" (${Math.round(b.r.left)}..${Math.round(b.r.right)})`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, c = boxes[j].r;
      const w = Math.min(a.right, c.right) - Math.max(a.left, c.left);
      const h = Math.min(a.bottom, c.bottom) - Math.max(a.top, c.top);
      if (w > 1 && h > 1) out.push(`"${boxes[i].text}" overlaps "${boxes[j].text}"`);
    }
  }
  const controls = [...document.querySelectorAll("button, input, select")]
    .filter((e) => e.offsetParent && !e.closest("[hidden]"));
  for (const e of controls) {
    const r = e.getBoundingClientRect();
    if (r.right > W + 1) out.push(`control off screen: ${e.id || e.textContent}`);
  }
  const sw = document.documentElement.scrollWidth;
  if (sw > W + 1) out.push(`page scrolls sideways: ${sw} > ${W}`);
  return { n: boxes.length, problems: out };
}"""


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (414, 900)])
def test_layout_has_no_overlapping_text(
    browser: Any, server: PlaygroundServer, width: int, height: int
) -> None:
    context, pg, errors = open_page(browser, server, width=width, height=height)
    try:
        pg.check("[data-testid=data-mixture]")
        settled(pg)
        result = pg.evaluate(OVERLAPS)
        shot(pg, f"layout-analytic-{width}.png")
        assert result["n"] > 50 and not result["problems"], result["problems"]
        pg.click("[data-testid=tab-live]")
        pg.select_option("[data-testid=live-data]", "painted")
        wait_live(pg, "l.settings.data === 'painted'")
        pg.click("[data-testid=share]")
        result = pg.evaluate(OVERLAPS)
        shot(pg, f"layout-live-{width}.png")
        assert result["n"] > 40 and not result["problems"], result["problems"]
    finally:
        context.close()
    errors.check()


def test_the_live_jsd_is_labelled_a_lower_bound(page: Any) -> None:
    """Issue 29: (log 4 - D's loss) / 2 is a lower bound on the JSD (equal to it only for the
    optimal D); the page says so, and says when D is too weak for it to mean much."""
    pg = page
    pg.click("[data-testid=tab-live]")
    last = wait_live(pg, "true")
    label = pg.inner_text("dt:has(+ [data-testid=live-jsd])")
    assert label.startswith("JSD lower bound"), label
    assert pg.inner_text("[data-testid=live-jsd]").startswith("≥ ")
    note = pg.inner_text("[data-testid=live-jsd-note]")
    weak = last["losses"]["d"] > np.log(4) - 0.05
    assert ("too weak" in note) == weak and (weak or "lower bound" in note), (note, last)
    assert "is a lower bound" in pg.inner_text("#view-live .explain")
    if weak:  # a fresh D is near chance: train until it is not, and the note changes
        last = train_live(pg, 200)
        note = pg.inner_text("[data-testid=live-jsd-note]")
        assert ("too weak" in note) == (last["losses"]["d"] > np.log(4) - 0.05), (note, last)
