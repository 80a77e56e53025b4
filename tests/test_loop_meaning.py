"""What one training iteration means, pinned from outside the trainer.

These tests use only the trainer's public surface (``start_run``, ``fit``, ``G``, ``D``,
``config``, ``opt_d``, ``opt_g``) plus forward hooks on G and D, so they hold whatever shape
the loop's code takes:

* one update, recomputed by hand from the initial weights and the noise G was given, for
  the alternating schedule (Algorithm 1: D steps, then a G step against the updated D, on
  fresh noise) and the simultaneous one (both gradients at the old weights);
* a conditional run shows D, for every fake example, the label G was given for it (in the
  D step and in the G step), and for every real example its own label;
* train.precision = "bf16" with train.precision_d = "bf16" runs G's and D's layers in
  bfloat16 (autocast), "fp32" (the default) in float32.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gannet.config import Config
from gannet.data import Dataset
from gannet.training import start_run
from tests.conftest import tiny_labelled

LR = 0.05
M = 8  # minibatch size
REAL = torch.tensor([0.8, -0.4])  # every training row is this point, so any batch is known


def sgd_config(*extra: str) -> Config:
    """Tiny MLPs on 2-D points, trained by plain SGD: the paper's optimizer with no
    momentum and no lr decay, so an update is exactly w <- w - LR * grad."""
    return Config().with_overrides(
        [
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=3",
            "model.g_hidden=[8]",
            "model.d_hidden=[8]",
            "optim.name='paper-sgd'",
            f"optim.lr={LR}",
            "optim.lr_decay=1.0",
            "optim.momentum_init=0.0",
            "optim.momentum_final=0.0",
            f"train.batch_size={M}",
            "train.epochs=1",
            "train.log_every=1",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            *extra,
        ]
    )


def constant_points(n: int = 4 * M) -> Dataset:
    return Dataset("same-point", REAL.repeat(n, 1), source="memory")


@contextmanager
def recording_calls(module: nn.Module) -> Iterator[list[dict[str, Any]]]:
    """Record every training-mode call of ``module``: its inputs and its output."""
    calls: list[dict[str, Any]] = []

    def hook(mod: nn.Module, args: tuple, kwargs: dict, output: Tensor) -> None:
        if mod.training:
            calls.append(
                {
                    "args": [a.detach().clone() if isinstance(a, Tensor) else a for a in args],
                    "kwargs": {
                        k: v.detach().clone() if isinstance(v, Tensor) else v
                        for k, v in kwargs.items()
                    },
                    "out": output.detach().clone(),
                }
            )

    handle = module.register_forward_hook(hook, with_kwargs=True)
    try:
        yield calls
    finally:
        handle.remove()


def first_linear(module: nn.Module) -> nn.Module:
    return next(m for m in module.modules() if isinstance(m, nn.Linear))


def params(module: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def sgd_step(module: nn.Module, cost: Tensor, at: nn.Module | None = None) -> None:
    """w <- w - LR * d cost / d w, in place; the gradient taken at the weights of ``at``
    (a copy of ``module`` that ``cost`` was computed with), by default at ``module``'s."""
    grads = torch.autograd.grad(cost, list((at or module).parameters()))
    with torch.no_grad():
        for p, g in zip(module.parameters(), grads, strict=True):
            p.sub_(LR * g)


def d_cost(D: nn.Module, fake: Tensor) -> Tensor:
    """-(1/m) sum [log D(x) + log(1 - D(G(z)))] (both 2014 losses share it)."""
    real = REAL.repeat(fake.shape[0], 1)
    return F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()


def g_cost(D: nn.Module, fake: Tensor) -> Tensor:
    """The non-saturating generator cost, -(1/m) sum log D(G(z))."""
    return F.softplus(-D(fake)).mean()


