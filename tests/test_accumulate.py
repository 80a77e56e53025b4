"""train.batch_gpu: gradient accumulation over micro-batches gives the whole batch's update
(to 1e-5), penalties and conditional labels included; a micro-batch that does not divide the
batch is refused in one line."""

from __future__ import annotations

import pytest
import torch

from gannet.config import Config
from gannet.errors import GannetError
from gannet.training import Trainer
from gannet.training.accumulate import micro_batches
from tests.conftest import mixture_config, tiny_labelled

SGD = ("optim.name='paper-sgd'", "optim.lr=0.01")
"""Momentum SGD: the comparison of weights after several steps. (Adam divides by the root of
its second moment: a gradient component that is zero up to rounding becomes a step of lr
whatever its sign, so two equal computations rounded differently part after one update.)"""


def run_steps(
    config: Config, steps: int = 5, dataset=None
) -> tuple[Trainer, dict[str, torch.Tensor], torch.Tensor]:
    """A trainer after ``steps`` iterations, the gradients of its first iteration's last
    updates, and the global RNG's state at the end."""
    trainer = Trainer(config, dataset)
    start = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    trainer.step()
    grads = {
        f"{net}.{k}": p.grad.clone()
        for net in ("G", "D")
        for k, p in getattr(trainer, net).named_parameters()
    }
    for _ in range(steps - 1):
        trainer.step()
    assert any(not torch.equal(start[k], v) for k, v in trainer.D.state_dict().items())
    return trainer, grads, torch.get_rng_state()


def assert_same_training(a: tuple, b: tuple) -> None:
    """Gradients to 1e-5 of their tensor's largest entry, weights to 1e-5, the same draws."""
    (ta, ga, ra), (tb, gb, rb) = a, b
    for k, g in ga.items():
        scale = float(g.abs().max()) or 1.0
        torch.testing.assert_close(gb[k] / scale, g / scale, rtol=0, atol=1e-5, msg=k)
    for net in ("G", "D"):
        sa, sb = getattr(ta, net).state_dict(), getattr(tb, net).state_dict()
        for k in sa:
            torch.testing.assert_close(sb[k], sa[k], rtol=1e-5, atol=1e-5, msg=f"{net}.{k}")
    assert torch.equal(ra, rb)  # the same numbers drawn from the global stream


@pytest.mark.parametrize(
    "extra",
    [
        (),  # non-saturating
        ("loss.name='wgan-gp'", "train.k=2"),  # the gradient penalty's random interpolates
        ("loss.r1_gamma=1.0", "loss.r1_every=2", "train.ema=0.9"),  # lazy R1, G's EMA
    ],
)
def test_accumulation_equals_the_whole_batch(extra: tuple[str, ...]) -> None:
    whole = run_steps(mixture_config("train.seed=3", *SGD, *extra))
    accumulated = run_steps(mixture_config("train.seed=3", "train.batch_gpu=10", *SGD, *extra))
    assert accumulated[0].micro == 5 and whole[0].micro == 1
    assert_same_training(whole, accumulated)
    # the logged measurements are the whole batch's
    ra, rb = whole[0].log(), accumulated[0].log()
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "value", "d_penalty"):
        assert ra[key] == pytest.approx(rb[key], rel=1e-5, abs=1e-6), key


def test_conditional_accumulation_equals_the_whole_batch() -> None:
    common = [
        "model.generator='mlp-g'",
        "model.discriminator='mlp-d'",
        "model.conditional=true",
        "model.z_dim=4",
        "model.g_hidden=[16]",
        "model.d_hidden=[16]",
        *SGD,
        "train.batch_size=24",
        "train.progress='none'",
        "train.n_fixed_samples=4",
    ]
    whole = run_steps(Config().with_overrides(common), dataset=tiny_labelled())
    acc = run_steps(
        Config().with_overrides([*common, "train.batch_gpu=6"]), dataset=tiny_labelled()
    )
    assert_same_training(whole, acc)


def test_a_micro_batch_that_does_not_divide_is_one_line() -> None:
    with pytest.raises(
        GannetError, match=r"train\.batch_gpu = 12 does not divide the batch of 50.*e\.g\. 10"
    ):
        Trainer(mixture_config("train.batch_gpu=12"))
    with pytest.raises(GannetError, match="more than each process's share"):
        micro_batches(60, 50)
    with pytest.raises(GannetError, match=r"\(2 processes' share\)"):
        micro_batches(4, 25, 2)
    assert micro_batches(0, 50) == 1 and micro_batches(50, 50) == 1 and micro_batches(5, 50) == 10
    with pytest.raises(GannetError, match="schedule"):
        Trainer(mixture_config("train.batch_gpu=10", "train.schedule='simultaneous'"))
