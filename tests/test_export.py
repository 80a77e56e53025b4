"""``gannet export``: every format (torch.export, AOTInductor, ONNX, legacy TorchScript) gives
what ``gannet sample`` gives for the same z at any batch size, conditional and truncated runs
included, EMA weights by default; bf16 and int8 within their stated tolerances; bad output
paths and impossible combinations are one line, exit 2."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import gannet
from gannet.cli import main
from gannet.commands.export import FORMAT_CHOICES, PRECISION_CHOICES
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.trained.exporting import FORMATS, PRECISIONS, compiler_missing, load_exported
from gannet.trained.run import load_run
from gannet.training import start_run
from tests.conftest import TINY_STYLEGAN

ONNX_REASON = next(
    (
        f"{name} is not installed (pip install 'gannet[onnx]')"
        for name in ("onnx", "onnxruntime", "onnxscript")
        if importlib.util.find_spec(name) is None
    ),
    None,
)
NEEDS_ONNX = pytest.mark.skipif(ONNX_REASON is not None, reason=str(ONNX_REASON))
QUICK_FORMATS = ["pt2", pytest.param("onnx", marks=NEEDS_ONNX), "torchscript"]
"""The formats written in seconds; aoti (a C++ compilation, minutes) is marked slow."""
SUFFIX = {"pt2": ".pt2", "aoti": ".aoti.pt2", "onnx": ".onnx", "torchscript": ".pt"}


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


def stylegan_run(out: Path) -> Path:
    """A tiny StyleGAN (3x8x8 images, w_avg tracked) for the truncation trick."""
    gen = torch.Generator().manual_seed(2)
    data = Dataset("tiny-rgb", torch.rand(32, 3, 8, 8, generator=gen), source="memory")
    config = Config().with_overrides(
        [
            *TINY_STYLEGAN,
            "optim.name='adam'",
            "optim.lr=0.002",
            "train.batch_size=16",
            "train.max_steps=2",
            "train.progress='none'",
            "train.n_fixed_samples=4",
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


def check_paper_round_trip(run: Path, tmp_path: Path, fmt: str) -> None:
    """The paper's G exported in ``fmt`` gives gannet sample's samples at batch 37 and 1."""
    out = tmp_path / "g.bin"
    assert main(["export", str(run), "--format", fmt, "--out", str(out)]) == 0
    expected = sample_npz(run, tmp_path / "s.npz")["samples"]
    g = load_exported(out)
    assert g.info.format == fmt and g.info.uses_ema and g.info.num_classes == 0
    assert g.info.sample_shape == (1, 8, 8) and g.info.z_dim == 6
    assert g.info.precision == "fp32" and g.info.truncation is None
    z = g.noise(37, seed=11)  # the z gannet sample drew: a batch of 37, exported with 2
    got = g(z).numpy()
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # One sample alone gives the same as inside the batch.
    np.testing.assert_allclose(g(z[5:6]).numpy(), expected[5:6], rtol=0, atol=1e-5)


@pytest.mark.parametrize("fmt", QUICK_FORMATS)
def test_exported_paper_g_reproduces_gannet_sample(
    runs: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    check_paper_round_trip(runs["paper"], tmp_path, fmt)


@pytest.mark.slow
@pytest.mark.skipif(compiler_missing() is not None, reason="no C++ compiler for AOTInductor")
def test_aoti_package_reproduces_gannet_sample(runs: dict[str, Path], tmp_path: Path) -> None:
    check_paper_round_trip(runs["paper"], tmp_path, "aoti")
    out = tmp_path / "g.aoti.pt2"  # the format from the name; opened by torch alone
    assert main(["export", str(runs["paper"]), "--out", str(out)]) == 0
    compiled = torch._inductor.aoti_load_package(str(out))
    z = load_exported(out).noise(37, seed=11)
    with torch.no_grad():
        np.testing.assert_allclose(
            compiled(z).numpy(), load_run(runs["paper"]).sample(37, seed=11), rtol=0, atol=1e-5
        )


def test_pt2_opens_with_torch_alone_and_no_deprecation_warning(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """The documented three-line loader, with no gannet code, at batch sizes 1 and 37."""
    out = tmp_path / "g.pt2"
    assert main(["export", str(runs["paper"]), "--out", str(out)]) == 0  # pt2 from the name
    z = load_exported(out).noise(37, seed=11)
    expected = load_run(runs["paper"]).sample(37, seed=11).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # torch.jit is not on this path
        g = torch.export.load(str(out)).module()
        with torch.no_grad():
            got, one = g(z), g(z[:1])
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(one.numpy(), expected[:1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("fmt", QUICK_FORMATS)
def test_exported_conditional_dcgan_g_reproduces_gannet_sample(
    runs: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"g{SUFFIX[fmt]}"  # the format from the suffix
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
    np.testing.assert_allclose(g(z[:1], 3).numpy(), g(z, 3).numpy()[:1], rtol=0, atol=1e-5)
    with pytest.raises(GannetError, match="conditional"):
        g(z)


def test_stylegan_exports_with_the_truncation_baked_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = stylegan_run(tmp_path / "style")
    out = tmp_path / "g.pt2"
    assert main(["export", str(run), "--out", str(out), "--truncation", "0.6"]) == 0
    g = load_exported(out)
    assert g.info.truncation == 0.6 and g.info.sample_shape == (3, 8, 8)
    expected = sample_npz(run, tmp_path / "s.npz", "--truncation", "0.6")["samples"]
    np.testing.assert_allclose(g(g.noise(37, seed=11)).numpy(), expected, rtol=0, atol=1e-5)
    plain = sample_npz(run, tmp_path / "plain.npz")["samples"]
    assert np.abs(plain - expected).max() > 1e-3  # psi really changed the samples
    assert main(["export", str(run), "--out", str(tmp_path / "bad.pt2"), "--truncation", "2"]) == 2
    one_line(capsys, "--truncation must be in (0, 1]")


def test_bf16_and_int8_within_their_tolerances(runs: dict[str, Path], tmp_path: Path) -> None:
    """bf16 (8-bit mantissa) within 1e-2 of fp32 on samples in [0, 1]; int8 within 5e-2. Both
    really differ from fp32 (the precision was applied), and both take any batch size."""
    run = runs["paper"]
    expected = load_run(run).sample(37, seed=11).numpy()
    cases = [("pt2", "bf16", 1e-2), ("torchscript", "bf16", 1e-2)]
    if ONNX_REASON is None:
        cases.append(("onnx", "int8", 5e-2))
    for fmt, precision, tolerance in cases:
        out = tmp_path / f"{precision}{SUFFIX[fmt]}"
        assert main(["export", str(run), "--out", str(out), "--precision", precision]) == 0
        g = load_exported(out)
        assert g.info.precision == precision and g.info.format == fmt
        z = g.noise(37, seed=11)
        got = g(z).numpy()
        assert got.dtype == np.float32
        gap = float(np.abs(got - expected).max())
        assert 1e-5 < gap < tolerance, (fmt, precision, gap)
        # bf16 kernels accumulate in another order at batch 1: the same tolerance there.
        np.testing.assert_allclose(g(z[:1]).numpy(), expected[:1], rtol=0, atol=tolerance)
    if ONNX_REASON is None:
        import onnx

        ops = {node.op_type for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node}
        assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops, ops


def test_impossible_combinations_are_one_line(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = str(runs["paper"])
    assert main(["export", run, "--out", str(tmp_path / "g.pt2"), "--precision", "int8"]) == 2
    one_line(capsys, "give --format onnx")
    assert main(["export", run, "--out", str(tmp_path / "g.onnx"), "--precision", "bf16"]) == 2
    one_line(capsys, "no bfloat16 kernels")
    assert main(["export", run, "--out", str(tmp_path / "g.pt2"), "--truncation", "0.5"]) == 2
    one_line(capsys, "--truncation needs a generator with the truncation trick")
    if ONNX_REASON is None:  # DCGAN's G: transposed convolutions, nothing int8 would change
        dcgan = str(runs["dcgan"])
        assert (
            main(["export", dcgan, "--out", str(tmp_path / "g.onnx"), "--precision", "int8"]) == 2
        )
        one_line(capsys, "found no layer to quantise")
    monkeypatch.setenv("CXX", "gannet-no-such-compiler")
    assert main(["export", run, "--out", str(tmp_path / "g.aoti.pt2")]) == 2
    one_line(capsys, "needs a C++ compiler")
    assert not list(tmp_path.iterdir())
    assert set(FORMAT_CHOICES) == set(FORMATS) and set(PRECISION_CHOICES) == set(PRECISIONS)


def test_ema_by_default_raw_weights_and_snapshots_on_request(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = runs["paper"]
    z = load_exported(gannet.export(run, tmp_path / "ema.pt2")).noise(20, seed=3)

    def exported(*args: str) -> np.ndarray:
        out = tmp_path / f"g{len(list(tmp_path.iterdir()))}.pt2"
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
    assert main(["export", run, "--format", "pt2", "--out", str(folder)]) == 2
    one_line(capsys, "is a directory")
    assert (folder / "keep.txt").read_text() == "mine"
    blocker = tmp_path / "file.txt"
    blocker.write_text("mine")
    assert main(["export", run, "--out", str(blocker / "g.pt2")]) == 2
    one_line(capsys, "is not a folder")
    assert blocker.read_text() == "mine"
    assert main(["export", run, "--out", "/proc/gannet-export-test.pt2"]) == 2
    one_line(capsys, "/proc/gannet-export-test.pt2")
    assert main(["export", run, "--out", str(tmp_path / "g.h5")]) == 2
    one_line(capsys, "--format pt2|aoti|onnx|torchscript")
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "g.pt2")]) == 2
    one_line(capsys, "missing")
    assert not (tmp_path / "g.pt2").exists()
    # An export that fails leaves the file that was there as it was.
    previous = tmp_path / "prev.pt2"
    previous.write_bytes(b"old")
    assert main(["export", run, "--checkpoint", "nope.pt", "--out", str(previous)]) == 2
    one_line(capsys, "nope.pt")
    assert previous.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # The run's own checkpoint is never the output (the fuzz found it overwritten).
    own = runs["paper"] / "checkpoint.pt"
    before = own.read_bytes()
    assert main(["export", run, "--format", "pt2", "--out", str(own)]) == 2
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


def test_load_exported_refuses_other_files(tmp_path: Path) -> None:
    linear = torch.nn.Linear(2, 2)
    plain = tmp_path / "plain.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit: the legacy format
        torch.jit.save(torch.jit.trace(linear, torch.zeros(1, 2)), str(plain))
    with pytest.raises(GannetError, match="not written by gannet export"):
        load_exported(plain)
    program = tmp_path / "plain.pt2"
    torch.export.save(torch.export.export(linear, (torch.zeros(1, 2),)), str(program))
    with pytest.raises(GannetError, match="not written by gannet export"):
        load_exported(program)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(GannetError, match="damaged archive"):
        load_exported(junk)
    with pytest.raises(GannetError, match="cannot read"):
        load_exported(tmp_path / "absent.pt")
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    if ONNX_REASON is None:
        with pytest.raises(GannetError, match="is not an ONNX model"):
            load_exported(text)
