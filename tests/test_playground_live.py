"""The playground's new game pieces through the API (issue 18): data of your own (a drawn or
mixture density in the analytic game, painted points in the live one), the manifold view,
gradient arrows, slow-motion phases, metrics over time, and the analytic page's feedback."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.integrate import trapezoid

from gannet.cli import main as cli_main
from gannet.paper import theory
from gannet.playground import PlaygroundServer
from gannet.playground.analytic import DRAWN_POINTS, DataDensity, analytic_state
from gannet.playground.live import LiveSession
from gannet.playground.measure import manifold_z
from tests.playground_support import post, running_server

server = pytest.fixture(scope="module")(running_server)


@pytest.fixture
def restore_rng() -> Iterator[None]:
    """LiveSessions built directly seed the global RNGs and set torch's threads: put back."""
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    yield
    torch.set_num_threads(threads)
    torch.set_rng_state(state)


def drawn_values() -> list[float]:
    x = np.linspace(-6, 6, DRAWN_POINTS)
    bump = np.where(np.abs(x - 2) < 1.5, 1.0, 0.0) + 0.5 * np.exp(-((x + 3) ** 2))
    return [round(float(v), 4) for v in bump]


# --------------------------------------------------------------------------- the analytic game


def test_drawn_density_is_gannet_theory(server: PlaygroundServer) -> None:
    values = drawn_values()
    body = {"mu_g": -1.0, "sd_g": 0.7, "data": {"kind": "drawn", "values": values}}
    status, r = post(server, "/api/analytic", body)
    assert status == 200 and r["data"] == {"kind": "drawn", "values": values}
    grid = np.linspace(r["grid"]["x_min"], r["grid"]["x_max"], r["grid"]["n"])
    # The drawn range's lattice (4001 points over -6..6), extended to G's ±8 std.
    assert (len(grid), grid[-1]) == (4201, 6.0) and grid[0] == pytest.approx(-6.6)
    assert np.allclose(grid[200:], np.linspace(-6, 6, 4001))
    p = np.interp(grid, np.linspace(-6, 6, DRAWN_POINTS), values, left=0, right=0)
    q = theory.gaussian_pdf(grid, -1.0, 0.7)
    assert r["criterion"] == pytest.approx(theory.virtual_criterion(p, q, grid), abs=1e-12)
    assert r["jsd"] == pytest.approx(theory.jsd(p, q, grid), abs=1e-12)
    assert r["criterion"] == pytest.approx(theory.MINUS_LOG_4 + 2 * r["jsd"], abs=1e-9)
    # The gradient, checked against central differences of C(G) on a fixed grid.
    h = 1e-5
    for key, index in (("mu_g", 0), ("sd_g", 1)):
        args = [-1.0, 0.7]
        args[index] += h
        hi = theory.virtual_criterion(p, theory.gaussian_pdf(grid, *args), grid)
        args[index] -= 2 * h
        lo = theory.virtual_criterion(p, theory.gaussian_pdf(grid, *args), grid)
        assert r["gradient"][key] == pytest.approx((hi - lo) / (2 * h), rel=1e-4, abs=1e-8)
    # D* on the display grid is Proposition 1 of the normalised drawn density.
    x = np.asarray(r["x"])
    np.testing.assert_allclose(trapezoid(r["p_data"], x), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        r["d_star"], theory.optimal_discriminator(r["p_data"], r["p_g"]), atol=1e-12
    )


def test_mixture_density_is_gannet_theory(server: PlaygroundServer) -> None:
    mix = {"kind": "mixture", "means": [-2.0, 2.5], "sds": [0.5, 0.8], "weights": [1.0, 3.0]}
    status, r = post(server, "/api/analytic", {"mu_g": 0.0, "sd_g": 1.0, "data": mix})
    assert status == 200
    grid = theory.gaussian_grid([-2.0, 2.5, 0.0], [0.5, 0.8, 1.0])
    p = theory.mixture_pdf(grid, [-2.0, 2.5], [0.5, 0.8], [1.0, 3.0])
    q = theory.gaussian_pdf(grid, 0.0, 1.0)
    assert r["criterion"] == theory.virtual_criterion(p, q, grid)
    # Gaussian data through the same path is exactly the Gaussian formula.
    gauss = analytic_state(0.5, 1.2, -1.75, 0.6, data=DataDensity.gaussian(0.5, 1.2))
    assert gauss["criterion"] == theory.criterion_for_gaussians(0.5, 1.2, -1.75, 0.6)
    assert (gauss["gradient"]["mu_g"], gauss["gradient"]["sd_g"]) == (
        theory.criterion_gradient_gaussians(0.5, 1.2, -1.75, 0.6)
    )


