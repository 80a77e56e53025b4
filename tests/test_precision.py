"""train.precision on the hardware at hand: refused where it would only be emulated, and
the fp16 path (autocast plus a gradient scaler per network) right in its logic, on CPU."""

from __future__ import annotations

import pytest
import torch

import gannet
from gannet.config import Config
from gannet.errors import GannetError
from gannet.training import read_checkpoint, resume_run, start_run
from gannet.training.networks import prefers_channels_last
from gannet.training.precision import ALLOW_EMULATED, Precision, check_precision, native_bf16_cpu
from tests.conftest import REPO, benchmark_module, mixture_config


@pytest.fixture(scope="module")
def sim_module():
    """benchmarks/bf16sim.py, the bf16 simulator."""
    with benchmark_module("bf16sim") as module:
        yield module


def small(*extra: str) -> Config:
    return mixture_config("train.epochs=2", "train.log_every=2", "train.checkpoint_every=3", *extra)


def test_emulated_bf16_and_cpu_fp16_are_refused_in_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(ALLOW_EMULATED, raising=False)
    with pytest.raises(GannetError, match="needs a CUDA GPU"):
        check_precision("fp16", torch.device("cpu"))
    check_precision("fp16", torch.device("cuda"))  # the decision needs no GPU
    check_precision("fp32", torch.device("cpu"))
    if native_bf16_cpu():
        check_precision("bf16", torch.device("cpu"))
    else:
        with pytest.raises(GannetError, match="no native bf16") as err:
            gannet.train(small("train.precision='bf16'"), out=tmp_path / "r")
        assert "\n" not in str(err.value)
        assert not (tmp_path / "r").exists()  # refused before anything was written


def test_fp16_scales_the_loss_and_skips_a_non_finite_step(monkeypatch) -> None:
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    amp = Precision("fp16", torch.device("cpu"))
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    scale = amp.scalers["d"].get_scale()
    assert scale > 1 and float(amp.scale(torch.tensor(2.0), "d")) == 2.0 * scale
    amp.scale((w * 2).sum(), "d").backward()
    amp.step(opt, "d")
    assert torch.allclose(w.detach(), torch.full((3,), 0.8))  # the unscaled gradient, 2
    opt.zero_grad()
    amp.scale((w * float("inf")).sum(), "d").backward()
    amp.step(opt, "d")  # skipped, and the scale backs off
    assert torch.allclose(w.detach(), torch.full((3,), 0.8))
    assert amp.scalers["d"].get_scale() < scale
    assert Precision("fp32", torch.device("cpu")).state_dict() is None


def test_fp16_run_checkpoints_its_scalers_and_resumes_exactly(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    reference = start_run(small("train.precision='fp16'", "train.max_steps=10"), tmp_path / "a")
    reference.fit()
    start_run(small("train.precision='fp16'", "train.max_steps=5"), tmp_path / "b").fit()
    ckpt = read_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt.amp is not None and set(ckpt.amp) == {"d", "g"}
    resumed = resume_run(tmp_path / "b", ["train.max_steps=10"])
    resumed.fit()
    for a, b in zip(
        reference.G.state_dict().values(), resumed.G.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def test_channels_last_only_for_convolutional_models_on_cuda() -> None:
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3))
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert prefers_channels_last(conv, torch.device("cuda"))
    assert not prefers_channels_last(mlp, torch.device("cuda"))
    assert not prefers_channels_last(conv, torch.device("cpu"))


def test_sync_bn_on_a_cpu_world_is_refused(tmp_path) -> None:
    from gannet.training import Trainer
    from gannet.training.distributed import World

    world = World(rank=0, size=2)  # the decision happens before any collective
    with pytest.raises(GannetError, match=r"train\.sync_bn needs CUDA"):
        Trainer(small("train.sync_bn=true"), world=world)


# ---------------------------------------------------------------- issue 26: per-network policy


def paper_small(*extra: str) -> Config:
    """The paper's MLP G and maxout D, small, on 1x8x8 images (tiny_images)."""
    return Config().with_overrides(
        [
            "model.generator='paper-mlp'",
            "model.discriminator='paper-maxout'",
            "model.z_dim=8",
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[16, 16]",
            "model.d_pieces=5",
            "train.batch_size=20",
            "train.progress='none'",
            "train.log_every=5",
            "train.ema=0.999",
            *extra,
        ]
    )


