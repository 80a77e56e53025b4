"""Conditional GANs: p(x | c) with the label fed to G and D (models, training, CLI, resume)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gannet
from gannet.cli import main
from gannet.config import Config, ModelConfig
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.models import build_discriminator, build_generator, sample_noise
from gannet.models.conditional import (
    ConcatDiscriminator,
    ConditionalGenerator,
    ProjectionDiscriminator,
)
from gannet.models.paper import PaperDiscriminator, PaperGenerator
from gannet.training import start_run
from tests.conftest import tiny_labelled

PAIRS = {
    "paper": ("paper-mlp", "paper-maxout", (1, 28, 28)),
    "mlp": ("mlp-g", "mlp-d", (2,)),
    "dcgan": ("dcgan-g", "dcgan-d", (1, 28, 28)),
}


def model_config(pair: str, conditioning: str = "concat", embedding: int = 10) -> ModelConfig:
    g, d, _ = PAIRS[pair]
    return ModelConfig(
        generator=g,
        discriminator=d,
        z_dim=8,
        g_hidden=[32],
        d_hidden=[16],
        g_channels=8,
        d_channels=8,
        conditional=True,
        label_embedding=embedding,
        d_conditioning=conditioning,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ models


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
@pytest.mark.parametrize("embedding", [6, 0])
def test_conditional_models(pair: str, conditioning: str, embedding: int) -> None:
    torch.manual_seed(0)
    shape = PAIRS[pair][2]
    cfg = model_config(pair, conditioning, embedding)
    g = build_generator(cfg, shape, num_classes=5)
    d = build_discriminator(cfg, shape, num_classes=5)
    assert isinstance(g, ConditionalGenerator)
    kind = ConcatDiscriminator if conditioning == "concat" else ProjectionDiscriminator
    assert isinstance(d, kind)
    g.eval()
    d.eval()
    z = sample_noise(5, 8, "uniform").repeat(2, 1)
    y = torch.tensor([0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    x = g(z, y)
    assert x.shape == (10, *shape)
    # x[i] and x[5 + i] share z_i, with labels i and 4 - i: equal only for i = 2.
    for i in range(5):
        if i == 2:
            assert torch.equal(x[i], x[5 + i])
        else:
            assert not torch.allclose(x[i], x[5 + i])
    logits = d(x, y)
    assert logits.shape == (10,)
    # The label changes D's verdict on the same input.
    same = x[:1].repeat(5, *([1] * len(shape)))
    verdicts = d(same, torch.arange(5))
    assert verdicts.unique().numel() == 5
    # D must get labels; G without labels samples uniform classes.
    with pytest.raises(GannetError, match="conditional"):
        d(x)
    assert g(z).shape == x.shape


def test_widened_inputs() -> None:
    cfg = model_config("paper", "concat", 6)
    g = build_generator(cfg, (1, 28, 28), num_classes=10)
    d = build_discriminator(cfg, (1, 28, 28), num_classes=10)
    assert g.base.hidden[0].in_features == 8 + 6
    assert g.label.embedding.weight.shape == (10, 6)
    assert d.base.features[2].linear.in_features == 784 + 6
    dc = build_discriminator(model_config("dcgan", "concat", 0), (1, 28, 28), num_classes=10)
    assert dc.as_channels and dc.base.features[0].in_channels == 1 + 10  # one-hot maps
    proj = build_discriminator(model_config("dcgan", "projection"), (1, 28, 28), num_classes=10)
    assert proj.projection.weight.shape == (10, 16 * 7 * 7)
    # projection: the base D's parameters are stored once
    assert sum(k.startswith("base.") for k in proj.state_dict()) == len(proj.base.state_dict())


def test_projection_is_psi_plus_inner_product() -> None:
    torch.manual_seed(0)
    d = build_discriminator(model_config("mlp", "projection"), (2,), num_classes=3)
    x, y = torch.randn(4, 2), torch.tensor([0, 2, 1, 2])
    net = d.base.net
    h = net[:-1](x)
    expected = net[-1](h).view(-1) + (d.projection.weight[y] * h).sum(1)
    assert torch.allclose(d(x, y), expected, atol=1e-6)


def test_unconditional_models_and_init_are_unchanged() -> None:
    cfg = ModelConfig()
    torch.manual_seed(3)
    g = build_generator(cfg, (1, 28, 28), torch.full((1, 28, 28), 0.2), num_classes=10)
    d = build_discriminator(cfg, (1, 28, 28), num_classes=10)
    torch.manual_seed(3)
    g2 = PaperGenerator(100, [1200, 1200], (1, 28, 28), 0.05, torch.full((1, 28, 28), 0.2))
    d2 = PaperDiscriminator((1, 28, 28), [240, 240], 5, 0.005, 0.8, 0.5)
    assert type(g) is PaperGenerator and type(d) is PaperDiscriminator
    for a, b in ((g, g2), (d, d2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_bad_conditional_settings() -> None:
    with pytest.raises(GannetError, match="needs a labelled dataset"):
        build_generator(model_config("paper"), (1, 28, 28), num_classes=0)
    with pytest.raises(GannetError, match="label_embedding must be 0"):
        build_generator(model_config("paper", embedding=-1), (1, 28, 28), num_classes=3)


# ------------------------------------------------------------------ training


def small(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "model.z_dim=8",
            "model.conditional=true",
            "train.batch_size=20",
            "train.epochs=1",
            "train.log_every=2",
            "train.progress='none'",
            "train.n_fixed_samples=12",
            *extra,
        ]
    )


def labels_passed(args: tuple, kwargs: dict) -> torch.Tensor:
    """The labels a conditional G or D was called with (second argument, or y=)."""
    y = args[1] if len(args) > 1 else kwargs["y"]
    assert isinstance(y, torch.Tensor)
    return y


def test_real_labels_follow_the_image_permutation(tmp_path: Path) -> None:
    """Over one epoch D sees every real image once, each with its own label (the labels are
    gathered in the images' shuffled order); the epoch's sample grid has one row per class,
    the same noise in every row."""
    config = small()
    trainer = start_run(config, tmp_path / "run", tiny_labelled())
    fakes: set[bytes] = set()
    real_labels: list[int] = []
    grids: list[tuple[torch.Tensor, torch.Tensor]] = []

    def g_hook(module: torch.nn.Module, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        if module.training:
            fakes.update(row.detach().numpy().tobytes() for row in out)
        else:
            grids.append((args[0].clone(), labels_passed(args, kwargs).clone()))

    def d_hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        for row, label in zip(args[0], labels_passed(args, kwargs).tolist(), strict=True):
            if row.detach().numpy().tobytes() not in fakes:  # a real image
                assert torch.all(row == (label + 1) / 8), "a real image with another label"
                real_labels.append(label)

    handles = [
        trainer.G.register_forward_hook(g_hook, with_kwargs=True),
        trainer.D.register_forward_pre_hook(d_hook, with_kwargs=True),
    ]
    trainer.fit()
    for h in handles:
        h.remove()
    assert sorted(real_labels) == sorted(tiny_labelled().train_labels.tolist())
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["num_classes"] == 4
    # the fixed sample grid: one row per class, fixed labels
    assert grids, "no sample grid was drawn at the end of the epoch"
    z, y = grids[0]
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert torch.equal(z[:3], z[3:6]) and not torch.equal(z[0], z[1])


def test_refused_on_unlabelled_data(tiny_images, tmp_path: Path) -> None:
    with pytest.raises(GannetError, match="needs a labelled dataset") as e:
        start_run(small(), tmp_path / "run", tiny_images)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()


def test_fake_labels_change_nothing_unconditional(tiny_images, tmp_path: Path) -> None:
    """Unconditional runs draw no labels: the global RNG stream advances by the noise draws
    alone (D's dropout is off here), as before conditional GANs; a conditional run, which
    does draw labels, ends elsewhere."""
    steps, m, z_dim = 3, 20, 8

    def rng_after_training(config: Config, out: Path, data: Dataset) -> bool:
        trainer = start_run(config, out, data)
        start = torch.get_rng_state()
        trainer.fit()
        end = torch.get_rng_state()
        saved = torch.load(out / "checkpoint.pt", weights_only=True)["rng"]["torch"]
        assert torch.equal(saved, end)
        torch.set_rng_state(start)
        for _ in range(2 * steps):  # Algorithm 1, k = 1: noise for the D step and the G step
            torch.rand(m, z_dim)
        return torch.equal(torch.get_rng_state(), end)

    no_dropout = ("model.d_input_keep=1.0", "model.d_hidden_keep=1.0", f"train.max_steps={steps}")
    config = small("model.conditional=false", *no_dropout)
    assert rng_after_training(config, tmp_path / "a", tiny_images)
    assert not rng_after_training(small(*no_dropout), tmp_path / "b", tiny_labelled())


def test_conditional_mixture_2d(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = Config().with_overrides(
        [
            "data.name='mixture-2d'",
            "data.n_samples=1000",
            "data.validation_size=0",
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=2",
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[32, 32]",
            "model.noise='normal'",
            "model.conditional=true",
            "model.d_conditioning='projection'",
            "optim.name='adam'",
            "optim.lr=0.001",
            "train.batch_size=100",
            "train.epochs=1",
            "train.log_every=5",
            "train.progress='none'",
        ]
    )
    run = gannet.train(config, out=tmp_path / "run")
    assert run.num_classes == 8
    assert (tmp_path / "run" / "samples" / "epoch-0001.png").is_file()
    x = run.sample(50, seed=0, labels=3)
    assert x.shape == (50, 2)
    out = tmp_path / "classes.png"
    assert main(["figure", "classes", str(tmp_path / "run"), "--out", str(out), "--n", "50"]) == 0
    assert out.is_file() and "8 classes x 50 samples" in capsys.readouterr().out


@pytest.fixture(scope="module")
def mnist_cond_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short conditional run on 600 real MNIST digits (paper models, narrowed)."""
    from tests.conftest import mnist_dir

    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found")
    out = tmp_path_factory.mktemp("cond") / "run"
    config = Config().with_overrides(
        [
            f"data.data_dir={json.dumps(str(path))}",
            "data.subset=600",
            "model.g_hidden=[64]",
            "model.d_hidden=[32]",
            "model.conditional=true",
            "train.batch_size=50",
            "train.epochs=1",
            "train.progress='none'",
            "train.n_fixed_samples=20",
        ]
    )
    gannet.train(config, out=out)
    return out


def test_mnist_run_writes_a_grid_per_class(mnist_cond_run: Path, tmp_path: Path) -> None:
    grid = Image.open(mnist_cond_run / "samples" / "epoch-0001.png")
    # 10 rows (one per digit) x 2 columns of 28 px images, 2 px padding, drawn at 2x
    assert grid.size == (2 * (2 * 30 + 2), 2 * (10 * 30 + 2))
    state = torch.load(mnist_cond_run / "checkpoint.pt", weights_only=True)
    assert state["num_classes"] == 10
    out = tmp_path / "classes.png"
    assert main(["figure", "classes", str(mnist_cond_run), "--out", str(out), "--n", "4"]) == 0
    assert Image.open(out).size == (2 * (4 * 30 + 2), 2 * (10 * 30 + 2))


def test_sample_a_class(mnist_cond_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.npz"
    code = main(["sample", str(mnist_cond_run), "--class", "3", "--n", "7", "--out", str(out)])
    assert code == 0
    with np.load(out) as f:
        assert f["samples"].shape == (7, 1, 28, 28)
        assert f["labels"].tolist() == [3] * 7
    run = gannet.load_run(mnist_cond_run)
    # Same seed, another class: same noise, other images.
    a, b = run.sample(4, seed=1, labels=3), run.sample(4, seed=1, labels=5)
    assert torch.equal(a, run.sample(4, seed=1, labels=torch.tensor([3, 3, 3, 3])))
    assert not torch.allclose(a, b)
    _, y = run.sample_labelled(30, seed=2)
    assert y is not None and y.min() >= 0 and y.max() <= 9 and y.unique().numel() > 3


def one_clear_line(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_bad_class(mnist_cond_run: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.npz")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gannet",
            "sample",
            str(mnist_cond_run),
            "--class=10",
            f"--out={out}",
        ],
        capture_output=True,
        text=True,
    )
    one_clear_line(proc, "class 10 is out of range")
    assert "has 10 classes (0..9)" in proc.stderr


def test_bad_class_in_process(
    mnist_cond_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("-1", "12"):
        code = main(
            ["sample", str(mnist_cond_run), "--class", bad, "--out", str(tmp_path / "x.png")]
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and f"class {bad} is out of range" in err[0]
    assert not (tmp_path / "x.png").exists()


def test_class_on_unconditional_run(tmp_path: Path, tiny_images, capsys) -> None:
    run = tmp_path / "run"
    gannet.train(
        small("model.conditional=false", "train.max_steps=2"), out=run, dataset=tiny_images
    )
    code = main(["sample", str(run), "--class", "3", "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is not conditional" in err[0]
    code = main(["figure", "classes", str(run), "--out", str(tmp_path / "c.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is not conditional" in err[0]


# ------------------------------------------------------------------ exact resume

RESUME_CONFIG = """
[data]
name = "mnist"
data_dir = {data_dir}
subset = 900

[model]
g_hidden = [64]
d_hidden = [32]
conditional = true

[train]
batch_size = 50
epochs = 1
log_every = 3
checkpoint_every = 4
progress = "lines"
threads = 1
"""


def _weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    out = {f"G.{k}": v for k, v in state["generator"].items()}
    out.update({f"D.{k}": v for k, v in state["discriminator"].items()})
    for name in ("opt_g", "opt_d"):
        for i, s in state[name]["state"].items():
            for k, v in s.items():
                if isinstance(v, torch.Tensor):
                    out[f"{name}.{i}.{k}"] = v
    return out


def test_sigkill_and_resume_is_bit_exact(mnist_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(RESUME_CONFIG.format(data_dir=json.dumps(str(mnist_path))))
    cmd = [sys.executable, "-m", "gannet.cli", "train", str(config), "--out"]
    reference = tmp_path / "reference"
    subprocess.run([*cmd, str(reference)], check=True, capture_output=True)

    run = tmp_path / "run"
    proc = subprocess.Popen(
        [*cmd, str(run)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # killed after step 9 is logged (last checkpoint: step 8)
        if " step       9 " in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] < 18
    resumed = subprocess.run(
        [sys.executable, "-m", "gannet.cli", "train", "--resume", str(run)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(reference), _weights(run)
    assert a.keys() == b.keys() and any(k.startswith("G.label.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
