"""``gannet playground``: the JSON API (plain HTTP), the CLI (Ctrl-C) and the page in a real
headless Chromium (Playwright). Screenshots go to test-artifacts/playground/.

Browser tests are marked ``browser`` and skipped (with the reason) when /usr/bin/chromium or
the ``playwright`` package is missing; ``scripts/install-browser.sh`` installs Chromium.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gannet.cli import main as cli_main
from gannet.paper import theory
from gannet.playground import PlaygroundServer, analytic_step
from gannet.playground.server import PAGE_FILES
from tests.playground_support import (
    launch_browser,
    open_page,
    post,
    request,
    running_server,
    set_slider,
    settled,
    shot,
)

STATIC = Path(__file__).resolve().parents[1] / "src" / "gannet" / "playground" / "static"
STATIC_FILES = sorted(PAGE_FILES)

server = pytest.fixture(scope="module")(running_server)
browser = pytest.fixture(scope="module")(launch_browser)


def get(srv: PlaygroundServer, path: str, **params: float) -> tuple[int, dict[str, Any]]:
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    status, body, _ = request(srv, "GET", path + query)
    return status, body


# --------------------------------------------------------------------------- the analytic API


def test_analytic_values_are_gannet_theory(server: PlaygroundServer) -> None:
    p = {"mu_data": 0.5, "sd_data": 1.2, "mu_g": -1.75, "sd_g": 0.6}
    status, r = get(server, "/api/analytic", **p)
    assert status == 200
    assert r["params"] == p
    assert r["criterion"] == theory.criterion_for_gaussians(0.5, 1.2, -1.75, 0.6)
    grid = theory.gaussian_grid([0.5, -1.75], [1.2, 0.6])
    expected_jsd = theory.jsd(
        theory.gaussian_pdf(grid, 0.5, 1.2), theory.gaussian_pdf(grid, -1.75, 0.6), grid
    )
    assert r["jsd"] == expected_jsd
    assert r["criterion"] == pytest.approx(theory.MINUS_LOG_4 + 2 * expected_jsd, abs=1e-10)
    assert r["minus_log_4"] == theory.MINUS_LOG_4
    grad = theory.criterion_gradient_gaussians(0.5, 1.2, -1.75, 0.6)
    assert (r["gradient"]["mu_g"], r["gradient"]["sd_g"]) == grad
    x = np.asarray(r["x"])
    assert x[0] == -6.0 and x[-1] == 6.0 and len(x) == 481
    p_data, p_g = theory.gaussian_pdf(x, 0.5, 1.2), theory.gaussian_pdf(x, -1.75, 0.6)
    np.testing.assert_array_equal(r["p_data"], p_data)
    np.testing.assert_array_equal(r["p_g"], p_g)
    np.testing.assert_array_equal(r["d_star"], theory.optimal_discriminator(p_data, p_g))


def test_analytic_at_equilibrium(server: PlaygroundServer) -> None:
    status, r = get(server, "/api/analytic", mu_data=1.0, sd_data=0.8, mu_g=1.0, sd_g=0.8)
    assert status == 200
    assert r["criterion"] == pytest.approx(-math.log(4), abs=1e-9)
    assert r["jsd"] == pytest.approx(0.0, abs=1e-9)
    assert all(d == 0.5 for d in r["d_star"])


def test_analytic_display_grid(server: PlaygroundServer) -> None:
    status, r = get(server, "/api/analytic", x_min=-2, x_max=3, n=11)
    assert status == 200 and r["x"] == pytest.approx(list(np.linspace(-2, 3, 11)))


def test_analytic_step_descends_c(server: PlaygroundServer) -> None:
    params = {"mu_data": 1.0, "sd_data": 0.8, "mu_g": -3.0, "sd_g": 2.0}
    values = [theory.criterion_for_gaussians(1.0, 0.8, -3.0, 2.0)]
    for _ in range(60):
        status, r = post(server, "/api/analytic/step", {**params, "lr": 0.5, "steps": 1})
        assert status == 200
        expected = analytic_step(1.0, 0.8, params["mu_g"], params["sd_g"], lr=0.5)
        assert (r["params"]["mu_g"], r["params"]["sd_g"]) == expected
        params["mu_g"], params["sd_g"] = expected
        values.append(r["criterion"])
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(values))
    assert values[-1] - theory.MINUS_LOG_4 < 1e-4


# --------------------------------------------------------------------------- malformed requests

BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/api/analytic?mu_g=abc", {}, 400),
    ("GET", "/api/analytic?mu_g=nan", {}, 400),
    ("GET", "/api/analytic?mu_g=inf", {}, 400),
    ("GET", "/api/analytic?sd_g=0", {}, 400),
    ("GET", "/api/analytic?sd_g=-1", {}, 400),
    ("GET", "/api/analytic?mu_g=99", {}, 400),
    ("GET", "/api/analytic?mu_g=1&mu_g=2", {}, 400),
    ("GET", "/api/analytic?bogus=1", {}, 400),
    ("GET", "/api/analytic?x_min=3&x_max=1", {}, 400),
    ("GET", "/api/analytic?n=1e9", {}, 400),
    ("GET", "/api/analytic?&&=", {}, 400),
    ("GET", "/api/nothing-here", {}, 404),
    ("GET", "/../../etc/passwd", {}, 404),
    ("GET", "/static/../server.py", {}, 404),
    ("DELETE", "/api/analytic", {}, 405),
    ("PUT", "/api/analytic", {"raw": b"{}"}, 405),
    ("POST", "/api/health", {"raw": b"{}"}, 405),
    ("GET", "/api/live/start", {}, 405),
    ("POST", "/api/analytic/step", {"raw": b"{not json"}, 400),
    ("POST", "/api/analytic/step", {"raw": b"[1, 2]"}, 400),
    ("POST", "/api/analytic/step", {"raw": b"\xff\xfe"}, 400),
    ("POST", "/api/analytic/step", {"body": {"mu_g": "1"}}, 400),
    ("POST", "/api/analytic/step", {"body": {"mu_g": True}}, 400),
    ("POST", "/api/analytic/step", {"body": {"lr": -1}}, 400),
    ("POST", "/api/analytic/step", {"body": {"steps": 1.5}}, 400),
    ("POST", "/api/analytic/step", {"body": {"steps": 10**6}}, 400),
    ("POST", "/api/analytic/step", {"body": {"extra": 1}}, 400),
    ("POST", "/api/analytic/step", {"raw": b'{"lr": NaN}'}, 400),
    ("POST", "/api/live/start", {"body": {"data": "moons"}}, 400),
    ("POST", "/api/live/start", {"body": {"loss": "wasserstein"}}, 400),
    ("POST", "/api/live/start", {"body": {"k": 0}}, 400),
    ("POST", "/api/live/start", {"body": {"lr": 5}}, 400),
    ("POST", "/api/live/step", {"body": {"n": 1}}, 400),
    ("POST", "/api/live/step", {"body": {"session": 7, "n": 1}}, 400),
    ("POST", "/api/live/step", {"body": {"session": "nope", "n": 1}}, 404),
    ("POST", "/api/live/stop", {"body": {"session": "nope"}}, 404),
    ("POST", "/api/live/step", {"raw": b"x" * 70000}, 413),
]


@pytest.mark.parametrize(("method", "path", "payload", "status"), BAD_REQUESTS)
def test_malformed_request_gets_4xx(
    server: PlaygroundServer, method: str, path: str, payload: dict[str, Any], status: int
) -> None:
    got, body, headers = request(server, method, path, payload.get("body"), raw=payload.get("raw"))
    assert got == status, body
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(body["error"], str) and body["error"]
    assert request(server, "GET", "/api/health")[0] == 200


def test_broken_http_is_refused_and_server_keeps_serving(server: PlaygroundServer) -> None:
    # A POST without Content-Length, then raw garbage and a half-sent request on sockets.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/analytic/step")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    for junk in (b"\x00\x01garbage\r\n\r\n", b"GET\r\n\r\n", b"POST /api/live/step HTTP/1.1\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(4096):  # until the server closes: headers and body
                reply += chunk
        # A 4xx status line, or (for a request line too broken to name a version) the
        # HTTP/0.9-style answer without one: a JSON error either way.
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", reply) or reply.startswith(b'{"error"'), reply
        assert b'{"error": ' in reply or b'{"error":' in reply, reply
    status, r = get(server, "/api/analytic")
    assert status == 200 and r["criterion"] < 0


def test_static_page_is_self_contained(server: PlaygroundServer) -> None:
    status, body, headers = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    html = body["text"]
    assert 'href="style.css"' in html
    assert '<script type="module" src="main.js">' in html  # ES modules, as they are
    for name, kind in (
        ("main.js", "text/javascript"),
        ("explorer.js", "text/javascript"),
        ("style.css", "text/css"),
    ):
        status, _, headers = request(server, "GET", "/" + name)
        assert status == 200 and headers["Content-Type"].startswith(kind)
    # No CDN, no external fonts or scripts: nothing in the page points off this server.
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name
    assert sorted(p.name for p in STATIC.iterdir()) == STATIC_FILES


# --------------------------------------------------------------------------- the live API


def test_live_session_uses_gannets_trainer(
    server: PlaygroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gannet.training import StepResult, Trainer

    calls: list[int] = []
    original = Trainer.alternating_iteration

    def counting(self: Trainer) -> StepResult:
        calls.append(self.progress.step)
        return original(self)

    monkeypatch.setattr(Trainer, "alternating_iteration", counting)
    status, r = post(server, "/api/live/start", {"data": "gaussian-1d", "loss": "minimax", "k": 2})
    assert status == 200 and r["step"] == 0 and r["dim"] == 1
    assert r["settings"] == {
        "data": "gaussian-1d",
        "loss": "minimax",
        "k": 2,
        "lr": 1e-3,
        "seed": 0,
    }
    session = r["session"]
    status, r = post(server, "/api/live/step", {"session": session, "n": 7})
    assert status == 200 and r["step"] == 7 and calls == list(range(7))
    assert math.isfinite(r["losses"]["d"]) and math.isfinite(r["losses"]["g"])
    assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
    assert len(r["hist"]["edges"]) == len(r["hist"]["density"]) + 1
    assert len(r["x"]) == len(r["d"]) == len(r["p_data"])
    assert all(0 <= d <= 1 for d in r["d"])
    assert post(server, "/api/live/stop", {"session": session}) == (200, {"stopped": session})
    assert post(server, "/api/live/step", {"session": session, "n": 1})[0] == 404


def test_live_session_keeps_fits_epoch_count(server: PlaygroundServer) -> None:
    """Steps and epochs advance as in ``Trainer.fit``: the epoch turns after
    ``iterations_per_epoch`` iterations, whatever the number of iterations per request."""
    status, r = post(server, "/api/live/start", {"data": "gaussian-1d", "k": 2})
    assert status == 200 and (r["step"], r["epoch"]) == (0, 1)
    per_epoch = r["iterations_per_epoch"]
    assert 1 < per_epoch <= 500
    session = r["session"]
    r = post(server, "/api/live/step", {"session": session, "n": per_epoch - 1})[1]
    assert (r["step"], r["epoch"]) == (per_epoch - 1, 1)
    r = post(server, "/api/live/step", {"session": session, "n": 1})[1]
    assert (r["step"], r["epoch"]) == (per_epoch, 2)
    r = post(server, "/api/live/step", {"session": session, "n": per_epoch + 1})[1]
    assert (r["step"], r["epoch"]) == (2 * per_epoch + 1, 3)
    post(server, "/api/live/stop", {"session": session})


@pytest.mark.parametrize(("data", "modes"), [("ring", 8), ("grid", 25)])
def test_live_2d_state(server: PlaygroundServer, data: str, modes: int) -> None:
    status, r = post(server, "/api/live/start", {"data": data, "lr": 0.003})
    assert status == 200 and r["dim"] == 2
    status, r = post(server, "/api/live/step", {"session": r["session"], "n": 20})
    assert status == 200 and r["step"] == 20
    assert len(r["modes"]) == modes and r["coverage"]["n_modes"] == modes
    assert len(r["coverage"]["counts"]) == modes and r["coverage"]["kind"] == data
    assert len(r["samples"]) == 1000 and all(len(p) == 2 for p in r["samples"])
    heat = np.asarray(r["heat"]["values"], dtype=float)
    assert heat.shape == (40, 40) and np.all((heat >= 0) & (heat <= 1))
    post(server, "/api/live/stop", {"session": r["session"]})


@pytest.mark.parametrize("data", ["ring", "grid"])
def test_live_coverage_is_gannets_mode_metric(
    server: PlaygroundServer, data: str, tmp_path: Path
) -> None:
    """The page's coverage is gannet.metrics.modes on the samples the session measured (2,500,
    as `gannet eval modes` draws), so `gannet eval modes` gives the same numbers for them."""
    from gannet.metrics.modes import LITERATURE_SAMPLES, mixture_mode_stats

    status, r = post(server, "/api/live/start", {"data": data, "lr": 0.003})
    assert status == 200
    session = server.sessions.get(r["session"])
    assert session is not None
    status, r = post(server, "/api/live/step", {"session": session.id, "n": 200})
    assert status == 200
    samples = session.mode_samples
    assert samples is not None and tuple(samples.shape) == (LITERATURE_SAMPLES, 2)
    assert r["coverage"] == mixture_mode_stats(samples, data).to_dict()
    # The dots on the page are the first 1,000 of those samples.
    np.testing.assert_allclose(r["samples"], samples[:1000].numpy(), rtol=0, atol=1e-5)

    path, out = tmp_path / "samples.npz", tmp_path / "modes.json"
    np.savez(path, samples=samples.numpy())
    argv = ["eval", "modes", "--samples-file", str(path), "--data", "mixture-2d"]
    assert cli_main([*argv, "--mixture", data, "--out", str(out)]) == 0
    reported = json.loads(out.read_text())
    assert {key: reported[key] for key in r["coverage"]} == r["coverage"]
    post(server, "/api/live/stop", {"session": session.id})


def test_live_coverage_counts_as_the_mode_metric(
    server: PlaygroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known answer: a G that puts its samples on 4 of the 8 ring modes, plus one sample
    within 3 std of a fifth mode, covers 5 modes (one high-quality sample covers a mode in
    2,500), all samples high quality."""
    from gannet.data.synthetic import mixture_2d_modes

    centres, std = mixture_2d_modes("ring")
    status, r = post(server, "/api/live/start", {"data": "ring"})
    session = server.sessions.get(r["session"])
    assert status == 200 and session is not None

    def generator(z: torch.Tensor) -> torch.Tensor:
        x = centres[torch.arange(len(z)) % 4].float()
        x[0] = centres[4] + torch.tensor([2.5 * std, 0.0])
        return x

    monkeypatch.setattr(session.trainer, "G", generator)
    with server.training, session.lock:
        cov = session.state()["coverage"]
    assert (cov["modes_covered"], cov["n_modes"], cov["min_count"]) == (5, 8, 1)
    assert cov["counts"] == [624, 625, 625, 625, 1, 0, 0, 0]
    assert cov["high_quality_fraction"] == 1.0 and cov["n_samples"] == 2500
    assert cov["threshold"] == pytest.approx(3 * std)
    post(server, "/api/live/stop", {"session": session.id})