def test_policy_resolves_per_network_and_bf16_default_is_the_documented_one() -> None:
    from gannet.training.precision import BF16_DEFAULT_D, resolve_policy

    assert resolve_policy("fp32") == {"g": "fp32", "d": "fp32"}
    assert resolve_policy("bf16") == {"g": "bf16", "d": BF16_DEFAULT_D}
    assert resolve_policy("bf16", precision_d="bf16") == {"g": "bf16", "d": "bf16"}
    assert resolve_policy("fp32", "bf16", "") == {"g": "bf16", "d": "fp32"}
    assert resolve_policy("fp16") == {"g": "fp16", "d": "fp16"}
    doc = (REPO / "docs" / "scaling.md").read_text()
    assert f'`train.precision = "bf16"` runs G in bf16 and D in {BF16_DEFAULT_D}' in doc


@pytest.mark.parametrize(("g", "d", "on_grid"), [("bf16", "fp32", True), ("fp32", "fp32", False)])
@pytest.mark.parametrize("augment", ["", "translation"])
def test_d_reads_reals_on_gs_grid_when_g_is_bf16_and_d_fp32(
    monkeypatch, tiny_images, g, d, on_grid, augment
) -> None:
    """G bf16 / D fp32: every image D reads (the real batch too) is a bfloat16 value in an
    fp32 tensor, so a real image cannot be told from a fake by its last bits; in fp32 the
    reals reach D as they are. With DiffAugment the rounding comes before the augmentation."""
    from gannet.training import Trainer

    monkeypatch.setenv(ALLOW_EMULATED, "1")
    trainer = Trainer(
        paper_small(
            f"train.precision_g='{g}'", f"train.precision_d='{d}'", f"train.augment='{augment}'"
        ),
        tiny_images,
    )
    before: list[torch.Tensor] = []
    if augment:
        from gannet.training import passes

        inner = passes.diff_augment
        monkeypatch.setattr(
            passes, "diff_augment", lambda x, *a: before.append(x.detach()) or inner(x, *a)
        )
    else:
        trainer.D.register_forward_pre_hook(lambda m, args: before.append(args[0].detach()))
    trainer.step()
    assert len(before) == 2  # D's update (reals and fakes joined) and G's
    assert all(x.dtype == torch.float32 for x in before)
    rounded = [torch.equal(x, x.bfloat16().float()) for x in before]
    assert rounded == [on_grid, on_grid]


@pytest.mark.device
@pytest.mark.parametrize(
    ("g", "d"), [("bf16", "fp32"), ("fp32", "bf16"), ("bf16", "bf16"), ("fp32", "fp32")]
)
def test_each_network_runs_in_its_own_dtype(monkeypatch, tiny_images, device, g, d) -> None:
    """Forward hooks on every Linear: G's in G's precision, D's in D's, in both updates."""
    from gannet.training import Trainer

    monkeypatch.setenv(ALLOW_EMULATED, "1")
    trainer = Trainer(
        paper_small(
            f"train.precision_g='{g}'", f"train.precision_d='{d}'", f"train.device='{device}'"
        ),
        tiny_images,
    )
    seen: dict[str, set[torch.dtype]] = {"G": set(), "D": set()}
    for name, net in (("G", trainer.G), ("D", trainer.D)):
        for module in net.modules():
            if isinstance(module, torch.nn.Linear):
                module.register_forward_hook(lambda m, i, o, name=name: seen[name].add(o.dtype))
    trainer.step()
    want = {"fp32": torch.float32, "bf16": torch.bfloat16}
    assert seen == {"G": {want[g]}, "D": {want[d]}}
    assert trainer.amp.policy == {"g": g, "d": d}


def test_simulated_rounding_is_bfloat16s(sim_module) -> None:
    bf16sim = sim_module
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(10_000, generator=gen) * torch.logspace(-40, 38, 10_000)
    edge = torch.tensor(
        [0.0, -0.0, 1.0, 1.00390625, 1.0048828125, 3.0e38, 1e-40, float("inf"), float("nan")]
    )  # exact ties (1 + 2**-8 rounds to even), a subnormal, overflow to inf
    for v in (x, edge, -edge):
        want = v.bfloat16().float()
        got = bf16sim.bf16_round(v)
        assert torch.equal(got.view(torch.int32), want.view(torch.int32))


