"""``gannet export``: the exported generator (TorchScript, ONNX) gives what ``gannet sample``
gives for the same z, EMA weights by default, and bad output paths are one line, exit 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import gannet
from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.exporting import load_exported
from gannet.run import load_run
from gannet.training import start_run

ONNX_REASON = next(
    (
        f"{name} is not installed (pip install 'gannet[onnx]')"
        for name in ("onnx", "onnxruntime", "onnxscript")
        if importlib.util.find_spec(name) is None
    ),
    None,
)
FORMATS = [
    "torchscript",
    pytest.param(
        "onnx", marks=pytest.mark.skipif(ONNX_REASON is not None, reason=str(ONNX_REASON))
    ),
]


def paper_run(out: Path) -> Path:
    """The paper's MLP G on 1x8x8 images, EMA kept, snapshots every epoch."""
    gen = torch.Generator().manual_seed(0)
    data = Dataset("tiny", torch.rand(200, 1, 8, 8, generator=gen), source="memory")
    config = Config().with_overrides(
        [
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[8]",
            "model.z_dim=6",
            "optim.name='adam'",
            "optim.lr=0.01",
            "train.batch_size=50",
            "train.epochs=2",
            "train.ema=0.5",
            "train.snapshot_every=1",
            "train.progress='none'",
        ]
    )
    start_run(config, out, data).fit()
    return out


def dcgan_conditional_run(out: Path) -> Path:
    """DCGAN's G (BatchNorm, transposed convolutions) on labelled 1x28x28 images, G(z, y)."""
    gen = torch.Generator().manual_seed(1)
    data = Dataset(
        "tiny28",
        torch.rand(64, 1, 28, 28, generator=gen),
        train_labels=torch.arange(64) % 4,
        num_classes=4,
        source="memory",
    )
    config = Config().with_overrides(
        [
            "model.generator='dcgan-g'",
            "model.discriminator='dcgan-d'",
            "model.g_channels=8",
            "model.d_channels=8",
            "model.z_dim=10",
            "model.noise='normal'",
            "model.conditional=true",
            "optim.name='adam'",
            "optim.lr=0.001",
            "train.batch_size=32",
            "train.max_steps=3",
            "train.progress='none'",
        ]
    )
    start_run(config, out, data).fit()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export")
    return {
        "paper": paper_run(root / "paper"),
        "dcgan": dcgan_conditional_run(root / "dcgan"),
    }