@pytest.mark.parametrize(
    ("start", "lr", "verdict", "words"),
    [
        ((-5.0, 0.1), 2.0, "vanished", ("gradient has vanished", "flat at 0")),
        ((-2.5, 1.5), 2.0, "overshoot", ("step is too large", "η = 2")),
        ((0.9, 0.75), 0.5, "converged", ("converged", "−log 4")),
    ],
)
def test_train_feedback(
    server: PlaygroundServer, start: tuple[float, float], lr: float, verdict: str, words: tuple
) -> None:
    """The documented stall (centre −5, spread 0.1, step 2) says the gradient vanished at
    once; step size 2 from the default start overshoots; near the data it converges."""
    mu, sd = start
    step = 0
    while step < 120:
        step += 1
        body = {"mu_data": 1.0, "sd_data": 0.8, "mu_g": mu, "sd_g": sd, "lr": lr, "steps": 1}
        status, r = post(server, "/api/analytic/step", body)
        assert status == 200
        mu, sd = r["params"]["mu_g"], r["params"]["sd_g"]
        if r["feedback"]["verdict"] != "descending":
            break
    assert r["feedback"]["verdict"] == verdict, r["feedback"]
    assert all(w.lower() in r["feedback"]["message"].lower() for w in words), r["feedback"][
        "message"
    ]
    assert (
        "-0.000000" not in r["feedback"]["message"] and "−0.000000" not in r["feedback"]["message"]
    )
    if verdict == "vanished":
        assert step == 1


def test_a_bell_curve_cannot_fit_two_bumps(server: PlaygroundServer) -> None:
    mix = {"kind": "mixture", "means": [-2.0, 2.0], "sds": [0.5, 0.5], "weights": [1.0, 1.0]}
    body = {"mu_g": -3.0, "sd_g": 0.3, "lr": 0.5, "steps": 200, "data": mix}
    r = post(server, "/api/analytic/step", body)[1]
    assert r["feedback"]["verdict"] == "stationary", r["feedback"]
    assert r["criterion"] > theory.MINUS_LOG_4 + 0.1


# --------------------------------------------------------------------------- painted points


def test_painted_grid_is_the_grid_mixture_and_coverage_is_gannet_eval_modes(
    server: PlaygroundServer, tmp_path: Path
) -> None:
    """Paint the 25 centres of the grid: the painted set is the grid mixture (Gaussians of std
    0.05 at the dots), so `gannet eval modes --mixture grid` on the session's samples gives
    the coverage the page shows (all but the mixture's name)."""
    from gannet.data.synthetic import mixture_2d_modes
    from gannet.playground.painted import painted_mode_stats

    centres, std = mixture_2d_modes("grid")
    points = [[round(float(a), 3), round(float(b), 3)] for a, b in centres.tolist()]
    start = {"data": "painted", "points": points, "lr": 0.003, "seed": 3}
    status, r = post(server, "/api/live/start", start)
    assert status == 200 and r["settings"]["points"] == points and r["modes"] == points
    session = server.sessions.get(r["session"])
    assert session is not None and std == r["mode_std"] == 0.05
    data = session.trainer.x_train
    assert data.shape == (20000, 2)
    nearest = torch.cdist(data, centres).min(dim=1).values
    assert float(nearest.max()) < 6 * std  # every training point is a dab of paint on a dot
    r = post(server, "/api/live/step", {"session": session.id, "n": 60})[1]
    samples = session.mode_samples
    assert samples is not None
    assert r["coverage"] == painted_mode_stats(samples, torch.tensor(points)).to_dict()
    path, out = tmp_path / "samples.npz", tmp_path / "modes.json"
    np.savez(path, samples=samples.numpy())
    argv = ["eval", "modes", "--samples-file", str(path), "--data", "mixture-2d"]
    assert cli_main([*argv, "--mixture", "grid", "--out", str(out)]) == 0
    reported = json.loads(out.read_text())
    assert {k: reported[k] for k in r["coverage"] if k != "kind"} == {
        k: v for k, v in r["coverage"].items() if k != "kind"
    }
    assert r["coverage"]["kind"] == "painted"
    # Metrics over time: the numbers the page plots come with every state.
    assert 0 <= r["jsd_estimate"] <= math.log(2)
    assert r["jsd_estimate"] == pytest.approx(
        min(math.log(2), max(0.0, (math.log(4) - r["losses"]["d"]) / 2)), abs=1e-12
    )
    post(server, "/api/live/stop", {"session": session.id})


