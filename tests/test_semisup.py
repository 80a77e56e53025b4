"""The semi-supervised GAN (Salimans et al. 2016): its costs against hand-computed numbers,
the labelled subset (balanced, seed-determined, from the training split only), exact resume,
``gannet eval classify``, and bad configs refused in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.game.losses import SemiSupervised, make_loss
from gannet.training import SemiSupervisedTrainer, resume_run, start_run, trainer_class
from gannet.training.semisup import d_ema_decay, labelled_rows


def test_semi_supervised_cost_on_a_hand_computed_batch() -> None:
    loss = make_loss("semi-supervised")
    assert isinstance(loss, SemiSupervised)
    lab = torch.tensor([[0.0, math.log(3.0)], [math.log(2.0), 0.0]])  # exp sums 4 and 3
    labels = torch.tensor([1, 1])
    real = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # Z = 2 and 4
    fake = torch.tensor([[math.log(0.5), math.log(0.5)], [0.0, math.log(2.0)]])  # Z = 1, 3
    # Cross-entropy: -log(3/4) and -log(1/3).
    supervised = (-math.log(3 / 4) - math.log(1 / 3)) / 2
    # D(x) = Z / (Z + 1): real rows 2/3 and 4/5, fake rows 1/2 and 3/4.
    unsupervised = 0.5 * (
        -(math.log(2 / 3) + math.log(4 / 5)) / 2 - (math.log(1 - 1 / 2) + math.log(1 - 3 / 4)) / 2
    )
    assert float(loss.supervised_cost(lab, labels)) == pytest.approx(supervised, rel=1e-6)
    assert float(loss.unsupervised_cost(real, fake)) == pytest.approx(unsupervised, rel=1e-6)
    total = loss.semi_supervised_cost(lab, labels, real, fake)
    assert float(total) == pytest.approx(supervised + unsupervised, rel=1e-6)
    # The real/fake logit is log Z; d_cost/value read it as the 2014 losses do.
    lse = real.logsumexp(1)
    assert lse.tolist() == pytest.approx([math.log(2.0), math.log(4.0)], rel=1e-6)
    v = float(loss.value(lse, fake.logsumexp(1)))  # V = mean log D(x) + mean log(1 - D(G(z)))
    expected_v = (math.log(2 / 3) + math.log(4 / 5)) / 2 + (math.log(1 / 2) + math.log(1 / 4)) / 2
    assert v == pytest.approx(expected_v, rel=1e-6)
    with pytest.raises(GannetError, match="feature matching"):
        loss.g_cost(lse)


def test_feature_matching_on_a_hand_case() -> None:
    real = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])  # mean (2, 1, 0)
    fake = torch.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 3.0]])  # mean (0, 1, 2)
    # (4 + 0 + 4) / 3 features: the authors' mean over features.
    assert float(SemiSupervised.feature_matching(real, fake)) == pytest.approx(8.0 / 3)
    # Gradient of ||m_r - m_f||^2 / 3 w.r.t. each fake row: -2 (m_r - m_f) / (3 n).
    fake.requires_grad_(True)
    SemiSupervised.feature_matching(real, fake).backward()
    assert fake.grad is not None
    expected = np.tile(-2 * np.array([2.0, 0.0, -2.0]) / (3 * 2), (2, 1))
    np.testing.assert_allclose(fake.grad.numpy(), expected)


def test_salimans_d_gains_are_fixed_at_one_and_features_precede_the_last_noise() -> None:
    from gannet.models.salimans import SalimansDiscriminator, WNLinear

    torch.manual_seed(0)
    d = SalimansDiscriminator((1, 8, 8), [24, 16], 4).train()
    hidden = [m for m in d.body if isinstance(m, WNLinear)]
    assert len(hidden) == 2
    for layer in hidden:  # the hidden gains: buffers at 1, never trained
        assert torch.equal(layer.g, torch.ones_like(layer.g))
        assert all(p is not layer.g for p in d.parameters())
    assert any(p is d.output.g for p in d.parameters())  # the output layer's gain trains
    for layer in [*hidden, d.output]:  # directions v from N(0, 0.1^2)
        assert 0.08 < float(layer.v.std()) < 0.12
    x = torch.rand(64, 1, 8, 8)
    f = d.features(x)
    # After the last ReLU and before its noise: never negative, even in training mode
    # (noise added after the ReLU would make some entries negative).
    assert f.shape == (64, 16) and bool((f >= 0).all()) and bool((f > 0).any())
    d.eval()
    assert torch.equal(d(x), d.output(d.features(x)))  # no noise in evaluation mode


def test_d_average_ramps_up_to_its_decay() -> None:
    assert d_ema_decay(0.9999, 0) == pytest.approx(0.1)  # the first average is mostly D
    assert d_ema_decay(0.9999, 90) == pytest.approx(0.91)
    assert d_ema_decay(0.9999, 10**6) == 0.9999  # then the configured decay
    assert d_ema_decay(0.5, 100) == 0.5 and d_ema_decay(0.5, 5) == pytest.approx(6 / 15)


def labelled_data(n: int = 240, classes: int = 4) -> Dataset:
    """Training rows whose brightness encodes their label; a test split of NaN images with
    impossible labels (99): a loop that touched either would fail or go NaN."""
    labels = torch.arange(n) % classes
    gen = torch.Generator().manual_seed(0)
    noise = 0.05 * torch.rand(n, 1, 8, 8, generator=gen)
    images = ((labels.float() + 1) / 8).view(n, 1, 1, 1) + noise
    return Dataset(
        "tiny-labelled",
        images,
        test=torch.full((40, 1, 8, 8), float("nan")),
        train_labels=labels,
        test_labels=torch.full((40,), 99),
        num_classes=classes,
        source="memory",
    )


def semi_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "data.labels=8",
            "model.generator='salimans-g'",
            "model.discriminator='salimans-d'",
            "model.z_dim=4",
            "model.g_hidden=[16]",
            "model.d_hidden=[24, 16]",
            "model.d_classes=4",
            "loss.name='semi-supervised'",
            "optim.name='adam'",
            "optim.lr=0.003",
            "train.batch_size=20",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.mode_check=false",
            *extra,
        ]
    )


def test_labelled_subset_is_balanced_seeded_and_from_the_training_split() -> None:
    data = labelled_data()
    assert data.train_labels is not None
    rows = labelled_rows(data, 12, seed=3)
    assert len(rows) == 12 and len(set(rows.tolist())) == 12
    assert torch.bincount(data.train_labels[rows], minlength=4).tolist() == [3, 3, 3, 3]
    assert torch.equal(rows, labelled_rows(data, 12, seed=3))  # the seed fixes them
    assert not torch.equal(rows, labelled_rows(data, 12, seed=4))
    assert int(rows.max()) < len(data.train)  # indices into the training split

    trainer = SemiSupervisedTrainer(semi_config("train.seed=3", "data.labels=12"), data)
    assert torch.equal(trainer.labelled_index, rows)  # chosen by train.seed
    assert torch.equal(trainer.x_labelled, data.train[rows])
    assert torch.equal(trainer.y_labelled, data.train_labels[rows])
    assert trainer.batches.y is None  # the unlabelled stream carries no labels at all
    assert torch.equal(trainer.batches.x, data.train)  # and no test rows
    for _ in range(15):  # NaN test images or label 99 would surface here if used
        trainer.step()
    for p in [*trainer.D.parameters(), *trainer.G.parameters()]:
        assert torch.isfinite(p).all()


def test_trainer_class_and_exact_resume(tmp_path: Path) -> None:
    config = semi_config(
        "train.max_steps=8", "train.log_every=100", "train.checkpoint_every=100", "train.d_ema=0.9"
    )
    assert trainer_class(config) is SemiSupervisedTrainer
    assert trainer_class(Config()) is not SemiSupervisedTrainer
    whole = start_run(config, tmp_path / "whole", labelled_data())
    assert isinstance(whole, SemiSupervisedTrainer)
    whole.fit()
    half = config.with_overrides(["train.max_steps=3"])  # stops mid-epoch (12 per epoch)
    start_run(half, tmp_path / "split", labelled_data()).fit()
    resumed = resume_run(tmp_path / "split", ["train.max_steps=8"], labelled_data())
    assert isinstance(resumed, SemiSupervisedTrainer)
    resumed.fit()
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert not torch.equal(  # D's average is kept, and is not D itself
        a["discriminator_ema"]["output.v"], a["discriminator"]["output.v"]
    )
    for part in ("generator", "discriminator", "discriminator_ema"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)


def test_eval_classify_writes_its_json(
    mnist_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        "mnist-semisup",
        "--out",
        str(run),
        "--set",
        f"data.data_dir='{mnist_path}'",
        "--set",
        "data.subset=300",
        "--set",
        "model.g_hidden=[32]",
        "--set",
        "model.d_hidden=[32, 16]",
        "--set",
        "train.batch_size=50",
        "--set",
        "train.max_steps=4",
        "--set",
        "train.progress='none'",
        "--set",
        "train.snapshot_every=0",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["eval", "classify", str(run)]) == 0
    result = json.loads((run / "eval" / "classify.json").read_text())
    assert result["metric"] == "classify" and result["n"] == 10000  # the whole test split
    assert 0 <= result["test_error"] <= 1 and result["labels"] == 100
    assert result["errors"] == sum(result["per_class_errors"])
    assert result["test_error"] == pytest.approx(result["errors"] / 10000)
    assert result["weights"] == "average"  # the config keeps D's average (train.d_ema)
    assert main(["eval", "classify", str(run), "--raw"]) == 0
    raw = json.loads((run / "eval" / "classify-raw.json").read_text())
    assert raw["weights"] == "raw" and raw["n"] == 10000
    assert main(["info", str(run)]) == 0
    assert "eval classify" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.subset=300", "data.labels=400"], "more than the 300 training rows"),
        (["data.subset=300", "data.labels=105"], "does not divide into"),
        (["data.name='gaussian-1d'", "data.n_samples=400"], "needs a labelled dataset"),
        (["data.labels=0"], "needs data.labels"),
        (["loss.name='non-saturating'"], "data.labels is for"),
        (["loss.name='non-saturating'", "data.labels=0", "train.d_ema=0.99"], "train.d_ema"),
        (["train.schedule='simultaneous'"], "does not support"),
    ],
)
def test_bad_semi_supervised_configs_get_one_line(
    mnist_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: list[str],
    message: str,
) -> None:
    out = tmp_path / "run"
    args = ["train", "mnist-semisup", "--out", str(out), "--set", f"data.data_dir='{mnist_path}'"]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_eval_classify_refuses_a_run_that_is_not_semi_supervised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import mixture_config

    run = tmp_path / "ring"
    start_run(mixture_config("train.max_steps=2", "train.mode_check=false"), run).fit()
    capsys.readouterr()
    assert main(["eval", "classify", str(run)]) == 2
    err = capsys.readouterr().err
    assert "is not a classifier" in err and len(err.strip().splitlines()) == 1
    assert not (run / "eval" / "classify.json").exists()


def test_linear_probe_fits_separable_classes_and_ignores_constant_features() -> None:
    from gannet.metrics.probe import fit_probe

    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    y = torch.arange(300) % 3
    x = centres[y] + 0.5 * torch.randn(300, 2, generator=gen)
    x = torch.cat([x, torch.ones(300, 1)], 1)  # a constant feature: no scale to divide by
    probe = fit_probe(x[:150], y[:150], 3, l2=1e-3)
    assert probe.error(x[150:], y[150:]) == 0.0
    assert torch.isfinite(probe.logits(x)).all() and float(probe.weight[:, 2].abs().max()) == 0
    assert torch.equal(fit_probe(x[:150], y[:150], 3, l2=1e-3).weight, probe.weight)
    shuffled = y[:150][torch.randperm(150, generator=gen)]  # labels unrelated to the rows
    assert fit_probe(x[:150], shuffled, 3, l2=1e-3).error(x[150:], y[150:]) > 0.4