def sample_npz(run: Path, out: Path, *args: str) -> dict[str, np.ndarray]:
    assert main(["sample", str(run), "--n", "37", "--seed", "11", "--out", str(out), *args]) == 0
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_paper_g_reproduces_gannet_sample(
    runs: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "g.bin"
    assert main(["export", str(runs["paper"]), "--format", fmt, "--out", str(out)]) == 0
    expected = sample_npz(runs["paper"], tmp_path / "s.npz")["samples"]
    g = load_exported(out)
    assert g.info.format == fmt and g.info.uses_ema and g.info.num_classes == 0
    assert g.info.sample_shape == (1, 8, 8) and g.info.z_dim == 6
    z = g.noise(37, seed=11)  # the z gannet sample drew: a batch of 37, traced with 2
    got = g(z).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # One sample alone gives the same as inside the batch.
    np.testing.assert_allclose(g(z[5:6]).numpy(), expected[5:6], rtol=0, atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_conditional_dcgan_g_reproduces_gannet_sample(
    runs: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    suffix = ".onnx" if fmt == "onnx" else ".pt"
    out = tmp_path / f"g{suffix}"  # the format from the suffix
    assert main(["export", str(runs["dcgan"]), "--out", str(out)]) == 0
    g = load_exported(out)
    assert g.info.format == fmt and g.info.num_classes == 4 and g.info.noise == "normal"
    z = g.noise(37, seed=11)
    for label in ("2", "0"):
        expected = sample_npz(runs["dcgan"], tmp_path / f"s{label}.npz", "--class", label)
        assert (expected["labels"] == int(label)).all()
        got = g(z, torch.full((37,), int(label))).numpy()
        np.testing.assert_allclose(got, expected["samples"], rtol=0, atol=1e-5)
    # Uniform classes: gannet sample's own labels fed to the exported G(z, y).
    mixed = sample_npz(runs["dcgan"], tmp_path / "mixed.npz")
    assert len(set(mixed["labels"].tolist())) > 1
    got = g(z, torch.from_numpy(mixed["labels"])).numpy()
    np.testing.assert_allclose(got, mixed["samples"], rtol=0, atol=1e-5)
    with pytest.raises(GannetError, match="conditional"):
        g(z)


def test_ema_by_default_raw_weights_and_snapshots_on_request(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = runs["paper"]
    z = load_exported(gannet.export(run, tmp_path / "ema.pt")).noise(20, seed=3)

    def exported(*args: str) -> np.ndarray:
        out = tmp_path / f"g{len(list(tmp_path.iterdir()))}.pt"
        assert main(["export", str(run), "--out", str(out), *args]) == 0
        return load_exported(out)(z).numpy()

    def eager(**kw: object) -> np.ndarray:
        g = load_run(run, **kw).generator  # type: ignore[arg-type]
        with torch.no_grad():
            return g(z).numpy()

    ema, raw = exported(), exported("--no-ema")
    np.testing.assert_allclose(ema, eager(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(raw, eager(ema=False), rtol=0, atol=1e-6)
    assert np.abs(ema - raw).max() > 1e-4  # the EMA really is another G
    snapshot = sorted((run / "snapshots").iterdir())[0]
    first = exported("--checkpoint", str(snapshot))
    np.testing.assert_allclose(first, eager(checkpoint=snapshot), rtol=0, atol=1e-6)
    assert np.abs(first - ema).max() > 1e-4


def one_line(capsys: pytest.CaptureFixture[str], fragment: str) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("gannet: error: "), err
    assert fragment in lines[0], lines[0]
    return lines[0]


def test_bad_output_paths_are_one_line_exit_2_and_nothing_is_lost(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(runs["paper"])
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert main(["export", run, "--out", str(folder)]) == 2
    one_line(capsys, "cannot tell the format")
    assert main(["export", run, "--format", "torchscript", "--out", str(folder)]) == 2
    one_line(capsys, "is a directory")
    assert (folder / "keep.txt").read_text() == "mine"
    blocker = tmp_path / "file.txt"
    blocker.write_text("mine")
    assert main(["export", run, "--out", str(blocker / "g.pt")]) == 2
    one_line(capsys, "is not a folder")
    assert blocker.read_text() == "mine"
    assert main(["export", run, "--out", "/proc/gannet-export-test.pt"]) == 2
    one_line(capsys, "/proc/gannet-export-test.pt")
    assert main(["export", run, "--out", str(tmp_path / "g.h5")]) == 2
    one_line(capsys, "--format torchscript|onnx")
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "g.pt")]) == 2
    one_line(capsys, "missing")
    assert not (tmp_path / "g.pt").exists()
    # An export that fails leaves the file that was there as it was.
    previous = tmp_path / "prev.pt"
    previous.write_bytes(b"old")
    assert main(["export", run, "--checkpoint", "nope.pt", "--out", str(previous)]) == 2
    one_line(capsys, "nope.pt")
    assert previous.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # The run's own checkpoint is never the output (the fuzz found it overwritten).
    own = runs["paper"] / "checkpoint.pt"
    before = own.read_bytes()
    assert main(["export", run, "--format", "torchscript", "--out", str(own)]) == 2
    one_line(capsys, "one of the run's own files")
    assert own.read_bytes() == before


def test_onnx_without_onnxruntime_is_one_line(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "onnxruntime" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    out = tmp_path / "g.onnx"
    assert main(["export", str(runs["paper"]), "--out", str(out)]) == 2
    one_line(capsys, 'pip install "gannet[onnx]"')
    assert not out.exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, torch.jit.save
def test_load_exported_refuses_other_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(plain))
    with pytest.raises(GannetError, match="not written by gannet export"):
        load_exported(plain)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(GannetError, match="not a TorchScript file"):
        load_exported(junk)
    with pytest.raises(GannetError, match="cannot read"):
        load_exported(tmp_path / "absent.pt")
