"""The trainer end to end: real MNIST, both schedules, and the run directory it writes."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

import gannet
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.files.rundir import read_metrics
from gannet.training import epoch_permutation, resume_run, start_run


def small(overrides: list[str] | None = None) -> Config:
    """The paper's model, narrowed so a run takes a second or two."""
    return Config().with_overrides(
        [
            "model.g_hidden=[64, 64]",
            "model.d_hidden=[32, 32]",
            "train.batch_size=50",
            "train.epochs=2",
            "train.log_every=2",
            "train.progress='none'",
            "train.n_fixed_samples=16",
            *(overrides or []),
        ]
    )


def test_integration_mnist_subset(mnist_path, tmp_path):
    """A few hundred steps of the paper's MNIST GAN on 2,000 real images."""
    config = Config().with_overrides(
        [
            f"data.data_dir={json.dumps(str(mnist_path))}",
            "data.subset=2000",
            "train.epochs=15",
            "train.log_every=20",
            "train.progress='none'",
            "train.snapshot_every=5",
            "train.epoch_end_steps=1",  # a grid and checkpoint at every (20-step) epoch end
        ]
    )
    run = gannet.train(config, out=tmp_path / "run")
    assert (run.step, run.epoch) == (300, 15)
    metrics = run.metrics
    assert len(metrics) == 15
    keys = {
        "epoch",
        "step",
        "d_loss",
        "g_loss",
        "value",
        "d_real",
        "d_fake",
        "grad_norm_g",
        "grad_norm_d",
        "lr",
        "momentum",
        "images_per_s",
        "wall_time",
    }
    assert keys <= set(metrics[0])
    # The losses move away from the start (D learns to tell real from fake).
    first, last = metrics[0], metrics[-1]
    assert abs(last["d_loss"] - first["d_loss"]) > 0.05
    assert last["d_real"] > last["d_fake"]
    assert all(math.isfinite(m["g_loss"]) for m in metrics)
    assert metrics[-1]["lr"] < 0.1
    # Samples, curves and checkpoints.
    for epoch in (1, 15):
        assert (run.path / "samples" / f"epoch-{epoch:04d}.png").stat().st_size > 1000
    assert (run.path / "curves.png").is_file()
    assert (run.path / "checkpoint.pt").is_file()
    assert sorted(p.name for p in (run.path / "snapshots").iterdir()) == [
        "epoch-0005.pt",
        "epoch-0010.pt",
        "epoch-0015.pt",
    ]
    samples = run.sample(8)
    assert samples.shape == (8, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    status = json.loads((run.path / "run.json").read_text())
    assert status["status"] == "finished" and status["train_examples"] == 2000
    assert str(mnist_path) in status["data_source"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """G's weights after the small run with a schedule and a seed (``again`` > 0: trained
    again from scratch); each run is trained once for the module."""
    gen = torch.Generator().manual_seed(0)
    data = Dataset("tiny", torch.rand(400, 1, 8, 8, generator=gen), source="memory")
    cache: dict[tuple[str, int, int], list[torch.Tensor]] = {}

    def weights(schedule: str, seed: int = 0, again: int = 0) -> list[torch.Tensor]:
        key = (schedule, seed, again)
        if key not in cache:
            config = small([f"train.schedule='{schedule}'", f"train.seed={seed}"])
            out = tmp_path_factory.mktemp("seeds") / "run"
            run = gannet.train(config, out=out, dataset=data)
            cache[key] = [p.detach() for p in run.generator.parameters()]
        return cache[key]

    return weights


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(pa, pb) for pa, pb in zip(a, b, strict=True))


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_same_seed_same_weights(trained, schedule):
    assert same(trained(schedule), trained(schedule, again=1))


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_the_seed_alone_changes_the_weights(trained, schedule):
    assert not same(trained(schedule), trained(schedule, seed=1))


def test_the_schedule_alone_changes_the_weights(trained):
    """Same seed, so the same initial weights, noise stream and data order."""
    assert not same(trained("alternating"), trained("simultaneous"))


def test_k_discriminator_steps_per_generator_step(tiny_images, tmp_path):
    config = small(["train.k=3", "train.epochs=1"])
    trainer = start_run(config, tmp_path / "run", tiny_images)
    calls = {"d": 0, "g": 0}
    d_step, g_step = trainer.opt_d.step, trainer.opt_g.step

    def count_d(*a, **k):
        calls["d"] += 1
        return d_step(*a, **k)

    def count_g(*a, **k):
        calls["g"] += 1
        return g_step(*a, **k)

    trainer.opt_d.step, trainer.opt_g.step = count_d, count_g
    trainer.fit()
    # 400 examples / 50 per batch = 8 batches; k = 3 -> 2 iterations per epoch.
    assert calls == {"d": 6, "g": 2}


def test_simultaneous_uses_old_parameters_for_both_gradients(tiny_images, tmp_path):
    """One simultaneous update moves D and G by their gradients at the parameters before
    the update, from one minibatch of data and one of noise. (The paper's SGD starts with a
    zero momentum increment, so the first update is exactly -lr * gradient; D's dropout is
    off so D is a deterministic function of its input.)"""
    config = small(
        [
            "train.schedule='simultaneous'",
            "train.max_steps=1",
            "model.d_input_keep=1.0",
            "model.d_hidden_keep=1.0",
            "model.d_init_range=0.1",
        ]
    )
    trainer = start_run(config, tmp_path / "run", tiny_images)
    G0, D0 = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"G": [], "D": []}

    def recorder(name):
        def hook(module, args, output):
            if module.training:  # not a sample grid
                calls[name].append((args[0].detach().clone(), output.detach().clone()))

        return hook

    hooks = [trainer.G.register_forward_hook(recorder("G"))]
    hooks.append(trainer.D.register_forward_hook(recorder("D")))
    trainer.fit()
    for h in hooks:
        h.remove()

    m = config.train.batch_size
    [(z, fake)] = calls["G"]  # one noise minibatch
    fakes = {row.numpy().tobytes() for row in fake}
    seen = torch.cat([x for x, _ in calls["D"]])
    is_fake = torch.tensor([row.numpy().tobytes() in fakes for row in seen])
    x = seen[~is_fake]  # the real minibatch D saw
    assert int(is_fake.sum()) == m and x.shape[0] == m
    assert all((tiny_images.train == row).flatten(1).all(1).any() for row in x)

    # Both costs at the old parameters (non-saturating loss), from that one minibatch.
    d_fake = D0(G0(z))
    d_cost = F.softplus(-D0(x)).mean() + F.softplus(d_fake).mean()
    g_cost = F.softplus(-d_fake).mean()
    d_grads = torch.autograd.grad(d_cost, list(D0.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_cost, list(G0.parameters()))
    lr = config.optim.lr
    for new, old, grad in (
        *zip(trainer.D.parameters(), D0.parameters(), d_grads, strict=True),
        *zip(trainer.G.parameters(), G0.parameters(), g_grads, strict=True),
    ):
        torch.testing.assert_close(new.detach(), old.detach() - lr * grad, rtol=0, atol=1e-6)
    # The tolerance tells the orders apart: G's gradient at D's updated weights (the
    # alternating order) would have moved G by far more than it.
    D1 = copy.deepcopy(D0)
    with torch.no_grad():
        for p, grad in zip(D1.parameters(), d_grads, strict=True):
            p.sub_(lr * grad)
    late = torch.autograd.grad(F.softplus(-D1(G0(z))).mean(), list(G0.parameters()))
    gap = max(float((a - b).abs().max()) for a, b in zip(late, g_grads, strict=True))
    assert lr * gap > 1e-5


def test_epoch_permutation_is_a_pure_function():
    a = epoch_permutation(100, 3, 5, torch.device("cpu"))
    assert torch.equal(a, epoch_permutation(100, 3, 5, torch.device("cpu")))
    assert not torch.equal(a, epoch_permutation(100, 3, 6, torch.device("cpu")))
    assert torch.equal(a.sort().values, torch.arange(100))


def test_max_steps_stops_mid_epoch(tiny_images, tmp_path):
    run = gannet.train(small(["train.max_steps=3"]), out=tmp_path / "r", dataset=tiny_images)
    assert run.step == 3 and run.epoch == 0


def test_max_minutes_stops_on_the_time_budget_and_a_larger_one_continues(tiny_images, tmp_path):
    # A budget of 6e-8 s is spent by the first iteration: one step, checkpointed, finished.
    run = gannet.train(small(["train.max_minutes=1e-9"]), out=tmp_path / "r", dataset=tiny_images)
    assert run.step == 1
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "finished"
    # Raised on resume (an allowed override), training continues from step 1.
    trainer = resume_run(
        tmp_path / "r", ["train.max_minutes=60", "train.max_steps=3"], dataset=tiny_images
    )
    assert trainer.progress.step == 1
    trainer.fit()
    assert trainer.progress.step == 3 and not trainer.out_of_time


def test_ema_rampup_follows_the_half_life_rule_and_needs_an_average(tiny_images, tmp_path):
    from gannet.training.networks import ema_decay

    assert ema_decay(0.999, 0.0, 1) == 0.999  # off: the plain decay
    # Half-life rampup * updates steps: 0.05 * 100 = 5 steps -> 0.5 ** (1 / 5).
    assert ema_decay(0.999, 0.05, 100) == pytest.approx(0.5**0.2, abs=1e-15)
    assert ema_decay(0.999, 0.05, 10**6) == 0.999  # capped by train.ema's own half-life
    # In a run: after one update with decay 0.5 ** (1 / 0.05) ~ 1e-6, the average is ~G.
    trainer = start_run(
        small(["train.ema=0.999", "train.ema_rampup=0.05", "train.max_steps=1"]),
        tmp_path / "r",
        tiny_images,
    )
    trainer.fit()
    assert trainer.G_ema is not None
    for a, b in zip(trainer.G_ema.parameters(), trainer.G.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(GannetError, match=r"ema_rampup needs an average"):
        start_run(small(["train.ema_rampup=0.05"]), tmp_path / "r2", tiny_images)
    assert not (tmp_path / "r2").exists()


def test_resume_on_a_training_set_of_another_size_is_refused(tiny_images, tmp_path):
    gannet.train(small(["train.max_steps=1"]), out=tmp_path / "r", dataset=tiny_images)
    fewer = Dataset("tiny", tiny_images.train[:-10])
    with pytest.raises(GannetError, match=r"trained on \d+ examples but its data now gives"):
        resume_run(tmp_path / "r", ["train.max_steps=2"], dataset=fewer)
    assert resume_run(tmp_path / "r", ["train.max_steps=2"], dataset=tiny_images).fit()


def test_non_finite_loss_stops_with_last_good_checkpoint(tiny_images, tmp_path):
    config = small(["train.epochs=3", "train.checkpoint_every=1000", "train.epoch_end_steps=1"])
    trainer = start_run(config, tmp_path / "run", tiny_images)
    original = trainer.loss.g_cost

    def poisoned(d_fake):
        cost = original(d_fake)
        return cost * float("nan") if trainer.progress.epoch >= 2 else cost

    object.__setattr__(trainer.loss, "g_cost", poisoned)
    with pytest.raises(GannetError, match="diverged"):
        trainer.fit()
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 2  # the checkpoint written at the end of epoch 1
    assert all(torch.isfinite(v).all() for v in state["generator"].values())


def test_refuses_to_overwrite_a_run(tiny_images, tmp_path):
    gannet.train(small(["train.max_steps=1"]), out=tmp_path / "r", dataset=tiny_images)
    with pytest.raises(GannetError, match="already exists"):
        gannet.train(small(), out=tmp_path / "r", dataset=tiny_images)


def test_impossible_batch_size(tiny_images, tmp_path):
    with pytest.raises(GannetError, match="too few"):
        gannet.train(small(["train.batch_size=1000"]), out=tmp_path / "r", dataset=tiny_images)


def test_vector_data_trains(tmp_path):
    x = torch.randn(500, 2) * 0.1 + 1.0
    config = small(
        [
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=2",
            "optim.name='adam'",
            "optim.lr=1e-3",
        ]
    )
    run = gannet.train(config, out=tmp_path / "r", dataset=Dataset("toy", x))
    assert run.sample(5).shape == (5, 2)
    assert (run.path / "samples" / "epoch-0002.png").is_file()


def test_bf16_precision_runs(tiny_images, tmp_path, monkeypatch):
    monkeypatch.setenv("GANNET_ALLOW_EMULATED_PRECISION", "1")  # any CPU, for the logic
    run = gannet.train(small(["train.precision='bf16'"]), out=tmp_path / "r", dataset=tiny_images)
    assert all(p.dtype == torch.float32 for p in run.generator.parameters())
    assert all(math.isfinite(m["d_loss"]) for m in run.metrics)


def test_linear_lr_schedule_reaches_zero_at_the_last_step(tiny_images, tmp_path):
    config = small(
        [
            "optim.name='adam'",
            "optim.lr=1e-3",
            "optim.g_lr_scale=2.0",
            "optim.lr_schedule='linear'",
            "train.max_steps=8",
            "train.log_every=1",
        ]
    )
    trainer = start_run(config, tmp_path / "run", tiny_images)
    trainer.fit()
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    lrs = [r["lr"] for r in records]  # G's lr after each step
    assert lrs == pytest.approx([2e-3 * (1 - s / 8) for s in range(1, 9)])
    assert trainer.opt_d.param_groups[0]["lr"] == 0.0


def test_default_lr_schedule_keeps_adam_constant(tiny_images, tmp_path):
    config = small(["optim.name='adam'", "optim.lr=1e-3", "train.max_steps=4"])
    trainer = start_run(config, tmp_path / "run", tiny_images)
    trainer.fit()
    assert trainer.opt_g.param_groups[0]["lr"] == 1e-3
