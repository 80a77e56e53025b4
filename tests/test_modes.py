"""Mode-coverage metrics: 2-D mixtures, class histograms, and ``gannet eval modes`` on runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import entropy

import gannet
from gannet.cli import main
from gannet.config import Config
from gannet.data.synthetic import mixture_2d_modes, mixture_2d_sample
from gannet.errors import GannetError
from gannet.files.samplefile import load_points_npz
from gannet.metrics import METRICS
from gannet.metrics.modes import (
    ClassStats,
    ModeStats,
    class_stats,
    default_min_count,
    default_min_share,
    kl_from_uniform,
    mixture_mode_stats,
    mode_stats,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gannet", *args], capture_output=True, text=True, env=env
    )


def one_clear_line(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gannet: error: ") and fragment in lines[0], lines[0]


# --------------------------------------------------------------------------- mixtures


@pytest.mark.parametrize(("kind", "n_modes"), [("ring", 8), ("grid", 25)])
def test_real_mixture_samples_cover_every_mode(kind: str, n_modes: int) -> None:
    x, labels = mixture_2d_sample(2500, kind, gen(0))
    s = mixture_mode_stats(x, kind)
    assert (s.n_samples, s.n_modes, s.min_count) == (2500, n_modes, 1)
    assert s.modes_covered == n_modes and s.all_covered
    # P(||x - c|| <= 3 std) = 1 - exp(-9/2) = 98.9 % for an isotropic 2-D Gaussian.
    assert s.high_quality_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert 0 <= s.kl_uniform < 0.01
    # Each high-quality sample is assigned to the mode it was drawn from.
    centres, std = mixture_2d_modes(kind)
    good = (x - centres[labels]).norm(dim=1) <= 3 * std
    assert s.counts == torch.bincount(labels[good], minlength=n_modes).tolist()
    assert s.std == std and s.threshold == pytest.approx(3 * std) and s.kind == kind


@pytest.mark.parametrize("kind", ["ring", "grid"])
def test_three_modes_with_equal_counts(kind: str) -> None:
    centres, std = mixture_2d_modes(kind)
    picked = torch.tensor([0, 3, 5]).repeat_interleave(200)
    offsets = torch.randn(600, 2, generator=gen(1)).clamp(-1, 1) * std  # within 1.5 std
    s = mixture_mode_stats(centres[picked] + offsets, kind)
    assert s.modes_covered == 3 and s.high_quality == 600 and s.high_quality_fraction == 1.0
    assert s.kl_uniform == pytest.approx(math.log(len(centres) / 3), abs=1e-12)
    assert [i for i, c in enumerate(s.counts) if c] == [0, 3, 5]


def test_far_off_points_are_not_high_quality() -> None:
    far = 10.0 + torch.rand(500, 2, generator=gen(2))
    for kind in ("ring", "grid"):
        s = mixture_mode_stats(far, kind)
        assert s.high_quality == 0 and s.high_quality_fraction == 0.0 and s.modes_covered == 0
        assert math.isnan(s.kl_uniform) and sum(s.counts) == 0
        assert s.to_dict()["kl_uniform"] is None
        assert "KL n/a" in s.summary()
    # Between two ring modes (distance 1.53 apart): nearest-mode assignment works, but too far.
    centres, _ = mixture_2d_modes("ring")
    mid = (centres[0] + centres[1]).unsqueeze(0) / 2
    assert mixture_mode_stats(mid, "ring").high_quality == 0


def test_kl_formula_against_direct_computation() -> None:
    rng = np.random.default_rng(0)
    for m in (2, 8, 25):
        counts = rng.integers(0, 50, size=m)
        counts[rng.random(m) < 0.3] = 0
        counts[0] = max(counts[0], 1)
        p = counts / counts.sum()
        direct = sum(pi * math.log(pi / (1 / m)) for pi in p if pi > 0)
        assert kl_from_uniform(counts) == pytest.approx(direct, rel=1e-12, abs=1e-15)
        assert kl_from_uniform(torch.from_numpy(counts)) == pytest.approx(
            entropy(p, np.full(m, 1 / m)), rel=1e-12, abs=1e-15
        )
    assert kl_from_uniform([7, 7, 7, 7]) == 0.0
    assert kl_from_uniform([5, 0, 0, 0]) == pytest.approx(math.log(4), abs=1e-15)
    assert math.isnan(kl_from_uniform([0, 0, 0]))
    with pytest.raises(GannetError, match="non-negative"):
        kl_from_uniform([1, -1])


def test_min_count_default_scales_with_the_sample_count() -> None:
    assert [default_min_count(n) for n in (1, 100, 2500, 2501, 10000)] == [1, 1, 1, 2, 4]
    centres, _ = mixture_2d_modes("ring")
    # Mode 0 gets 3 high-quality samples, mode 1 gets 9997: with 10,000 samples a mode needs 4.
    pts = torch.cat([centres[0].expand(3, 2), centres[1].expand(9997, 2)])
    s = mixture_mode_stats(pts, "ring")
    assert s.min_count == 4 and s.counts[:2] == [3, 9997] and s.modes_covered == 1
    assert mixture_mode_stats(pts, "ring", min_count=3).modes_covered == 2
    with pytest.raises(GannetError, match="min_count"):
        mixture_mode_stats(pts, "ring", min_count=0)


def test_non_finite_samples_are_low_quality_and_chunking_does_not_matter() -> None:
    x, _ = mixture_2d_sample(1000, "grid", gen(3))
    x[:10] = float("nan")
    x[10:20] = float("inf")
    s = mixture_mode_stats(x, "grid")
    assert s.high_quality <= 980 and s.modes_covered == 25
    centres, std = mixture_2d_modes("grid")
    assert mode_stats(x, centres, std, kind="grid", chunk_size=7) == s
    assert mode_stats(x.numpy(), centres.numpy(), std, kind="grid") == s  # numpy works too
    assert mode_stats(x.reshape(1000, 1, 2), centres, std, kind="grid") == s


def test_bad_mixture_input() -> None:
    with pytest.raises(GannetError, match="2-dimensional"):
        mixture_mode_stats(torch.rand(10, 3), "ring")
    with pytest.raises(GannetError, match=r"unknown data\.mixture 'spiral'"):
        mixture_mode_stats(torch.rand(10, 2), "spiral")
    with pytest.raises(GannetError, match="empty"):
        mixture_mode_stats(torch.rand(0, 2), "ring")
    with pytest.raises(GannetError, match="batch"):
        mixture_mode_stats(torch.rand(2), "ring")
    with pytest.raises(GannetError, match="std"):
        mode_stats(torch.rand(4, 2), torch.zeros(1, 2), 0.0)


def test_registered_and_json_roundtrip() -> None:
    assert METRICS.get("modes-2d") is mixture_mode_stats
    assert "modes-classifier" in METRICS and "parzen" in METRICS
    x, _ = mixture_2d_sample(300, "ring", gen(4))
    s = mixture_mode_stats(x, "ring")
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert ModeStats.from_dict(d) == s
    far = mixture_mode_stats(torch.full((3, 2), 9.0), "ring")
    back = ModeStats.from_dict(json.loads(json.dumps(far.to_dict(), allow_nan=False)))
    assert math.isnan(back.kl_uniform) and back.counts == far.counts


# --------------------------------------------------------------------------- class histograms


def test_class_stats() -> None:
    assert default_min_share(10) == pytest.approx(0.01)
    pred = torch.cat([torch.arange(10).repeat(99), torch.tensor([3] * 9 + [4] * 10)])  # 1009
    s = class_stats(pred, 10)
    # min_count = ceil(0.01 * 1009) = 11: classes 0..9 have 99 (108 for 3, 109 for 4).
    assert s.min_count == 11 and s.classes_covered == 10 and s.accuracy is None
    only = torch.cat([torch.zeros(500), torch.ones(495), torch.full((5,), 7)]).long()
    s = class_stats(only, 10, labels=torch.zeros(1000))
    assert s.min_count == 10 and s.classes_covered == 2 and s.counts[7] == 5
    assert s.accuracy == pytest.approx(0.5)
    p = np.array([500, 495, 5]) / 1000
    assert s.kl_uniform == pytest.approx(float((p * np.log(p * 10)).sum()), rel=1e-12)
    assert class_stats(only, 10, min_share=0.005).classes_covered == 3
    assert ClassStats.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(GannetError, match="outside"):
        class_stats(torch.tensor([0, 10]), 10)
    with pytest.raises(GannetError, match="integer"):
        class_stats(torch.rand(5), 10)
    with pytest.raises(GannetError, match="min_share"):
        class_stats(torch.tensor([0]), 10, min_share=0.0)


# --------------------------------------------------------------------------- sample files


def test_load_points_npz(tmp_path: Path) -> None:
    pts = np.random.default_rng(0).normal(size=(7, 2)) * 3
    np.savez(tmp_path / "p.npz", samples=pts)
    assert torch.equal(load_points_npz(tmp_path / "p.npz"), torch.from_numpy(pts))
    with pytest.raises(GannetError, match="does not exist"):
        load_points_npz(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(GannetError, match="cannot read"):
        load_points_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "two.npz", a=pts, b=pts)
    with pytest.raises(GannetError, match="several arrays"):
        load_points_npz(tmp_path / "two.npz")
    np.savez(tmp_path / "flat.npz", samples=np.zeros(3))
    with pytest.raises(GannetError, match="shape"):
        load_points_npz(tmp_path / "flat.npz")


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def mixture_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny mixture-2d run (a few generator steps), trained once for the module."""
    out = tmp_path_factory.mktemp("modes") / "run"
    config = Config().with_overrides(
        [
            'data.name="mixture-2d"',
            "data.n_samples=1000",
            'model.generator="mlp-g"',
            'model.discriminator="mlp-d"',
            "model.z_dim=4",
            "model.g_hidden=[16]",
            "model.d_hidden=[16]",
            'optim.name="adam"',
            "optim.lr=0.001",
            "train.max_steps=5",
            "train.n_fixed_samples=16",
            "train.progress='none'",
        ]
    )
    gannet.train(config, out=out)
    return out


