"""The trainer's mode-coverage check on 2-D mixtures: metrics, the warning when coverage
falls (the live doctor's mode-collapse finding), its cost rule, and that it leaves training
(and exact resume) untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from gannet.config import Config
from gannet.data.synthetic import mixture_2d_modes
from gannet.files.rundir import read_metrics
from gannet.training import Trainer, resume_run, start_run
from gannet.training.hooks import LiveDoctor, ModeMonitor
from gannet.training.hooks.modes import MODE_CHECK_SAMPLES

WARNING = "gannet: warning: mode collapse: mode coverage fell"


def ring(overrides: list[str] | None = None) -> Config:
    """A tiny GAN on the 8-Gaussian ring: 312 steps per epoch, a few ms each."""
    return Config().with_overrides(
        [
            "data.name='mixture-2d'",
            "data.mixture='ring'",
            "data.n_samples=20000",
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=2",
            "model.noise='normal'",
            "model.g_hidden=[16, 16]",
            "model.d_hidden=[16, 16]",
            "optim.name='adam'",
            "optim.lr=2e-4",
            "train.batch_size=64",
            "train.epochs=100",
            "train.max_steps=150",
            "train.log_every=25",
            "train.checkpoint_every=1000",
            "train.progress='lines'",
            "train.threads=1",
            "train.n_fixed_samples=16",
            *(overrides or []),
        ]
    )


def points_on_modes(n: int, k: int, kind: str = "ring") -> Tensor:
    """n points exactly on the first k mode centres, in turn (all high quality)."""
    centres, _ = mixture_2d_modes(kind)
    return centres[torch.arange(n) % k]


class Scripted(nn.Module):
    """Wraps the real generator: training is untouched, but the mode check (eval mode, 2,500
    rows) sees points on ``script[i]`` modes at its i-th call (the last entry repeats)."""

    def __init__(self, inner: nn.Module, script: list[int]) -> None:
        super().__init__()
        self.inner = inner
        self.script = script
        self.calls = 0

    def forward(self, z: Tensor) -> Tensor:
        out: Tensor = self.inner(z)
        if self.training or z.shape[0] != MODE_CHECK_SAMPLES:
            return out
        k = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return points_on_modes(z.shape[0], k).to(out)


def monitored(config: Config, dataset=None) -> Trainer:
    """A trainer with the mode monitor as its only hook (no run folder)."""
    return Trainer(config, dataset, hooks=[ModeMonitor()])


def monitor(trainer: Trainer) -> ModeMonitor:
    found = trainer.hooks.find(ModeMonitor)
    assert found is not None
    return found


def metrics_of(trainer: Trainer) -> list[dict]:
    return read_metrics(trainer.run_dir / "metrics.jsonl")


def scripted_run(tmp_path: Path, script: list[int], capsys: pytest.CaptureFixture[str]):
    trainer = start_run(ring(), tmp_path / "run")
    # Same parameters, so the optimizer built on the real G still trains them.
    trainer.G = Scripted(trainer.G, script)
    trainer.fit()
    out = capsys.readouterr().out
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    return trainer, out, records


def warnings_in(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(WARNING)]


def test_warns_once_per_fall(tmp_path, capsys):
    # Checks at steps 25, 50, ..., 150: 8, 7 (a fall of 1: quiet), 1 (warn), 1 (same fall:
    # quiet), 8 (recovered), 6 (a new fall: warn again).
    trainer, out, records = scripted_run(tmp_path, [8, 7, 1, 1, 8, 6], capsys)
    assert [r["modes_covered"] for r in records] == [8, 7, 1, 1, 8, 6]
    assert all(r["n_modes"] == 8 for r in records)
    assert records[0]["high_quality"] == 1.0
    warned = warnings_in(out)
    assert len(warned) == 2, out
    assert "fell from 8 to 1 of 8 modes at step 75" in warned[0]
    assert "fell from 8 to 6 of 8 modes at step 150" in warned[1]
    for line in warned:  # a concrete hint
        assert "train.k" in line and "loss.spectral_norm" in line and "optim.lr" in line
    assert "modes 1/8 |" in out  # the log lines show the coverage too
    assert trainer.G.calls == 6  # one check per logging interval (log_every = 25)


def test_no_warning_when_coverage_holds(tmp_path, capsys):
    _, out, records = scripted_run(tmp_path, [3, 5, 8, 7, 8, 7], capsys)
    assert not warnings_in(out), out
    assert [r["modes_covered"] for r in records] == [3, 5, 8, 7, 8, 7]


def test_real_run_records_coverage_without_warning(tmp_path, capsys):
    """A short real run: the metrics carry the coverage and nothing is flagged."""
    trainer = start_run(ring(["train.max_steps=100"]), tmp_path / "run")
    trainer.fit()
    out = capsys.readouterr().out
    assert not warnings_in(out), out
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [25, 50, 75, 100]
    for r in records:
        assert isinstance(r["modes_covered"], int) and 0 <= r["modes_covered"] <= 8
        assert 0.0 <= r["high_quality"] <= 1.0


def test_check_uses_eval_generator_and_leaves_the_rng_alone(tmp_path):
    trainer = monitored(ring(["train.ema=0.9"]))
    assert trainer.G_ema is not None
    trainer.G_ema = Scripted(trainer.G_ema, [8])
    trainer.G = Scripted(trainer.G, [1])
    trainer.G_ema.train()
    before = torch.get_rng_state()
    stats = monitor(trainer).check(trainer)
    assert torch.equal(before, torch.get_rng_state())
    assert stats.modes_covered == 8 and stats.n_modes == 8  # the EMA generator, not G
    assert trainer.G_ema.training  # its mode is restored
    assert trainer.G.calls == 0


def test_collapsed_generator_is_measured(tmp_path):
    """The real generator with its last layer zeroed and biased onto one mode."""
    trainer = monitored(ring())
    last = [m for m in trainer.G.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(points_on_modes(1, 1)[0])
    stats = monitor(trainer).check(trainer)
    assert (stats.modes_covered, stats.high_quality_fraction) == (1, 1.0)
    first = monitor(trainer).check(trainer)
    assert first == stats  # fixed noise: the same answer at every call


def test_check_every_and_switch(tmp_path):
    assert monitored(ring(["train.log_every=10"])).hooks.find(ModeMonitor).every == 30
    assert monitored(ring(["train.log_every=50"])).hooks.find(ModeMonitor).every == 50
    off = monitored(ring(["train.mode_check=false"]))
    assert monitor(off).kind is None and monitor(off).check(off) is None
    grid = monitored(ring(["data.mixture='grid'"]))
    assert monitor(grid).kind == "grid" and monitor(grid).check(grid).n_modes == 25


def test_conditional_generator_gets_every_class(tmp_path):
    trainer = monitored(ring(["model.conditional=true"]))
    assert monitor(trainer).y is not None
    counts = torch.bincount(monitor(trainer).y, minlength=8)
    assert counts.numel() == 8 and int(counts.max() - counts.min()) <= 1
    stats = monitor(trainer).check(trainer)
    assert stats is not None and stats.n_samples == MODE_CHECK_SAMPLES


def test_no_check_on_other_data(tmp_path, tiny_images):
    config = Config().with_overrides(
        ["model.g_hidden=[16]", "model.d_hidden=[8]", "train.batch_size=50"]
    )
    trainer = monitored(config, tiny_images)
    assert monitor(trainer).kind is None and monitor(trainer).check(trainer) is None


def test_resume_is_bit_exact_and_replays_the_best(tmp_path, capsys):
    """Stopped mid-epoch and resumed: the same weights and the same metrics as one run; and
    the same weights again with the check off."""
    reference = start_run(ring(), tmp_path / "reference")
    reference.fit()
    first = start_run(ring(["train.max_steps=50"]), tmp_path / "run")
    first.fit()
    resumed = resume_run(tmp_path / "run", ["train.max_steps=150"])
    doctor = resumed.hooks.find(LiveDoctor)  # the records so far, replayed for its findings
    assert doctor.history.steps == [r["step"] for r in metrics_of(resumed)] == [25, 50]
    resumed.fit()
    unchecked = start_run(ring(["train.mode_check=false"]), tmp_path / "unchecked")
    unchecked.fit()
    capsys.readouterr()
    assert "modes_covered" not in metrics_of(unchecked)[0]
    for other in (resumed, unchecked):  # the check changes no weight
        for a, b in ((reference.G, other.G), (reference.D, other.D)):
            for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
                assert torch.equal(p, q), name
    ref_metrics = [
        {k: r[k] for k in ("step", "modes_covered", "high_quality", "d_loss")}
        for r in metrics_of(reference)
    ]
    run_metrics = [
        {k: r[k] for k in ("step", "modes_covered", "high_quality", "d_loss")}
        for r in metrics_of(resumed)
    ]
    assert run_metrics == ref_metrics


def test_image_runs_check_class_coverage_with_a_cached_classifier(tmp_path, monkeypatch):
    """An MNIST-shaped run whose dataset has a cached classifier records the classes its
    samples cover; without a cached classifier it records nothing."""
    from gannet.data import Dataset
    from gannet.metrics.classifier import Classifier, ClassifierInfo, save_classifier

    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    gen = torch.Generator().manual_seed(0)
    data = Dataset("mnist", torch.rand(200, 1, 28, 28, generator=gen), source="memory")
    config = Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "train.batch_size=50",
            "train.log_every=2",
            "train.progress='none'",
            "train.n_fixed_samples=4",
        ]
    )
    plain = start_run(config, tmp_path / "plain", data)
    assert monitor(plain).kind is None and monitor(plain).check(plain) is None

    torch.manual_seed(0)
    save_classifier(Classifier(), ClassifierInfo(dataset="mnist", test_accuracy=0.0))
    trainer = start_run(config, tmp_path / "run", data)
    assert monitor(trainer).kind == "classes" and monitor(trainer).every == 1000
    stats = monitor(trainer).check(trainer)
    assert stats is not None and sum(stats.counts) == 1000 and stats.n_classes == 10
    trainer.progress.step = 1000
    record: dict = {}
    monitor(trainer).on_measure(trainer, record)
    assert record["modes_covered"] == stats.classes_covered
    assert record["n_modes"] == 10 and "class_kl" in record
