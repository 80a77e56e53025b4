"""stylegan-g / stylegan-d: demodulation, shapes, truncation, style mixing, lazy R1, exact
resume, conditional runs, bad input, ``gannet sample --truncation`` and the style-mixing
figure. Tiny widths and 8 x 8 images: the whole file takes seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gannet.cli import main
from gannet.config import Config, ModelConfig
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.figures import style_bands, style_mixing_images
from gannet.game.regularizers import r1_penalty
from gannet.models import build_discriminator, build_generator
from gannet.models.conditional import ConcatDiscriminator, ProjectionDiscriminator
from gannet.models.stylegan import StyleDiscriminator, StyleGenerator
from gannet.models.stylegan_layers import MinibatchStddev, ModulatedConv2d, modulated_weight
from gannet.trained.run import load_run
from gannet.training import Hook, Trainer, resume_run, start_run
from gannet.training.hooks import Checkpoints, StatusFile
from tests.conftest import TINY_STYLEGAN, tiny_labelled


def model_config(**kw: object) -> ModelConfig:
    base: dict[str, object] = dict(
        generator="stylegan-g",
        discriminator="stylegan-d",
        z_dim=8,
        style_dim=8,
        mapping_layers=2,
        g_channels=4,
        d_channels=4,
        max_channels=8,
        noise="normal",
    )
    base.update(kw)
    return ModelConfig(**base)  # type: ignore[arg-type]


def rgb_images(n: int = 64, size: int = 8) -> Dataset:
    gen = torch.Generator().manual_seed(1)
    return Dataset("tiny-rgb", torch.rand(n, 3, size, size, generator=gen), source="memory")


def run_config(*extra: str) -> Config:
    """A tiny stylegan run on 3 x 8 x 8 images: 4 steps an epoch of batch 16."""
    return Config().with_overrides(
        [
            *TINY_STYLEGAN,
            "loss.r1_gamma=0.1",
            "loss.r1_every=2",
            "optim.name='adam'",
            "optim.lr=0.002",
            "optim.betas=[0.0, 0.99]",
            "train.batch_size=16",
            "train.ema=0.9",
            "train.log_every=100",
            "train.checkpoint_every=3",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            *extra,
        ]
    )


def file_hooks(run: Path) -> list[Hook]:
    """Only what resuming needs (no matplotlib curves, no sample grids: faster)."""
    return [Checkpoints(run), StatusFile(run)]


@pytest.fixture(scope="module")
def style_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("stylegan") / "run"
    start_run(run_config("train.max_steps=3"), run, rgb_images(), file_hooks(run)).fit()
    return run


# ------------------------------------------------------------------ layers


def test_demodulation_gives_unit_norm_output_channels() -> None:
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 7, 8, 3, demodulate=True)
    w = torch.randn(4, 8)
    styles = conv.styles(w)
    effective = modulated_weight(conv.weight, styles)
    norms = effective.square().sum(dim=(2, 3, 4)).sqrt()
    assert effective.shape == (4, 7, 5, 3, 3)
    torch.testing.assert_close(norms, torch.ones(4, 7))
    # The layer (scale inputs, one conv, scale outputs) equals a conv with that weight per sample.
    x = torch.randn(4, 5, 6, 6)
    expected = torch.cat([F.conv2d(x[i : i + 1], effective[i], padding=1) for i in range(4)])
    torch.testing.assert_close(conv(x, w), expected, rtol=1e-4, atol=1e-5)
    # Without demodulation (toRGB) the norms follow the styles.
    plain = modulated_weight(conv.weight, styles, demodulate=False)
    assert not torch.allclose(plain.square().sum(dim=(2, 3, 4)), torch.ones(4, 7))


def test_minibatch_stddev_channel() -> None:
    x = torch.randn(6, 3, 4, 4)
    out = MinibatchStddev(4)(x)  # 6 = 3 groups of 2 (largest divisor <= 4)
    assert out.shape == (6, 4, 4, 4)
    expected = x.reshape(3, 2, 3, 4, 4).std(0, unbiased=False).mean(dim=(1, 2, 3))
    torch.testing.assert_close(out[:2, 3, 0, 0], expected[:2], rtol=1e-4, atol=1e-4)
    assert MinibatchStddev.mixes_batch


@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(size: int, channels: int) -> None:
    torch.manual_seed(0)
    shape = (channels, size, size)
    g, d = build_generator(model_config(), shape), build_discriminator(model_config(), shape)
    assert isinstance(g, StyleGenerator) and isinstance(d, StyleDiscriminator)
    assert g.num_ws == 2 * int(np.log2(size)) - 2
    x = g(torch.randn(3, 8))
    assert x.shape == (3, *shape)
    assert d(x).shape == (3,)
    g.eval()
    x = g(torch.randn(3, 8))
    assert x.min() >= 0 and x.max() <= 1  # eval mode: gannet's pixel range


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 16), (3, 4, 4), (2,)])
def test_unsupported_shapes_are_one_line(shape: tuple[int, ...]) -> None:
    with pytest.raises(GannetError, match="power of two") as e:
        build_generator(model_config(), shape)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------ truncation, mixing


def trained_w_avg_generator() -> StyleGenerator:
    torch.manual_seed(0)
    g = build_generator(model_config(style_mixing=0.0), (3, 8, 8))
    assert isinstance(g, StyleGenerator)
    assert torch.equal(g.mapping.w_avg, torch.zeros(8))
    g(torch.randn(16, 8))  # training mode: w_avg moves towards the batch's mean w
    assert not torch.equal(g.mapping.w_avg, torch.zeros(8))
    return g.eval()


def test_truncation() -> None:
    g = trained_w_avg_generator()
    w_avg = g.mapping.w_avg.clone()
    z = torch.randn(5, 8)
    with torch.no_grad():
        ws0 = g.styles(z, truncation=0.0)
        torch.testing.assert_close(ws0, w_avg.expand(5, g.num_ws, 8))
        x0 = g(z, truncation=0.0)  # eval mode: the fixed noise, so all samples equal
        assert torch.equal(x0, x0[:1].expand_as(x0))
        assert torch.equal(g(z, truncation=1.0), g(z))  # psi = 1 is the identity
        w = g.mapping(z)
        torch.testing.assert_close(g.styles(z, 0.7)[:, 0], w_avg + 0.7 * (w - w_avg))
    assert torch.equal(g.mapping.w_avg, w_avg)  # eval passes do not track w


def test_style_mixing_uses_two_ws_and_is_deterministic() -> None:
    torch.manual_seed(0)
    g = build_generator(model_config(style_mixing=1.0), (3, 16, 16))
    assert isinstance(g, StyleGenerator)
    z = torch.randn(4, 8)
    torch.manual_seed(5)
    ws = g.styles(z)
    # The crossover and the second z come from the global RNG: replay them.
    torch.manual_seed(5)
    w1 = g.mapping(z)
    cutoff = int(torch.randint(1, g.num_ws, ()))
    torch.rand(())
    w2 = g.mapping(torch.randn(4, 8))
    torch.testing.assert_close(ws[:, :cutoff], w1.unsqueeze(1).expand(-1, cutoff, -1))
    torch.testing.assert_close(ws[:, cutoff:], w2.unsqueeze(1).expand(-1, g.num_ws - cutoff, -1))
    assert not torch.allclose(w1, w2)
    torch.manual_seed(5)
    assert torch.equal(g.styles(z), ws)  # same seed, same mix
    # Probability 0, or eval mode: one w for every layer.
    g.style_mixing = 0.0
    assert torch.equal(g.styles(z), g.styles(z)[:, :1].expand(-1, g.num_ws, -1))
    g.style_mixing = 1.0
    g.eval()
    assert torch.equal(g.styles(z), g.styles(z)[:, :1].expand(-1, g.num_ws, -1))


def test_style_bands() -> None:
    assert [list(b) for b in style_bands(8)] == [[0, 1, 2], [3, 4], [5, 6, 7]]
    assert [len(b) for b in style_bands(18)] == [6, 6, 6]


# ------------------------------------------------------------------ conditional


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_conditional(conditioning: str) -> None:
    torch.manual_seed(0)
    cfg = model_config(conditional=True, label_embedding=6, d_conditioning=conditioning)
    g = build_generator(cfg, (3, 8, 8), num_classes=5).eval()
    d = build_discriminator(cfg, (3, 8, 8), num_classes=5).eval()
    kind = ConcatDiscriminator if conditioning == "concat" else ProjectionDiscriminator
    assert isinstance(d, kind)
    z = torch.randn(1, 8).repeat(5, 1)
    x = g(z, torch.arange(5))
    assert x.shape == (5, 3, 8, 8)
    assert not torch.allclose(x[0], x[1])  # the label changes the image
    assert d(x[:1].repeat(5, 1, 1, 1), torch.arange(5)).unique().numel() == 5
    g.train()  # style mixing redraws z and keeps the label code
    assert g(z, torch.arange(5)).shape == (5, 3, 8, 8)


def test_conditional_one_hot_is_refused() -> None:
    cfg = model_config(conditional=True, label_embedding=0)
    with pytest.raises(GannetError, match="label_embedding > 0"):
        build_generator(cfg, (3, 8, 8), num_classes=5)


def test_conditional_run_trains(tmp_path: Path) -> None:
    data = tiny_labelled(64, 4)
    config = run_config("model.conditional=true", "model.d_conditioning='projection'")
    run = tmp_path / "run"
    trainer = start_run(config.with_overrides(["train.max_steps=2"]), run, data, file_hooks(run))
    trainer.fit()
    assert trainer.progress.step == 2


# ------------------------------------------------------------------ training


def test_lazy_r1_every_n_steps_with_gamma_scaled() -> None:
    config = run_config("loss.r1_gamma=0.3", "loss.r1_every=4")
    trainer = Trainer(config, rgb_images())
    x = trainer.x_train[:16]
    fake = trainer.generate(trainer.noise(len(x))).detach()
    values = []
    for step in range(8):
        trainer.progress.step = step
        penalty = trainer.d_penalty(x, fake)
        values.append(None if penalty is None else float(penalty.detach()))
    assert [v is not None for v in values] == [True, False, False, False] * 2
    expected = float(r1_penalty(trainer.D, x, 0.3 * 4).detach())
    assert values[0] == pytest.approx(expected, rel=1e-5)
    assert expected > 0


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    out = {f"G.{k}": v for k, v in state["generator"].items()}
    out.update({f"D.{k}": v for k, v in state["discriminator"].items()})
    out.update({f"G_ema.{k}": v for k, v in state["generator_ema"].items()})
    for name in ("opt_g", "opt_d"):
        for i, s in state[name]["state"].items():
            out.update({f"{name}.{i}.{k}": v for k, v in s.items() if torch.is_tensor(v)})
    return out


def test_resume_is_bit_exact(tmp_path: Path) -> None:
    data, whole, part = rgb_images(), tmp_path / "whole", tmp_path / "part"
    start_run(run_config("train.max_steps=7"), whole, data, file_hooks(whole)).fit()
    start_run(run_config("train.max_steps=3"), part, data, file_hooks(part)).fit()
    resume_run(part, ["train.max_steps=7"], data, file_hooks(part)).fit()
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "part")
    assert a.keys() == b.keys() and "G.mapping.w_avg" in a
    assert not torch.equal(a["G.mapping.w_avg"], torch.zeros_like(a["G.mapping.w_avg"]))
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("model.style_mixing=1.5", "model.style_mixing"),
        ("model.mapping_layers=0", "model.mapping_layers"),
        ("model.mbstd_group=-1", "model.mbstd_group"),
        ("loss.r1_every=0", "loss.r1_every"),
        ("model.style_dim=0", "model.style_dim"),
    ],
)
def test_bad_values_are_one_line(override: str, fragment: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "cifar10-stylegan", "--out", str(out), "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_impossible_image_size_is_refused_before_writing(tmp_path: Path) -> None:
    data = Dataset("tiny", torch.rand(40, 1, 12, 12), source="memory")
    with pytest.raises(GannetError, match="power of two"):
        start_run(run_config(), tmp_path / "run", data)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ commands


def test_sample_with_truncation(style_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.npz"
    assert (
        main(["sample", str(style_run), "--n", "6", "--out", str(out), "--truncation", "0.5"]) == 0
    )
    truncated = np.load(out)["samples"]
    assert main(["sample", str(style_run), "--n", "6", "--out", str(out)]) == 0
    plain = np.load(out)["samples"]
    assert truncated.shape == plain.shape == (6, 3, 8, 8)
    # psi = 0.5 pulls samples towards the average image: less spread between them.
    assert truncated.std(0).mean() < plain.std(0).mean()
    assert main(["sample", str(style_run), "--n", "4", "--out", str(tmp_path / "t.png"),
                 "--truncation", "0.7"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "t.png").size[0] > 0
    capsys.readouterr()
    assert main(["sample", str(style_run), "--out", str(out), "--truncation", "1.5"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_truncation_refused_for_paper_mlp(tmp_path: Path, capsys) -> None:
    config = Config().with_overrides(
        ["model.g_hidden=[8]", "model.d_hidden=[8]", "model.z_dim=4", "train.max_steps=1",
         "train.batch_size=20", "train.progress='none'", "train.n_fixed_samples=4"]
    )  # fmt: skip
    run = tmp_path / "mlp"
    data = Dataset("tiny", torch.rand(40, 1, 8, 8), source="memory")
    start_run(config, run, data, file_hooks(run)).fit()
    out = tmp_path / "x.png"
    capsys.readouterr()
    assert main(["sample", str(run), "--out", str(out), "--truncation", "0.7"]) == 2
    err = capsys.readouterr().err.strip()
    assert "truncation" in err and len(err.splitlines()) == 1 and not out.exists()
    assert main(["figure", "style-mixing", str(run), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "stylegan-g" in err and len(err.splitlines()) == 1 and not out.exists()


def test_style_mixing_figure(style_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mix.png"
    assert main(["figure", "style-mixing", str(style_run), "--out", str(out),
                 "--rows", "2", "--cols", "3"]) == 0  # fmt: skip
    # 1 + 3 bands x 2 rows of 1 + 3 images of 8 px with 2 px gaps, upscaled 2x.
    assert Image.open(out).size == (2 * (4 * 10 + 2), 2 * (7 * 10 + 2))
    run = load_run(style_run)
    images = style_mixing_images(run, rows=2, cols=3, seed=0)
    assert images.shape == (28, 3, 8, 8)
    assert torch.equal(images, style_mixing_images(run, rows=2, cols=3, seed=0))
    # Row 1: row source B_0 then A_j with coarse styles from B_0; the band's other rows too.
    a, b0 = images[1:4], images[4]
    assert not torch.equal(images[5:8], a)
    assert torch.equal(images[0], torch.ones(3, 8, 8))
    assert b0.shape == (3, 8, 8)