def assert_params_close(got: nn.Module, want: nn.Module, before: list[Tensor]) -> None:
    moved = 0.0
    for p, q, p0 in zip(got.parameters(), want.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
        moved = max(moved, float((q.detach() - p0).abs().max()))
    assert moved > 1e-3  # the update is large enough that a wrong sign or order shows


@pytest.mark.parametrize(
    ("schedule", "k"), [("simultaneous", 1), ("alternating", 1), ("alternating", 2)]
)
def test_first_update_equals_the_hand_computed_one(tmp_path: Path, schedule: str, k: int) -> None:
    config = sgd_config(f"train.schedule='{schedule}'", f"train.k={k}", "train.max_steps=1")
    trainer = start_run(config, tmp_path / "run", dataset=constant_points())
    G0, D0 = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    g0, d0 = params(trainer.G), params(trainer.D)
    with (
        recording_calls(trainer.G) as g_calls,
        recording_calls(first_linear(trainer.G)) as g_layer_calls,
        recording_calls(first_linear(trainer.D)) as d_layer_calls,
    ):
        trainer.fit()
    noise = [c["args"][0] for c in g_calls]
    # train.precision = "fp32" (the default): every layer computes in float32.
    assert d_layer_calls and {c["out"].dtype for c in g_layer_calls + d_layer_calls} == {
        torch.float32
    }

    G, D = copy.deepcopy(G0), copy.deepcopy(D0)
    if schedule == "simultaneous":
        # One noise batch; D's and G's gradients both at the old weights, applied together.
        assert len(noise) == 1
        fake = G0(noise[0])
        sgd_step(D, d_cost(D0, fake.detach()), at=D0)
        sgd_step(G, g_cost(D0, fake), at=G0)
    else:
        # k D steps, each on fresh noise; then one G step, on fresh noise, against the new D.
        assert len(noise) == k + 1
        for z in noise[:k]:
            with torch.no_grad():
                fake = G0(z)
            sgd_step(D, d_cost(D, fake))
        sgd_step(G, g_cost(D, G0(noise[k])), at=G0)
    assert_params_close(trainer.D, D, d0)
    assert_params_close(trainer.G, G, g0)

    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1
    for key, value in trainer.G.state_dict().items():
        assert torch.equal(state["generator"][key], value), key
    for key, value in trainer.D.state_dict().items():
        assert torch.equal(state["discriminator"][key], value), key


# ------------------------------------------------------------------ conditional labels


def conditional_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "model.z_dim=8",
            "model.conditional=true",
            "train.batch_size=20",
            "train.epochs=1",
            "train.max_steps=2",
            "train.log_every=1",
            "train.progress='none'",
            "train.n_fixed_samples=12",
            *extra,
        ]
    )


def labels_of(call: dict[str, Any]) -> Tensor:
    """The labels a conditional G or D was called with (second argument, or y=)."""
    if len(call["args"]) > 1:
        y = call["args"][1]
    else:
        y = call["kwargs"].get("y", call["kwargs"].get("labels"))
    assert isinstance(y, Tensor), "a conditional model was called without labels"
    return y


def row_key(row: Tensor) -> bytes:
    return row.float().contiguous().numpy().tobytes()


@pytest.mark.parametrize(
    ("schedule", "conditioning"),
    [("alternating", "concat"), ("simultaneous", "projection")],
)
def test_d_sees_the_labels_g_was_given(tmp_path: Path, schedule: str, conditioning: str) -> None:
    config = conditional_config(
        f"train.schedule='{schedule}'", f"model.d_conditioning='{conditioning}'"
    )
    trainer = start_run(config, tmp_path / "run", dataset=tiny_labelled())
    with recording_calls(trainer.G) as g_calls, recording_calls(trainer.D) as d_calls:
        trainer.fit()
    # Every generated example, by its exact values, with the label G was given for it.
    given: dict[bytes, int] = {}
    for call in g_calls:
        y = labels_of(call)
        assert y.shape == (call["out"].shape[0],)
        for row, label in zip(call["out"], y.tolist(), strict=True):
            given[row_key(row)] = label
    iterations = config.train.max_steps
    fakes_drawn = iterations * (config.train.k + 1 if schedule == "alternating" else 1)
    assert len(given) == fakes_drawn * config.train.batch_size  # fresh noise every time

    seen: set[bytes] = set()
    reals = 0
    for call in d_calls:
        x, y = call["args"][0], labels_of(call)
        assert y.shape == (x.shape[0],)
        for row, label in zip(x, y.tolist(), strict=True):
            key = row_key(row)
            if key in given:
                assert label == given[key], "D was shown another label than G was given"
                seen.add(key)
            else:  # a real image: its label is the one its brightness encodes
                assert torch.all(row == row.flatten()[0])
                assert label == round(float(row.flatten()[0]) * 8) - 1
                reals += 1
    assert seen == set(given)  # D judged every generated example, in the D and the G step
    assert reals >= iterations * config.train.batch_size


# ------------------------------------------------------------------ precision


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_bf16_runs_g_and_d_layers_in_bfloat16(
    tmp_path: Path, schedule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train.precision = "bf16" and train.precision_d = "bf16" (alone, "bf16" keeps D in
    fp32: tests/test_precision.py): G's and D's matmuls run under bfloat16 autocast in every
    pass of training (the fp32 default is checked by the hand-computed update above)."""
    monkeypatch.setenv("GANNET_ALLOW_EMULATED_PRECISION", "1")  # any CPU, for the logic
    config = sgd_config(
        f"train.schedule='{schedule}'",
        "train.precision='bf16'",
        "train.precision_d='bf16'",
        "train.max_steps=1",
    )
    trainer = start_run(config, tmp_path / "run", dataset=constant_points())
    with (
        recording_calls(first_linear(trainer.G)) as g_calls,
        recording_calls(first_linear(trainer.D)) as d_calls,
    ):
        trainer.fit()
    assert len(g_calls) >= (1 if schedule == "simultaneous" else 2)
    assert len(d_calls) >= (1 if schedule == "simultaneous" else 2)  # alternating: D and G step
    assert {c["out"].dtype for c in g_calls + d_calls} == {torch.bfloat16}
    # Master weights stay float32.
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())
    assert all(p.dtype == torch.float32 for p in trainer.D.parameters())
