"""Parzen-window log-likelihood: against a direct float64 loop, the protocol, file loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from gannet.errors import GannetError
from gannet.files.samplefile import load_samples_npz
from gannet.metrics import METRICS
from gannet.metrics import parzen as P
from gannet.metrics.parzen import (
    ParzenResult,
    parzen_evaluate,
    parzen_log_likelihood,
)

ATOL = 1e-6


def direct(x: torch.Tensor, s: torch.Tensor, sigma: float) -> np.ndarray:
    """The definition, one example at a time, in float64 with scipy's logsumexp."""
    xs = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    ss = np.asarray(s, dtype=np.float64).reshape(len(s), -1)
    n, d = ss.shape
    out = []
    for xi in xs:
        d2 = ((ss - xi) ** 2).sum(axis=1)
        out.append(
            logsumexp(-d2 / (2 * sigma**2))
            - math.log(n)
            - 0.5 * d * math.log(2 * math.pi * sigma**2)
        )
    return np.array(out)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def used_screen(x: torch.Tensor, s: torch.Tensor, sigma: float) -> bool:
    """Whether the float32 screen (rather than dense float64) handles this case."""
    prep = P._Samples(s.reshape(len(s), -1).double())
    xb = x.reshape(len(x), -1).double()
    xc = xb - prep.mean
    xsq = (xc * xc).sum(1)
    margin = 2 * sigma**2 * (math.log(prep.n) + P._DROP_NATS)
    return P._screened_block(xb, xc, xsq, prep, [1 / (2 * sigma**2)], margin) is not None


# --------------------------------------------------------------------------- the maths


@pytest.mark.parametrize("screen", [True, False])
@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.3, 1.0, 3.0])
def test_matches_direct_computation(sigma: float, screen: bool) -> None:
    g = gen(1)
    s = torch.rand(400, 1, 28, 28, generator=g)
    x = torch.rand(30, 1, 28, 28, generator=g)
    got = parzen_log_likelihood(x, s, sigma, float32_screen=screen)
    assert got.dtype == torch.float64 and got.shape == (30,)
    np.testing.assert_allclose(got.numpy(), direct(x, s, sigma), rtol=0, atol=ATOL)


def test_both_paths_are_exercised() -> None:
    g = gen(1)
    s, x = torch.rand(400, 784, generator=g), torch.rand(30, 784, generator=g)
    assert used_screen(x, s, 0.05)
    assert not used_screen(x, s, 1.0)


@pytest.mark.parametrize("sigma", [1e-4, 3e-4, 1e-3, 1e-2])
def test_large_offset_cancellation(sigma: float) -> None:
    """All pixels within 1e-3 of 1: ||x||^2 ~ 784 while distances are ~1e-4, so the plain
    ||x||^2 + ||s||^2 - 2 x.s in float32 would be noise; the answer must still match."""
    g = gen(2)
    s = 1 - 1e-3 * torch.rand(300, 784, dtype=torch.float64, generator=g)
    x = 1 - 1e-3 * torch.rand(20, 784, dtype=torch.float64, generator=g)
    want = direct(x, s, sigma)
    for screen in (True, False):
        got = parzen_log_likelihood(x, s, sigma, float32_screen=screen).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    # Same data in float32 storage: the float32 rounding of the inputs is part of the data.
    got32 = parzen_log_likelihood(x.float(), s.float(), sigma).numpy()
    np.testing.assert_allclose(got32, direct(x.float(), s.float(), sigma), rtol=0, atol=ATOL)


def test_large_offset_uses_screen_and_matches() -> None:
    g = gen(2)
    s = 1 - 1e-3 * torch.rand(300, 784, dtype=torch.float64, generator=g)
    x = 1 - 1e-3 * torch.rand(20, 784, dtype=torch.float64, generator=g)
    assert used_screen(x, s, 1e-4)


@pytest.mark.parametrize("sigma", [1e-5, 1e-4, 1e-3, 0.05])
def test_near_duplicate_points(sigma: float) -> None:
    """Samples that are copies of the test points moved by ~1e-6 per pixel: the kernel sum is
    dominated by a distance of ~1e-9 next to norms of ~250."""
    g = gen(3)
    x = torch.rand(25, 784, dtype=torch.float64, generator=g)
    near = x + 1e-6 * torch.randn(25, 784, dtype=torch.float64, generator=g)
    s = torch.cat([near, torch.rand(200, 784, dtype=torch.float64, generator=g), x[:5]])
    want = direct(x, s, sigma)
    for screen in (True, False):
        got = parzen_log_likelihood(x, s, sigma, float32_screen=screen).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


