"""gannet doctor: each finding on a small run made to fail that way, healthy runs with no
failing finding, the live hook (its lines, metrics.jsonl, exact resume), and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import gannet
from gannet.cli import main
from gannet.config import Config
from gannet.data.synthetic import mixture_2d_modes
from gannet.doctor import Report, doctor, write_report
from gannet.doctor.collapse import collapse_onto_one_mode
from gannet.errors import GannetError
from gannet.training import resume_run, start_run

RING = [
    "data.name='mixture-2d'",
    "data.mixture='ring'",
    "data.n_samples=50000",
    "model.generator='mlp-g'",
    "model.discriminator='mlp-d'",
    "model.z_dim=2",
    "model.noise='normal'",
    "model.g_hidden=[32, 32]",
    "model.d_hidden=[32, 32]",
    "optim.name='adam'",
    "optim.lr=1e-3",
    "optim.betas=[0.5, 0.99]",
    "loss.name='non-saturating'",
    "train.batch_size=64",
    "train.epochs=1000",
    "train.log_every=25",
    "train.checkpoint_every=100",
    "train.progress='none'",
    "train.threads=1",
    "train.n_fixed_samples=4",
]
"""A small GAN on the 8-Gaussian ring; each run below changes a few keys."""

KINDS = {
    "healthy": ["loss.r1_gamma=0.1", "train.max_steps=300"],
    "healthy-hinge": ["loss.name='hinge'", "loss.spectral_norm=true", "train.max_steps=300"],
    "d-wins": [
        "loss.name='minimax'",
        "train.k=5",
        "optim.g_lr_scale=0.01",
        "train.log_every=5",
        "train.max_steps=100",
    ],
    "divergence": [
        "optim.name='paper-sgd'",
        "optim.lr=50",
        "train.log_every=5",
        "train.max_steps=60",
    ],
    "oscillation": [
        "train.schedule='simultaneous'",
        "optim.lr=1e-2",
        "optim.betas=[0.9, 0.999]",
        "train.log_every=10",
        "train.max_steps=300",
    ],
    "mode-collapse": ["optim.g_lr_scale=0.01", "train.max_steps=300"],
}


def train(path: Path, kind: str, *extra: str) -> Path:
    """Train the run ``kind`` in ``path`` (a diverging run stops with its GannetError)."""
    config = Config().with_overrides([*RING, *KINDS[kind], *extra])
    try:
        trainer = start_run(config, path)
        if kind == "mode-collapse":  # G starts on one mode; at 1/100 of D's lr it stays there
            collapse_onto_one_mode(trainer.G, mixture_2d_modes("ring")[0][0])
        trainer.fit()
    except GannetError as e:
        assert "diverged" in str(e)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind trained once for the module (a few seconds each)."""
    root = tmp_path_factory.mktemp("doctor")
    return {kind: train(root / kind, kind) for kind in KINDS}


@pytest.fixture(scope="module")
def reports(runs: dict[str, Path]) -> dict[str, Report]:
    return {kind: doctor(path) for kind, path in runs.items()}


def failing(report: Report) -> set[str]:
    return {f.name for f in report.failing}


@pytest.mark.parametrize("kind", ["d-wins", "divergence", "oscillation", "mode-collapse"])
def test_a_run_made_to_fail_is_named(reports: dict[str, Report], kind: str) -> None:
    report = reports[kind]
    assert kind in failing(report), report.text()
    finding = report.finding(kind)
    assert finding.remedies and finding.why and finding.evidence
    assert report.verdict.startswith("failing: ") and kind in report.verdict


@pytest.mark.parametrize("kind", ["healthy", "healthy-hinge"])
def test_healthy_ring_has_no_failing_finding(reports: dict[str, Report], kind: str) -> None:
    """Non-saturating + R1, and hinge + spectral norm (slow tests: grid-r1, the paper's MNIST
    model with EMA)."""
    report = reports[kind]
    assert not report.failing, report.text()
    assert report.finding("mode-collapse").judged and report.finding("d-overfits").judged


def test_evidence_names_where_and_what(reports: dict[str, Report]) -> None:
    div = reports["divergence"].finding("divergence")
    assert div.began is not None and div.evidence["non_finite"]
    json.dumps(reports["divergence"].to_dict(), allow_nan=False)  # NaN written as null
    wins = reports["d-wins"].finding("d-wins")
    assert wins.evidence["saturated_intervals_now"] >= 10
    assert wins.evidence["last_d_fake"] < 0.01 and wins.began is not None
    assert "--set loss.name='non-saturating'" in wins.remedies


def test_the_live_hook_logs_findings_and_warns_once(runs: dict[str, Path]) -> None:
    records = [json.loads(x) for x in (runs["d-wins"] / "metrics.jsonl").read_text().splitlines()]
    flagged = [r["step"] for r in records if r.get("doctor", {}).get("d-wins") == "failing"]
    assert flagged and flagged == [r["step"] for r in records if r["step"] >= flagged[0]]
    healthy = (runs["healthy"] / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(x).get("doctor", {}).get("mode-collapse") != "failing" for x in healthy)