# --------------------------------------------------------------------------- manifold, arrows


@pytest.mark.parametrize("loss", ["non-saturating", "minimax"])
def test_manifold_and_arrows_are_gs_and_ds(server: PlaygroundServer, loss: str) -> None:
    status, r = post(server, "/api/live/start", {"data": "ring", "loss": loss, "lr": 0.003})
    session = server.sessions.get(r["session"])
    assert status == 200 and session is not None
    r = post(server, "/api/live/step", {"session": session.id, "n": 30})[1]
    tr = session.trainer
    # The manifold: G of the regular z grid, row i along z1 at z2 = z[i].
    z = manifold_z()
    axis = np.asarray(r["manifold"]["z"])
    assert axis[0] == -2.5 and axis[-1] == 2.5 and len(axis) == 21
    assert np.allclose(z[3, 5].numpy(), [axis[5], axis[3]])
    with torch.no_grad():
        expected = tr.G(z.reshape(-1, 2)).reshape(21, 21, 2).numpy()
    np.testing.assert_allclose(r["manifold"]["points"], expected, atol=1e-5)
    # The arrows: minus the gradient of this sample's term of G's loss, at the sample.
    pts = torch.tensor(r["arrows"]["points"], dtype=torch.float32)
    vec = np.asarray(r["arrows"]["vectors"])
    assert pts.shape == (100, 2)
    np.testing.assert_allclose(pts.numpy(), np.asarray(r["samples"])[:100], atol=1e-5)
    x = pts.clone().requires_grad_(True)
    logits = tr.D(x).view(-1)
    per_sample = (
        -torch.nn.functional.softplus(logits)
        if loss == "minimax"
        else (torch.nn.functional.softplus(-logits))
    )
    (grad,) = torch.autograd.grad(per_sample.sum(), x)
    np.testing.assert_allclose(vec, -grad.numpy(), rtol=1e-3, atol=1e-6)
    # Sign: a small step along an arrow lowers that sample's loss.
    moved = pts + 1e-3 * torch.tensor(vec, dtype=torch.float32) / (
        torch.tensor(vec).norm(dim=1, keepdim=True).float() + 1e-12
    )
    with torch.no_grad():
        before = per_sample.detach()
        after_logits = tr.D(moved).view(-1)
        after = (
            -torch.nn.functional.softplus(after_logits)
            if loss == "minimax"
            else (torch.nn.functional.softplus(-after_logits))
        )
    strong = torch.tensor(vec).norm(dim=1) > 1e-3
    assert bool((after[strong] < before[strong]).all())
    post(server, "/api/live/stop", {"session": session.id})


# --------------------------------------------------------------------------- slow motion


def counters(s: LiveSession) -> tuple[int, int, int]:
    p = s.trainer.progress
    return p.step, p.epoch, p.iteration_in_epoch