@pytest.mark.device
def test_simulated_autocast_matches_real_autocast_on_a_small_model(sim_module, device) -> None:
    """Real CPU autocast (emulated here, native where the CPU has bf16) and the simulator
    give the same forward numbers and gradients up to bf16's rounding of fp32 sums."""
    bf16sim = sim_module
    from gannet.models.paper import PaperDiscriminator

    torch.manual_seed(0)
    D = PaperDiscriminator((1, 8, 8), [16, 16], 5, 0.05, 1.0, 1.0).to(device)
    x = torch.rand(32, 1, 8, 8).to(device)

    def run(simulated: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        D.zero_grad()
        if simulated:
            mode = bf16sim.SimulatedAutocast()
            with mode, mode.region():
                out = D(x)
            assert mode.calls == 3  # two maxout layers and the output layer
        else:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = D(x)
            assert out.dtype == torch.bfloat16
        out.float().sum().backward()
        return out.float().detach(), [p.grad.clone() for p in D.parameters()]

    real, real_grads = run(False)
    sim, sim_grads = run(True)
    fp32 = D(x).detach()
    # Within a couple of bf16 ulps of each other, and much nearer than to fp32's numbers
    # when bf16 rounding matters at all.
    assert torch.allclose(sim, real, rtol=2**-7, atol=1e-6)
    assert (sim - real).abs().max() <= (fp32 - real).abs().max() + 1e-6
    for a, b in zip(sim_grads, real_grads, strict=True):
        assert torch.allclose(a, b, rtol=2**-6, atol=1e-4 * float(b.abs().max()))


def test_simulated_training_step_matches_real_bf16(monkeypatch, sim_module, tiny_images) -> None:
    """One training step (G and D in bf16) simulated and one with real autocast (native
    where the CPU has bf16, emulated here: the same numbers, slower) give D and G weights
    within bf16 rounding of each other."""
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    bf16sim = sim_module
    from gannet.training import Trainer

    cfg = paper_small("train.precision='bf16'", "train.precision_d='bf16'")
    real = Trainer(cfg, tiny_images)
    real.step()
    sim = Trainer(cfg, tiny_images)  # seeds the global RNG again: the same noise and masks
    with bf16sim.simulate_trainer(sim):
        sim.step()
    for a, b in zip(real.D.parameters(), sim.D.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-2, atol=1e-4)
    for a, b in zip(real.G.parameters(), sim.G.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-2, atol=1e-4)


def test_mixed_policy_resumes_bit_exactly(monkeypatch, tmp_path) -> None:
    """G in bf16, D in fp32: a run stopped at step 5 and resumed ends bit-identical to one
    that ran its 10 steps at once (weights, EMA and optimizer state)."""
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    mixed = ("train.precision='bf16'", "train.precision_g='bf16'", "train.precision_d='fp32'")
    reference = start_run(small(*mixed, "train.max_steps=10", "train.ema=0.99"), tmp_path / "a")
    reference.fit()
    start_run(small(*mixed, "train.max_steps=5", "train.ema=0.99"), tmp_path / "b").fit()
    resumed = resume_run(tmp_path / "b", ["train.max_steps=10"])
    assert resumed.amp.policy == {"g": "bf16", "d": "fp32"}
    resumed.fit()
    for net in ("G", "D", "G_ema"):
        a, b = getattr(reference, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), net
    a, b = reference.opt_d.state_dict()["state"], resumed.opt_d.state_dict()["state"]
    assert all(torch.equal(a[i][k], b[i][k]) for i in a for k in a[i] if torch.is_tensor(a[i][k]))


def test_casts_per_step_are_not_above_the_documented_counts(monkeypatch, tiny_images) -> None:
    """dtype casts per Trainer.step(), counted by the profiler (the same on any hardware),
    for the paper's model shapes in small: not above the numbers in docs/scaling.md."""
    from gannet.training import Trainer
    from gannet.training.precision import count_casts

    monkeypatch.setenv(ALLOW_EMULATED, "1")
    doc = (REPO / "docs" / "scaling.md").read_text()
    for policy, most in DOCUMENTED_CASTS.items():
        g, d = policy.split(":")
        assert f"| {g} | {d} | {most} |" in doc  # the documented row
        trainer = Trainer(
            paper_small(f"train.precision_g='{g}'", f"train.precision_d='{d}'"), tiny_images
        )
        assert count_casts(trainer.step, steps=2)["casts"] <= most, policy


DOCUMENTED_CASTS = {"fp32:fp32": 55, "bf16:fp32": 79, "fp32:bf16": 81, "bf16:bf16": 98}
"""Casts per step (G:D policy -> count) as documented in docs/scaling.md ("Casts per step")."""


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-GPU path of the script")
def test_gpu_check_without_cuda_says_so_in_one_line_and_exits_0(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu-check.sh")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and "no CUDA GPU" in done.stdout
    assert not (tmp_path / "out").exists()