def test_samples_equal_test_points_small_sigma_analytic() -> None:
    """Each point is its own nearest sample at distance 0 and the others are far (in units of
    sigma), so log p(x) = -log N - (d/2) log(2 pi sigma^2) (+ the self term's log 1 = 0)."""
    g = gen(4)
    s = torch.rand(100, 50, dtype=torch.float64, generator=g)
    sigma = 0.01
    got = parzen_log_likelihood(s, s, sigma)
    want = -math.log(100) - 25 * math.log(2 * math.pi * sigma**2)
    assert torch.allclose(got, torch.full_like(got, want), rtol=0, atol=1e-9)


def test_two_points_analytic() -> None:
    """Two samples at distance delta: p(x = s_1) has the self term and exp(-delta^2/2s^2)."""
    s = torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.4, 0.0]], dtype=torch.float64)  # delta = 0.5
    sigma = 0.25
    got = parzen_log_likelihood(s, s, sigma)
    want = (
        math.log(1 + math.exp(-0.25 / (2 * sigma**2)))
        - math.log(2)
        - 1.5 * math.log(2 * math.pi * sigma**2)
    )
    np.testing.assert_allclose(got.numpy(), [want, want], rtol=0, atol=1e-12)


def test_grid_equals_one_at_a_time() -> None:
    g = gen(5)
    s, x = torch.rand(300, 64, generator=g), torch.rand(40, 64, generator=g)
    sigmas = [0.05, 0.1, 0.2, 0.5, 1.0]
    grid = parzen_log_likelihood(x, s, sigmas)
    assert grid.shape == (5, 40)
    for k, sigma in enumerate(sigmas):
        one = parzen_log_likelihood(x, s, sigma)
        np.testing.assert_allclose(grid[k].numpy(), one.numpy(), rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("screen", [True, False])
def test_chunking_invariance(screen: bool) -> None:
    g = gen(6)
    s, x = torch.rand(500, 784, generator=g), torch.rand(150, 784, generator=g)
    sigmas = [0.05] if screen else [0.05, 0.5]
    results = [
        parzen_log_likelihood(x, s, sigmas, chunk_size=c, float32_screen=screen)
        for c in (1, 7, 64, 100, 1000)
    ]
    # Equal up to the last bits: BLAS rounds a 1-row product differently from a 64-row one.
    for r in results[1:]:
        torch.testing.assert_close(r, results[0], rtol=1e-13, atol=0)


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(GannetError, match="chunk_size"):
        parzen_log_likelihood(torch.rand(3, 4), torch.rand(5, 4), 0.1, chunk_size=0)


# --------------------------------------------------------------------------- the protocol


def make_split(seed: int = 7) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = gen(seed)
    centres = torch.rand(5, 100, generator=g)

    def draw(n: int) -> torch.Tensor:
        idx = torch.randint(0, 5, (n,), generator=g)
        return (centres[idx] + 0.15 * torch.randn(n, 100, generator=g)).clamp(0, 1)

    return draw(400), draw(60), draw(80)


def test_evaluate_chooses_the_best_sigma_and_reports_mean_and_se() -> None:
    samples, val, test = make_split()
    sigmas = [float(v) for v in np.logspace(-1.3, 0.3, 9)]
    res = parzen_evaluate(samples, val, test, sigmas=sigmas, seed=3, checkpoint="ck.pt")
    val_means = [direct(val, samples, s).mean() for s in sigmas]
    best = int(np.argmax(val_means))
    assert 0 < best < len(sigmas) - 1  # an interior optimum, so the choice means something
    assert res.sigma == sigmas[best]
    assert [s for s, _ in res.grid] == sigmas
    np.testing.assert_allclose([m for _, m in res.grid], val_means, rtol=0, atol=ATOL)
    assert res.grid[best][1] == max(m for _, m in res.grid)
    ll = direct(test, samples, res.sigma)
    assert res.test_ll == pytest.approx(ll.mean(), abs=ATOL)
    assert res.test_se == pytest.approx(ll.std(ddof=1) / math.sqrt(len(ll)), rel=1e-9)
    assert res.test_se != pytest.approx(ll.std(ddof=0) / math.sqrt(len(ll)), rel=1e-6)
    assert (res.n_samples, res.n_validation, res.n_test, res.dim) == (400, 60, 80, 100)
    assert res.seed == 3 and res.checkpoint == "ck.pt" and res.seconds > 0
    assert not res.sigma_at_grid_edge


def test_default_grid_is_the_authors() -> None:
    np.testing.assert_allclose(P.DEFAULT_SIGMAS, np.logspace(-1, 0, 10))
    samples, val, test = make_split()
    res = parzen_evaluate(samples, val, test)
    assert [s for s, _ in res.grid] == list(P.DEFAULT_SIGMAS)


def test_result_json_and_table_line() -> None:
    res = ParzenResult(
        test_ll=225.31,
        test_se=2.04,
        sigma=0.16681,
        grid=[(0.1, 100.0), (0.16681, 230.0)],
        n_samples=10000,
        n_validation=1000,
        n_test=10000,
        seconds=3.2,
        dataset="MNIST",
    )
    line = res.table_line("gannet")
    assert line == "gannet  MNIST  Parzen log-likelihood  225.3 ± 2.0  (sigma 0.167, 10000 samples)"
    assert res.table_line("x", dataset="TFD").startswith("x  TFD  Parzen")
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["grid"] == [[0.1, 100.0], [0.16681, 230.0]] and d["seed"] is None
    assert ParzenResult.from_dict(d) == res
    one = ParzenResult(1.0, float("nan"), 0.1, [(0.1, 1.0)], 5, 1, 1, 0.1)
    assert json.loads(json.dumps(one.to_dict(), allow_nan=False))["test_se"] is None


def test_registered_as_metric() -> None:
    assert "parzen" in METRICS
    assert METRICS.get("parzen") is parzen_evaluate


# --------------------------------------------------------------------------- input errors


def test_shape_mismatch_raises() -> None:
    s = torch.rand(10, 1, 28, 28)
    with pytest.raises(GannetError, match="samples have 784 values each but the data has 3072"):
        parzen_log_likelihood(torch.rand(4, 3, 32, 32), s, 0.1)
    with pytest.raises(GannetError, match="the test data has 3072"):
        parzen_evaluate(s, torch.rand(4, 784), torch.rand(4, 3, 32, 32))
    with pytest.raises(GannetError, match="the validation data has 10"):
        parzen_evaluate(s, torch.rand(4, 10), torch.rand(4, 784))


@pytest.mark.parametrize(
    ("x", "sigma", "match"),
    [
        (torch.full((2, 4), float("nan")), 0.1, "NaN"),
        (torch.rand(2, 4), 0.0, "positive"),
        (torch.rand(2, 4), [], "no bandwidth"),
        (torch.rand(4), 0.1, "batch of examples"),
        (torch.rand(0, 4), 0.1, "empty"),
    ],
)
def test_bad_input_raises(x: torch.Tensor, sigma: object, match: str) -> None:
    with pytest.raises(GannetError, match=match):
        parzen_log_likelihood(x, torch.rand(5, 4), sigma)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- npz files


def test_load_samples_npz(tmp_path: Path) -> None:
    a = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32)
    np.savez(tmp_path / "a.npz", samples=a, labels=np.arange(6))
    got = load_samples_npz(tmp_path / "a.npz")
    assert got.dtype == torch.float32 and torch.equal(got, torch.from_numpy(a))
    np.savez(tmp_path / "b.npz", whatever=a.astype(np.float64))
    assert load_samples_npz(str(tmp_path / "b.npz")).dtype == torch.float64