def test_phases_are_the_same_iteration_as_step(restore_rng: None) -> None:
    """k D updates then one G update, phase by phase (measured after each), end with the
    weights of Trainer.step() on a twin session, across an epoch boundary. (The sessions run
    one after the other: they share torch's global RNG, which each seeds when built.)"""
    fast = LiveSession("ring", "non-saturating", 3, 0.003, seed=5)
    per_epoch = fast.trainer.iterations_per_epoch
    fast.step(per_epoch + 1)
    fast.step(2)
    fast_params = [
        p.detach().clone() for p in (*fast.trainer.G.parameters(), *fast.trainer.D.parameters())
    ]
    fast_counters = counters(fast)

    slow = LiveSession("ring", "non-saturating", 3, 0.003, seed=5)
    slow.step(per_epoch - 1)
    names = []
    for _ in range(2):  # the last iteration of epoch 1, then the first of epoch 2
        for _ in range(4):
            d_before = [p.detach().clone() for p in slow.trainer.D.parameters()]
            g_before = [p.detach().clone() for p in slow.trainer.G.parameters()]
            phase = slow.phase()
            names.append((phase["name"], phase["index"]))
            state = slow.state()  # measuring between phases changes nothing
            d_moved = any(
                not torch.equal(a, b)
                for a, b in zip(d_before, slow.trainer.D.parameters(), strict=True)
            )
            g_moved = any(
                not torch.equal(a, b)
                for a, b in zip(g_before, slow.trainer.G.parameters(), strict=True)
            )
            assert (d_moved, g_moved) == ((True, False) if phase["name"] == "d" else (False, True))
            assert state["phase"] == phase
        if len(names) == 4:
            assert counters(slow) == (per_epoch, 2, 0)
    assert names == [("d", 1), ("d", 2), ("d", 3), ("g", 1)] * 2
    slow.phase()  # a half-done iteration is finished by the next step() (it counts as one)
    slow.step(2)
    assert counters(slow) == fast_counters
    slow_params = [*slow.trainer.G.parameters(), *slow.trainer.D.parameters()]
    for a, b in zip(slow_params, fast_params, strict=True):
        assert torch.equal(a, b)


def test_phase_route(server: PlaygroundServer) -> None:
    r = post(server, "/api/live/start", {"data": "gaussian-1d", "k": 2})[1]
    assert r["next_phase"] == {"name": "d", "index": 1, "k": 2} and r["phase"] is None
    seen = []
    for _ in range(3):
        status, r = post(server, "/api/live/phase", {"session": r["session"]})
        assert status == 200
        seen.append((r["phase"]["name"], r["phase"]["index"], r["step"]))
    assert seen == [("d", 1, 0), ("d", 2, 0), ("g", 1, 1)]
    assert r["next_phase"] == {"name": "d", "index": 1, "k": 2}
    post(server, "/api/live/stop", {"session": r["session"]})


def test_live_training_on_a_drawn_density(server: PlaygroundServer) -> None:
    """The analytic tab's drawn density as live 1-D data: 20,000 exact draws from it (a
    Kolmogorov-Smirnov distance under 0.015), drawn as p_data, and trained on."""
    values = drawn_values()
    start = {"data": "drawn-1d", "density": values, "seed": 2}
    status, r = post(server, "/api/live/start", start)
    assert status == 200 and r["dim"] == 1 and r["settings"]["density"] == values
    session = server.sessions.get(r["session"])
    assert session is not None
    knots = np.linspace(-6, 6, DRAWN_POINTS)
    cdf = np.concatenate([[0], np.cumsum((np.add(values[1:], values[:-1])) / 2)])
    cdf /= cdf[-1]
    data = np.sort(session.trainer.x_train.view(-1).numpy().astype(np.float64))
    # The exact CDF of the piecewise-linear density at the sorted draws.
    fine = np.linspace(-6, 6, 12001)
    fine_pdf = np.interp(fine, knots, values)
    fine_cdf = np.concatenate([[0], np.cumsum((fine_pdf[1:] + fine_pdf[:-1]) / 2)])
    fine_cdf /= fine_cdf[-1]
    model = np.interp(data, fine, fine_cdf)
    ranks = np.arange(1, len(data) + 1) / len(data)
    assert np.max(np.abs(ranks - model)) < 0.015
    assert np.interp(0.0, knots, cdf) == pytest.approx(np.mean(data < 0), abs=0.015)
    x = np.asarray(r["x"])
    expected = np.interp(x, knots, values) / trapezoid(values, knots)
    np.testing.assert_allclose(r["p_data"], expected, atol=1e-5)
    assert r["data_mean"] == pytest.approx(trapezoid(x * expected, x), abs=1e-3)
    status, r = post(server, "/api/live/step", {"session": session.id, "n": 20})
    assert status == 200 and r["step"] == 20 and math.isfinite(r["losses"]["d"])
    bad = post(server, "/api/live/start", {"data": "drawn-1d", "density": [0] * DRAWN_POINTS})
    assert bad[0] == 400 and "draw some data" in bad[1]["error"]
    post(server, "/api/live/stop", {"session": session.id})