def test_report_files_and_cli(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    run = runs["d-wins"]
    assert main(["doctor", str(run), "--no-samples"]) == 0
    out = capsys.readouterr().out
    assert "verdict  failing: d-wins" in out and "try: --set" in out
    saved = json.loads((run / "eval" / "doctor.json").read_text())
    assert saved["verdict"].startswith("failing") and saved["findings"][0]["name"]
    assert (run / "doctor.png").stat().st_size > 1000
    assert "<table" in (run / "doctor.html").read_text()
    assert main(["info", str(run)]) == 0
    assert "doctor       failing: d-wins" in capsys.readouterr().out


def test_python_api_is_exported(runs: dict[str, Path]) -> None:
    assert gannet.doctor is doctor
    assert gannet.doctor(runs["healthy"], samples=False).finding("d-wins").judged


# ------------------------------------------------------------------ bad input


def test_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(GannetError, match="not a gannet run directory"):
        doctor(tmp_path)
    assert main(["doctor", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("config.toml", "run.json", "metrics.jsonl"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_no_metrics_yet_and_still_training(runs: dict[str, Path], tmp_path: Path) -> None:
    run = copy_run(runs["healthy"], tmp_path / "run")
    (run / "metrics.jsonl").unlink()
    status = json.loads((run / "run.json").read_text())
    status["status"] = "running"
    (run / "run.json").write_text(json.dumps(status))
    report = doctor(run)
    assert report.verdict.startswith("not judged")
    notes = " ".join(report.notes)
    assert "no metrics lines yet" in notes and "still training" in notes
    assert "no checkpoint" in notes  # the sample checks say why they were not made
    write_report(report)
    assert (run / "eval" / "doctor.json").is_file()


def test_damaged_line_is_skipped_and_said(runs: dict[str, Path], tmp_path: Path) -> None:
    run = copy_run(runs["d-wins"], tmp_path / "run")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines.insert(3, '{"step": 17, "d_lo')
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    report = doctor(run, samples=False)
    assert "1 damaged line(s)" in " ".join(report.notes)
    assert "d-wins" in failing(report)


# ------------------------------------------------------------------ training untouched


def weights(trainer) -> list[torch.Tensor]:
    return [*trainer.G.state_dict().values(), *trainer.D.state_dict().values()]


def test_hook_on_changes_nothing_and_resume_is_exact(tmp_path: Path) -> None:
    """The d-wins recipe (its lines fire): uninterrupted with the doctor, killed at step 50
    and resumed, and with the doctor off: the same weights bit for bit, the same findings."""

    def config(*extra: str) -> Config:
        return Config().with_overrides([*RING, *KINDS["d-wins"], *extra])

    whole = start_run(config(), tmp_path / "whole")
    whole.fit()
    first = start_run(config("train.max_steps=50", "train.checkpoint_every=25"), tmp_path / "cut")
    first.fit()
    resumed = resume_run(tmp_path / "cut", ["train.max_steps=100"])
    resumed.fit()
    off = start_run(config("train.doctor=false"), tmp_path / "off")
    off.fit()
    for other in (resumed, off):
        for a, b in zip(weights(whole), weights(other), strict=True):
            assert torch.equal(a, b)

    def findings(run: str) -> list:
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r.get("doctor")) for r in map(json.loads, lines)]

    assert findings("whole") == findings("cut")
    assert any(d for _, d in findings("whole")) and not any(d for _, d in findings("off"))


# ------------------------------------------------------------------ sample-based detectors


def test_overfitting_d_is_judged_by_how_it_separates_the_sets() -> None:
    """The detector alone (a real run made to overfit: benchmarks/doctor.py, slow)."""
    from gannet.doctor import overfit

    gen = torch.Generator().manual_seed(0)
    held = torch.randn(1000, generator=gen) + 4.0
    same = overfit.detect(torch.randn(1000, generator=gen) + 4.0, held)
    apart = overfit.detect(torch.randn(1000, generator=gen) + 6.0, held)
    assert same.severity == "ok" and abs(same.evidence["auc_train_vs_held_out"] - 0.5) < 0.05
    assert apart.severity == "failing" and apart.evidence["auc_train_vs_held_out"] > 0.9
    # r_t is 1 on both sets here: ADA's sign alone would not see it
    assert apart.evidence["r_t_train"] == apart.evidence["r_t_held_out"] == 1.0
    assert not overfit.detect(None, held).judged


def test_memorisation_compares_nearest_training_distances() -> None:
    from gannet.doctor import memorisation

    gen = torch.Generator().manual_seed(0)
    held = torch.rand(500, generator=gen) + 1.0
    assert memorisation.detect(held * 0.2, held, image=True).severity == "failing"
    assert memorisation.detect(held * 1.1, held, image=True).severity == "ok"
    assert not memorisation.detect(held, held, image=False).judged