# --------------------------------------------------------------------------- the CLI


def test_cli_serves_and_stops_cleanly_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gannet", "playground", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell may start background jobs with SIGINT ignored; Ctrl-C must reach the server.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"gannet playground: (http://127\.0\.0\.1:(\d+)/)\n", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(2)), timeout=30)
        conn.request("GET", "/api/health")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "gannet playground: stopped" in out
    assert "Traceback" not in err


def test_cli_port_in_use_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert cli_main(["playground", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gannet: error: cannot serve on 127.0.0.1:")


# --------------------------------------------------------------------------- the page, in Chromium


@pytest.fixture
def page(browser: Any, server: PlaygroundServer) -> Iterator[Any]:
    """A fresh page on the playground; fails the test on any script error or off-site request."""
    context, pg, errors = open_page(browser, server, width=1360, height=900)
    yield pg
    context.close()
    errors.check()


def readout(pg: Any) -> float:
    return float(pg.inner_text("[data-testid=readout-c]").replace("−", "-"))


@pytest.mark.browser
def test_sliders_onto_the_data_reach_minus_log_4(page: Any) -> None:
    pg = page
    # The data curve can be changed too (here through its number boxes).
    pg.fill("[data-testid=mu-data-num]", "0.5")
    pg.fill("[data-testid=sd-data-num]", "1.2")
    state = settled(pg)
    assert state["params"] == {"mu_data": 0.5, "sd_data": 1.2, "mu_g": -2.5, "sd_g": 1.5}
    assert state["criterion"] == pytest.approx(
        theory.criterion_for_gaussians(0.5, 1.2, -2.5, 1.5), abs=1e-12
    )
    assert readout(pg) > theory.MINUS_LOG_4 + 0.1
    shot(pg, "analytic-apart.png")

    set_slider(pg, "mu-g", 0.5)
    set_slider(pg, "sd-g", 1.2)
    state = settled(pg)
    assert state["params"] == {"mu_data": 0.5, "sd_data": 1.2, "mu_g": 0.5, "sd_g": 1.2}
    assert state["shownParams"] == state["params"]
    assert abs(state["criterion"] - theory.MINUS_LOG_4) < 1e-3
    assert abs(readout(pg) - theory.MINUS_LOG_4) < 1e-3
    assert state["criterion"] == pytest.approx(
        theory.criterion_for_gaussians(0.5, 1.2, 0.5, 1.2), abs=1e-6
    )
    assert len(state["dStar"]) > 100
    assert max(abs(d - 0.5) for d in state["dStar"]) < 1e-3
    assert float(pg.inner_text("[data-testid=readout-jsd]").split()[0]) < 1e-3
    shot(pg, "analytic-matched.png")


@pytest.mark.browser
def test_train_lowers_the_readout_to_minus_log_4(page: Any) -> None:
    pg = page
    set_slider(pg, "mu-g", -3.5)
    set_slider(pg, "sd-g", 2.2)
    start = settled(pg)["criterion"]
    assert start - theory.MINUS_LOG_4 > 0.5  # a far start
    pg.click("[data-testid=train]")
    pg.wait_for_function("() => window.gannetState.analytic.trainSteps >= 8")
    shot(pg, "analytic-training.png")
    pg.wait_for_function("() => !window.gannetState.analytic.training", timeout=60000)
    state = settled(pg)
    history = state["trainHistory"]
    assert history[0] == pytest.approx(start)
    assert len(history) == state["trainSteps"] + 1 >= 10
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(history)), history
    assert history[-1] - theory.MINUS_LOG_4 < 1e-2
    assert abs(readout(pg) - theory.MINUS_LOG_4) < 1e-2
    assert state["criterion"] == history[-1]
    p = state["params"]
    assert state["criterion"] == pytest.approx(
        theory.criterion_for_gaussians(p["mu_data"], p["sd_data"], p["mu_g"], p["sd_g"]), abs=1e-9
    )
    assert "converged" in pg.inner_text("[data-testid=analytic-status]").lower()
    assert pg.inner_text("[data-testid=train]").endswith("Train")
    shot(pg, "analytic-trained.png")

    # Stoppable: start again from afar and stop after a few steps.
    pg.click("[data-testid=reset]")
    settled(pg)
    pg.click("[data-testid=train]")
    pg.wait_for_function("() => window.gannetState.analytic.trainSteps >= 3")
    pg.click("[data-testid=train]")
    steps = pg.evaluate("() => window.gannetState.analytic.trainSteps")
    time.sleep(0.4)
    assert pg.evaluate("() => window.gannetState.analytic.trainSteps") == steps
    assert not pg.evaluate("() => window.gannetState.analytic.training")


@pytest.mark.browser
def test_live_mode_shows_training_progress(page: Any) -> None:
    pg = page
    pg.click("[data-testid=tab-live]")
    pg.wait_for_function("() => window.gannetState.live.last !== null", timeout=60000)
    first = pg.evaluate("() => window.gannetState.live.checksum")
    # Single step: one iteration of Algorithm 1.
    pg.click("[data-testid=live-step]")
    pg.wait_for_function("() => window.gannetState.live.step === 1")
    # Play, let it train, pause.
    pg.click("[data-testid=live-play]")
    pg.wait_for_function("() => window.gannetState.live.step >= 200", timeout=60000)
    pg.click("[data-testid=live-play]")
    pg.wait_for_function("() => !window.gannetState.live.busy")
    live = pg.evaluate("() => window.gannetState.live")
    assert live["checksum"] != first  # the plotted p_g and D changed
    assert len(live["history"]) >= 5
    assert live["renders"] >= 5
    for testid in ("live-dloss", "live-gloss", "live-dreal", "live-dfake"):
        assert math.isfinite(float(pg.inner_text(f"[data-testid={testid}]").replace("−", "-")))
    assert int(pg.inner_text("[data-testid=live-stepcount]")) == live["step"] >= 200
    shot(pg, "live-1d.png")

    # The 8-Gaussian ring, with the saturating loss and k = 2: a new session starts.
    pg.select_option("[data-testid=live-data]", "ring")
    pg.wait_for_function(
        "() => window.gannetState.live.last && window.gannetState.live.last.dim === 2"
    )
    pg.click("[data-testid=live-play]")
    pg.wait_for_function("() => window.gannetState.live.step >= 100", timeout=60000)
    pg.click("[data-testid=live-play]")
    pg.wait_for_function("() => !window.gannetState.live.busy")
    last = pg.evaluate("() => window.gannetState.live.last")
    assert last["settings"]["data"] == "ring" and last["coverage"]["n_modes"] == 8
    assert "/ 8" in pg.inner_text("[data-testid=live-extra]")
    shot(pg, "live-ring.png")