def test_eval_modes_on_a_mixture_run(mixture_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "modes", str(mixture_run), "--samples", "600", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "mixture-2d ring  modes " in out and "real test data" in out
    result = json.loads((mixture_run / "eval" / "modes.json").read_text())
    assert result["metric"] == "modes-2d" and result["mixture"] == "ring"
    assert result["n_samples"] == 600 and result["n_modes"] == 8 and result["seed"] == 1
    assert result["checkpoint"].endswith("checkpoint.pt")
    samples = gannet.load_run(mixture_run).sample(600, seed=1)
    expected = mixture_mode_stats(samples, "ring").to_dict()  # to_dict: NaN -> None
    assert {k: result[k] for k in expected} == expected
    ref = result["reference"]
    assert ref["split"] == "test" and ref["modes_covered"] == 8 and ref["n_samples"] == 600
    assert ref["high_quality_fraction"] > 0.97 and ref["kl_uniform"] < 0.02
    assert main(["info", str(mixture_run)]) == 0
    assert "eval modes" in capsys.readouterr().out


def test_eval_modes_on_a_samples_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    centres, _ = mixture_2d_modes("grid")
    np.savez(tmp_path / "s.npz", samples=centres[:5].repeat(20, 1).numpy())
    out = tmp_path / "m.json"
    args = ["eval", "modes", "--samples-file", str(tmp_path / "s.npz"), "--data", "mixture-2d"]
    assert main([*args, "--mixture", "grid", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["modes_covered"] == 5 and result["n_modes"] == 25 and result["seed"] is None
    assert result["kl_uniform"] == pytest.approx(math.log(5), abs=1e-12)
    assert result["reference"]["n_samples"] == 100
    capsys.readouterr()
    # Without --out, nothing is written (there is no run folder).
    assert main(args) == 0
    assert "modes 0/8" in capsys.readouterr().out  # the default mixture is the ring


def test_eval_modes_errors(
    mixture_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["eval", "modes"], "give a RUN folder"),
        (["eval", "modes", str(mixture_run), "--samples", "0"], "--samples must be"),
        (["eval", "modes", str(mixture_run), "--min-share", "0.1"], "--min-share is for image"),
        (["eval", "modes", str(mixture_run), "--data", "mnist"], "--data and --mixture"),
        (["eval", "modes", "--samples-file", "x.npz"], "needs --data"),
        (
            ["eval", "modes", "--samples-file", str(tmp_path / "x.npz"), "--data", "gaussian-1d"],
            "'gaussian-1d' is neither",
        ),
        (["eval", "modes", str(tmp_path / "missing")], "does not exist"),
    ]
    for args, fragment in cases:
        capsys.readouterr()
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("gannet: error: ") and fragment in err and "\n" not in err, err
    # A failing evaluation leaves the earlier result alone; one line, no traceback.
    assert main(["eval", "modes", str(mixture_run), "--samples", "50"]) == 0
    written = (mixture_run / "eval" / "modes.json").read_bytes()
    proc = run_cli("eval", "modes", str(mixture_run), "--min-count", "0")
    one_clear_line(proc, "--min-count must be at least 1")
    assert (mixture_run / "eval" / "modes.json").read_bytes() == written