def test_load_samples_npz_errors(tmp_path: Path) -> None:
    ok = np.zeros((3, 4))
    with pytest.raises(GannetError, match="does not exist"):
        load_samples_npz(tmp_path / "missing.npz")
    with pytest.raises(GannetError, match="not a file"):
        load_samples_npz(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip file at all")
    with pytest.raises(GannetError, match=r"cannot read .* as an \.npz"):
        load_samples_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", ok)
    with pytest.raises(GannetError, match=r"not an \.npz archive"):
        load_samples_npz(tmp_path / "single.npy")
    np.savez(tmp_path / "empty.npz")
    with pytest.raises(GannetError, match="no arrays"):
        load_samples_npz(tmp_path / "empty.npz")
    np.savez(tmp_path / "two.npz", a=ok, b=ok)
    with pytest.raises(GannetError, match="several arrays"):
        load_samples_npz(tmp_path / "two.npz")
    np.savez(tmp_path / "bytes.npz", samples=np.full((3, 4), 255, dtype=np.uint8))
    with pytest.raises(GannetError, match=r"range over \[255, 255\], not \[0, 1\]"):
        load_samples_npz(tmp_path / "bytes.npz")
    np.savez(tmp_path / "neg.npz", samples=ok - 0.5)
    with pytest.raises(GannetError, match=r"not \[0, 1\]"):
        load_samples_npz(tmp_path / "neg.npz")
    np.savez(tmp_path / "obj.npz", samples=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(GannetError, match=r"obj\.npz"):
        load_samples_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "str.npz", samples=np.array(["a", "b"]))
    with pytest.raises(GannetError, match="expected numbers"):
        load_samples_npz(tmp_path / "str.npz")
    np.savez(tmp_path / "nan.npz", samples=np.full((2, 2), np.nan))
    with pytest.raises(GannetError, match="NaN"):
        load_samples_npz(tmp_path / "nan.npz")


# --------------------------------------------------------------------------- which validation rows


def rows_favouring_two_sigmas() -> tuple[torch.Tensor, torch.Tensor]:
    """(samples, 2,000 validation rows): the first 1,000 rows are copies of the samples,
    which favour the smallest bandwidth; the last 1,000 lie about 1 away from every sample,
    which favours a bandwidth near 0.5."""
    g = gen(11)
    samples = 0.1 * torch.rand(50, 4, dtype=torch.float64, generator=g)
    near = samples.repeat(20, 1)
    far = 0.55 + 0.1 * torch.rand(1000, 4, dtype=torch.float64, generator=g)
    return samples, torch.cat([near, far])


def mean_ll_on_grid(rows: torch.Tensor, samples: torch.Tensor) -> np.ndarray:
    """The definition (as :func:`direct`), all rows at once: the mean log-likelihood of
    ``rows`` at every sigma of the default grid."""
    x, s = np.asarray(rows, dtype=np.float64), np.asarray(samples, dtype=np.float64)
    d2 = ((x[:, None, :] - s[None, :, :]) ** 2).sum(axis=2)
    n, d = s.shape
    return np.array(
        [
            (logsumexp(-d2 / (2 * sigma**2), axis=1) - math.log(n)).mean()
            - 0.5 * d * math.log(2 * math.pi * sigma**2)
            for sigma in P.DEFAULT_SIGMAS
        ]
    )


def best_sigma(rows: torch.Tensor, samples: torch.Tensor) -> float:
    return P.DEFAULT_SIGMAS[int(np.argmax(mean_ll_on_grid(rows, samples)))]


def test_evaluate_chooses_sigma_on_every_validation_row() -> None:
    samples, val = rows_favouring_two_sigmas()
    res = parzen_evaluate(samples, val, val[:10])
    assert res.n_validation == 2000
    assert res.sigma == best_sigma(val, samples)
    assert res.sigma not in (best_sigma(val[:1000], samples), best_sigma(val[-1000:], samples))


def test_cli_chooses_sigma_on_the_first_validation_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gannet eval parzen` picks sigma on the FIRST 1,000 validation rows (the authors'
    protocol), or on the first N with --validation N, or on all of them."""
    from gannet.cli import main
    from gannet.data import DATASETS, Dataset, DatasetEntry

    samples, val = rows_favouring_two_sigmas()
    data = Dataset("parzen-rows", samples.float(), validation=val.float(), test=val[-20:].float())
    entry = DatasetEntry(load=lambda cfg: data, locate=lambda cfg: "memory")
    monkeypatch.setitem(DATASETS._entries, "parzen-rows", entry)
    np.savez(tmp_path / "s.npz", samples=samples.float().numpy())
    val = val.float().double()  # what the command sees
    first, last = best_sigma(val[:1000], samples.float()), best_sigma(val[-1000:], samples.float())
    assert first != last  # the rows tell the choices apart

    def chosen(*extra: str) -> ParzenResult:
        out = tmp_path / "parzen.json"
        args = ["eval", "parzen", "--samples-file", str(tmp_path / "s.npz")]
        code = main([*args, "--data", "parzen-rows", "--out", str(out), *extra])
        assert code == 0, capsys.readouterr().err
        return ParzenResult.from_dict(json.loads(out.read_text()))

    res = chosen()  # default: --validation 1000
    assert res.n_validation == 1000 and res.sigma == first
    means = mean_ll_on_grid(val[:1000], samples.float())
    np.testing.assert_allclose([m for _, m in res.grid], means, rtol=0, atol=ATOL)
    res = chosen("--validation", "50")  # copies of the samples only
    assert res.n_validation == 50 and res.sigma == best_sigma(val[:50], samples.float())
    res = chosen("--validation", "all")
    assert res.n_validation == 2000 and res.sigma == best_sigma(val, samples.float())
