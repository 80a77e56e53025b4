"""DCGAN models (Radford et al., 2015): shapes, output range, init, normalisation, training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import gannet
from gannet.config import Config, ModelConfig
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.models import MODELS, build_discriminator, build_generator, sample_noise
from gannet.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gannet.training import start_run

REPO = Path(__file__).resolve().parents[1]
SHAPES = [(1, 28, 28), (3, 32, 32), (1, 64, 64), (3, 64, 64)]


def dcgan(**kw: object) -> ModelConfig:
    cfg = ModelConfig(generator="dcgan-g", discriminator="dcgan-d", g_channels=8, d_channels=8)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def test_registered() -> None:
    assert MODELS.get("dcgan-g").role == "generator"
    assert MODELS.get("dcgan-d").role == "discriminator"


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_and_range(shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    cfg = dcgan(z_dim=16)
    g, d = build_generator(cfg, shape), build_discriminator(cfg, shape)
    z = 3 * sample_noise(6, 16, "normal")  # large noise: outputs reach near 0 and 1
    x = g(z)
    assert x.shape == (6, *shape)
    assert x.min() >= 0 and x.max() <= 1
    logits = d(x)
    assert logits.shape == (6,)
    assert torch.isfinite(logits).all()
    g.eval()
    assert g(z[:1]).shape == (1, *shape)  # batch of one in eval mode


def test_layer_sizes() -> None:
    g = build_generator(dcgan(g_channels=16), (3, 32, 32))
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (100, 64),
        (64, 32),
        (32, 16),
        (16, 3),
    ]
    d = build_discriminator(dcgan(d_channels=16), (1, 28, 28))
    convs2 = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs2] == [(1, 16), (16, 32)]
    assert d.output.in_features == 32 * 7 * 7


@pytest.mark.parametrize(
    "shape", [(3, 28, 28), (1, 32, 32), (1, 16, 16), (3, 48, 48), (784,), (2,), (1, 28)]
)
def test_unsupported_shape_is_one_clear_error(shape: tuple[int, ...]) -> None:
    for build in (build_generator, build_discriminator):
        with pytest.raises(GannetError, match=r"dcgan models support samples of shape") as e:
            build(dcgan(), shape)
        assert "\n" not in str(e.value)
        assert "(1, 28, 28)" in str(e.value) and "(C, 64, 64)" in str(e.value)


def test_bad_width() -> None:
    with pytest.raises(GannetError, match=r"model\.g_channels must be at least 1"):
        build_generator(dcgan(g_channels=0), (1, 28, 28))
    with pytest.raises(GannetError, match=r"model\.d_channels must be at least 1"):
        build_discriminator(dcgan(d_channels=0), (1, 28, 28))


def test_init_statistics() -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(100, (3, 64, 64), 64)
    d = DCGANDiscriminator((3, 64, 64), 64, "batch")
    for model in (g, d):
        weights = [
            m.weight.detach().flatten()
            for m in model.modules()
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
        ]
        w = torch.cat(weights)
        assert abs(w.mean().item()) < 1e-3
        assert abs(w.std().item() - 0.02) < 5e-4
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert abs(m.weight.mean().item() - 1) < 0.01
                assert abs(m.weight.std().item() - 0.02) < 0.01
                assert torch.all(m.bias == 0)
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear) and m.bias is not None:
                assert torch.all(m.bias == 0)


def test_norms() -> None:
    for norm, kind in (("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm)):
        d = build_discriminator(dcgan(d_norm=norm), (3, 32, 32))
        assert sum(isinstance(m, kind) for m in d.modules()) == 2  # none after the first conv
        first = d.features[:2]
        assert isinstance(first[0], nn.Conv2d) and isinstance(first[1], nn.LeakyReLU)
    d = build_discriminator(dcgan(d_norm="none"), (3, 32, 32))
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in d.modules())
    # Without batch norm each logit depends on its own example only (WGAN-GP critics).
    torch.manual_seed(0)
    x = torch.rand(5, 3, 32, 32)
    for norm in ("layer", "none"):
        d = build_discriminator(dcgan(d_norm=norm), (3, 32, 32))
        assert torch.allclose(d(x)[:2], d(x[:2]), atol=1e-6)


def test_configs_load() -> None:
    mnist = Config.load(REPO / "configs" / "mnist-dcgan.toml")
    cifar = Config.load(REPO / "configs" / "cifar10-dcgan.toml")
    for c, batch in ((mnist, 64), (cifar, 128)):
        assert (c.model.generator, c.model.discriminator) == ("dcgan-g", "dcgan-d")
        assert (c.optim.name, c.optim.lr, c.optim.betas) == ("adam", 2e-4, [0.5, 0.999])
        assert c.train.batch_size == batch
    assert (mnist.data.name, cifar.data.name) == ("mnist", "cifar10")


def dcgan_run_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.generator='dcgan-g'",
            "model.discriminator='dcgan-d'",
            "model.g_channels=8",
            "model.d_channels=8",
            "model.z_dim=16",
            "optim.name='adam'",
            "optim.lr=0.0002",
            "train.batch_size=32",
            "train.epochs=2",
            "train.log_every=2",
            "train.progress='none'",
            "train.n_fixed_samples=16",
            *extra,
        ]
    )


def test_short_training_run(tmp_path: Path) -> None:
    """A DCGAN trains on 28 x 28 images and its run loads back with the same weights (batch
    norm statistics included): samples of the loaded run equal the trained G's own on the
    same noise."""
    gen = torch.Generator().manual_seed(0)
    data = Dataset("tiny28", torch.rand(128, 1, 28, 28, generator=gen), source="memory")
    trainer = start_run(dcgan_run_config(), tmp_path / "run", dataset=data)
    trainer.fit()
    run = gannet.load_run(tmp_path / "run")
    assert run.step == 8
    assert (tmp_path / "run" / "samples" / "epoch-0002.png").is_file()
    x = run.sample(10, seed=1)
    assert x.shape == (10, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    # The trained G in memory, in eval mode, on the noise sample(seed=1) draws.
    trained = trainer.G.eval()
    assert any(isinstance(m, nn.BatchNorm2d) for m in trained.modules())
    z = sample_noise(10, 16, run.config.model.noise, "cpu", torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(x, trained(z))
    assert not torch.equal(x, run.sample(10, seed=2))
    loaded, kept = run.generator.state_dict(), trainer.G.state_dict()
    assert loaded.keys() == kept.keys() and any(k.endswith("running_var") for k in kept)
    assert all(torch.equal(loaded[k], kept[k]) for k in kept)
