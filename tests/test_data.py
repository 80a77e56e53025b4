"""Datasets: IDX (MNIST, Fashion-MNIST), CIFAR-10, image folders, synthetic data."""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pickle
import re
import shutil
import struct
import tarfile
from pathlib import Path
from typing import Any, ClassVar
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

import gannet.data.idx as idx_mod
import gannet.data.locate as locate_mod
from gannet.config import DataConfig
from gannet.data import DATASETS, load_dataset, mixture_2d_modes
from gannet.data.cifar import parse_batch, read_archive, safe_unpickle
from gannet.data.folder import load_folder, locate_folder
from gannet.data.idx import parse_idx, read_idx
from gannet.data.locate import cache_dir
from gannet.data.synthetic import gaussian_1d_pdf
from gannet.errors import GannetError
from tests.conftest import mnist_dir

# The real MNIST files, found as the rest of the suite finds them ($GANNET_DATA/mnist, else
# ../shared/data/mnist beside the repo); read here, before `isolated` clears GANNET_DATA.
MNIST_DIR = mnist_dir() or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
MNIST_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
needs_mnist = pytest.mark.skipif(
    not all((MNIST_DIR / f"{f}.gz").is_file() for f in MNIST_FILES),
    reason=f"the real MNIST .gz files are not in {MNIST_DIR}",
)


def _no_network(url: str, timeout: float = 0) -> Any:
    raise URLError("network disabled in tests")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, no real cache, no GANNET_DATA, no system folders."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("GANNET_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("GANNET_CACHE", str(cache))
    monkeypatch.setattr(locate_mod, "urlopen", _no_network)
    monkeypatch.setattr(locate_mod, "SYSTEM_DIRS", {})
    return cache


@pytest.fixture(scope="module")
def mnist() -> Any:
    if not MNIST_DIR.is_dir():
        pytest.skip(f"the real MNIST files are not in {MNIST_DIR}")
    return load_dataset(DataConfig(name="mnist", data_dir=str(MNIST_DIR), download=False))


def _copy_mnist(dest: Path, raw: bool = False) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in MNIST_FILES:
        if raw:
            (dest / f).write_bytes(gzip.decompress((MNIST_DIR / f"{f}.gz").read_bytes()))
        else:
            shutil.copy(MNIST_DIR / f"{f}.gz", dest / f"{f}.gz")
    return dest


def _one_line_error(excinfo: pytest.ExceptionInfo[GannetError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- MNIST ---------------------------------------------------------------------------


@needs_mnist
def test_mnist_shapes_dtypes_and_splits(mnist: Any) -> None:
    assert mnist.name == "mnist"
    assert mnist.train.shape == (50000, 1, 28, 28)
    assert mnist.validation.shape == (10000, 1, 28, 28)
    assert mnist.test.shape == (10000, 1, 28, 28)
    assert mnist.train.dtype == torch.float32
    assert mnist.train_labels.dtype == torch.int64
    assert mnist.train_labels.shape == (50000,)
    assert mnist.validation_labels.shape == (10000,)
    assert mnist.test_labels.shape == (10000,)
    assert float(mnist.train.min()) == 0.0 and float(mnist.train.max()) == 1.0
    assert mnist.num_classes == 10
    assert mnist.source == str(MNIST_DIR)
    assert mnist.is_image and mnist.sample_shape == (1, 28, 28)
    assert int(mnist.train_labels[0]) == 5  # the famous first MNIST digit
    assert int(mnist.test_labels[0]) == 7
    assert set(mnist.train_labels.tolist()) == set(range(10))


@needs_mnist
def test_mnist_validation_is_the_end_of_the_training_file(mnist: Any) -> None:
    images = read_idx(MNIST_DIR / "train-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_DIR / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60000, 28, 28)
    for i in (0, 49999):
        assert torch.equal(mnist.train[i, 0], torch.from_numpy(images[i].copy()).float() / 255)
    for j in (0, 9999):
        expected = torch.from_numpy(images[50000 + j].copy()).float() / 255
        assert torch.equal(mnist.validation[j, 0], expected)
        assert int(mnist.validation_labels[j]) == int(labels[50000 + j])


@needs_mnist
def test_mnist_subset_and_validation_size() -> None:
    cfg = DataConfig(data_dir=str(MNIST_DIR), subset=100, validation_size=5000, download=False)
    ds = load_dataset(cfg)
    assert ds.train.shape == (100, 1, 28, 28)
    assert ds.train_labels.shape == (100,)
    assert ds.validation.shape == (5000, 1, 28, 28)
    assert int(ds.train_labels[0]) == 5


@needs_mnist
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"validation_size": 60000}, "validation_size=60000"),
        ({"validation_size": -1}, "validation_size must be >= 0"),
        ({"subset": 50001}, "subset=50001"),
        ({"subset": -3}, "subset must be >= 0"),
    ],
)
def test_mnist_bad_split_settings(changes: dict[str, int], match: str) -> None:
    cfg = DataConfig(data_dir=str(MNIST_DIR), download=False, **changes)  # type: ignore[arg-type]
    with pytest.raises(GannetError, match=match):
        load_dataset(cfg)


@needs_mnist
def test_mnist_raw_files_give_the_same_data(tmp_path: Path, mnist: Any) -> None:
    folder = _copy_mnist(tmp_path / "raw", raw=True)
    ds = load_dataset(DataConfig(data_dir=str(folder), download=False))
    assert ds.source == str(folder)
    assert torch.equal(ds.train_labels, mnist.train_labels)
    assert torch.equal(ds.test[:50], mnist.test[:50])
    assert torch.equal(ds.validation[-50:], mnist.validation[-50:])


@needs_mnist
def test_mnist_gz_md5_mismatch_names_the_file(tmp_path: Path) -> None:
    folder = _copy_mnist(tmp_path / "bad")
    target = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(data_dir=str(folder), download=False))
    message = _one_line_error(excinfo)
    assert str(target) in message
    assert "MD5" in message and "delete it" in message


@needs_mnist
def test_mnist_raw_md5_mismatch(tmp_path: Path) -> None:
    folder = _copy_mnist(tmp_path / "raw", raw=True)
    target = folder / "train-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[8] = (data[8] + 1) % 10  # a valid-looking label, but not the official file
    target.write_bytes(bytes(data))
    with pytest.raises(GannetError, match="train-labels-idx1-ubyte failed its MD5 check"):
        load_dataset(DataConfig(data_dir=str(folder), download=False))


@needs_mnist
def test_truncated_and_corrupt_idx_files(tmp_path: Path) -> None:
    raw = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert parse_idx(raw).shape == (10000,)
    truncated = tmp_path / "t10k-labels-idx1-ubyte"
    truncated.write_bytes(raw[:5000])
    with pytest.raises(GannetError, match="is truncated") as excinfo:
        read_idx(truncated)
    assert str(truncated) in _one_line_error(excinfo)
    bad_gz = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad_gz.write_bytes((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(GannetError, match="not a valid gzip file"):
        read_idx(bad_gz)
    with pytest.raises(GannetError, match="bad magic number"):
        parse_idx(b"\x01\x02\x08\x01" + raw[4:], "x")
    with pytest.raises(GannetError, match="longer than its header"):
        parse_idx(raw + b"\x00", "x")
    with pytest.raises(GannetError, match="truncated"):
        parse_idx(b"\x00\x00", "x")


def test_missing_files_with_download_off(isolated: Path) -> None:
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(name="mnist", download=False))
    message = _one_line_error(excinfo)
    assert message.startswith("MNIST files missing: train-images-idx3-ubyte.gz, ")
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert str(isolated / "mnist") in message
    assert "GANNET_DATA" in message and "download=true" in message


def test_missing_files_in_data_dir_name_that_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"partial set")
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(name="mnist", data_dir=str(folder), download=True))
    message = _one_line_error(excinfo)
    assert f"MNIST files missing in {folder}" in message
    assert "train-labels-idx1-ubyte.gz" in message
    assert "train-images-idx3-ubyte.gz" not in message
    with pytest.raises(GannetError, match="does not exist"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path / "nope")))
    with pytest.raises(GannetError, match="is not a folder"):
        load_dataset(DataConfig(name="mnist", data_dir=str(folder / "train-images-idx3-ubyte.gz")))


def test_missing_files_download_fails_offline(isolated: Path) -> None:
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(name="mnist", download=True))
    message = _one_line_error(excinfo)
    assert message.startswith("MNIST files missing: train-images-idx3-ubyte.gz")
    assert "download failed" in message and "network disabled in tests" in message
    assert "ossci-datasets" in message and "cvdf-datasets" in message  # both mirrors tried
    assert not any(isolated.rglob("*.*")), "no temporary file may be left behind"


@needs_mnist
def test_download_verifies_and_falls_back_to_the_second_mirror(
    monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    requested: list[str] = []

    def serve(url: str, timeout: float = 0) -> Any:
        requested.append(url)
        assert timeout == 10.0
        if "ossci-datasets" in url:
            raise URLError("first mirror down")
        return open(MNIST_DIR / url.rsplit("/", 1)[1], "rb")

    monkeypatch.setattr(locate_mod, "urlopen", serve)
    cfg = DataConfig(name="mnist", download=True, subset=10)
    assert DATASETS.get("mnist").locate(cfg) is None
    ds = load_dataset(cfg)
    assert ds.source == str(isolated / "mnist")
    assert ds.train.shape == (10, 1, 28, 28) and int(ds.train_labels[0]) == 5
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == sorted(
        f"{f}.gz" for f in MNIST_FILES
    )
    assert len(requested) == 8
    assert requested[1] == "https://storage.googleapis.com/cvdf-datasets/mnist/" + (
        "train-images-idx3-ubyte.gz"
    )
    assert DATASETS.get("mnist").locate(cfg) == str(isolated / "mnist")


@needs_mnist
def test_download_with_wrong_checksum_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    def serve_wrong(url: str, timeout: float = 0) -> Any:
        return io.BytesIO((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())

    monkeypatch.setattr(locate_mod, "urlopen", serve_wrong)
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(name="mnist", download=True))
    message = _one_line_error(excinfo)
    assert "download failed" in message and "MD5 mismatch" in message
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in message
    assert list((isolated / "mnist").iterdir()) == []


@needs_mnist
def test_gannet_data_env_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = DataConfig(name="mnist", download=False)
    monkeypatch.setenv("GANNET_DATA", str(MNIST_DIR.parent))  # $GANNET_DATA/mnist/
    assert DATASETS.get("mnist").locate(cfg) == str(MNIST_DIR)
    monkeypatch.setenv("GANNET_DATA", str(MNIST_DIR))  # $GANNET_DATA itself
    assert DATASETS.get("mnist").locate(cfg) == str(MNIST_DIR)
    ds = load_dataset(DataConfig(name="mnist", download=False, subset=3))
    assert ds.source == str(MNIST_DIR) and ds.train.shape[0] == 3


def test_cache_dir_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert cache_dir("mnist") == Path(os.environ["GANNET_CACHE"]) / "mnist"
    monkeypatch.delenv("GANNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("cifar10") == tmp_path / "xdg" / "gannet" / "cifar10"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir("mnist") == Path.home() / ".cache" / "gannet" / "mnist"


# -- Fashion-MNIST (fake raw files: raw files are checked by header and exact size) ---


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _fake_fashion(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        images = (np.arange(n * 784, dtype=np.int64) % 251).reshape(n, 28, 28)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return folder


def _accept_fake_raw_fashion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake raw files cannot match the official decompressed checksums: drop those."""
    spec = idx_mod.FASHION_MNIST
    files = {
        field: dataclasses.replace(getattr(spec, field), raw_md5=None)
        for field in ("train_images", "train_labels", "test_images", "test_labels")
    }
    monkeypatch.setattr(idx_mod, "FASHION_MNIST", dataclasses.replace(spec, **files))


def test_fashion_mnist_fake_raw_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = _fake_fashion(tmp_path / "fashion-mnist")
    _accept_fake_raw_fashion(monkeypatch)
    monkeypatch.setenv("GANNET_DATA", str(tmp_path))
    cfg = DataConfig(name="fashion-mnist", download=False)
    assert DATASETS.get("fashion-mnist").locate(cfg) == str(folder)
    ds = load_dataset(cfg)
    assert ds.name == "fashion-mnist" and ds.source == str(folder)
    assert ds.train.shape == (50000, 1, 28, 28) and ds.test.shape == (10000, 1, 28, 28)
    assert ds.train_labels[:3].tolist() == [0, 1, 2]
    assert ds.validation_labels[0] == 50000 % 10
    assert float(ds.train[0, 0, 0, 5]) == pytest.approx(5 / 255)
    assert float(ds.validation[0, 0, 0, 0]) == pytest.approx((50000 * 784 % 251) / 255)


def test_fashion_mnist_raw_files_are_checksummed(tmp_path: Path) -> None:
    folder = _fake_fashion(tmp_path / "fashion-mnist")
    with pytest.raises(GannetError, match="train-images-idx3-ubyte failed its MD5 check"):
        load_dataset(DataConfig(name="fashion-mnist", data_dir=str(folder), download=False))


@needs_mnist
def test_recompressed_gz_is_accepted_by_its_content(tmp_path: Path) -> None:
    """Debian's dataset packages rewrite gzip headers: the content checksum decides."""
    folder = _copy_mnist(tmp_path / "recompressed")
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes()), mtime=0))
    ds = load_dataset(DataConfig(data_dir=str(folder), download=False))
    assert ds.test_labels is not None and ds.test_labels.shape == (10000,)
    # Different content in a valid gzip: refused with the official .gz checksum named.
    target.write_bytes(gzip.compress(b"\x00" * 100, mtime=0))
    with pytest.raises(
        GannetError, match=re.escape("t10k-labels-idx1-ubyte.gz failed its MD5 check")
    ):
        load_dataset(DataConfig(data_dir=str(folder), download=False))


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_loads() -> None:
    ds = load_dataset(
        DataConfig(name="fashion-mnist", data_dir="/usr/share/datasets/fashion-mnist")
    )
    assert ds.train.shape == (50000, 1, 28, 28) and ds.num_classes == 10
    assert ds.test_labels is not None and ds.test_labels.bincount().tolist() == [1000] * 10


def test_fashion_mnist_bad_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = _fake_fashion(tmp_path / "fashion-mnist")
    _accept_fake_raw_fashion(monkeypatch)
    monkeypatch.setitem(locate_mod.SYSTEM_DIRS, "fashion-mnist", [str(folder)])
    cfg = DataConfig(name="fashion-mnist", download=False)
    assert DATASETS.get("fashion-mnist").locate(cfg) == str(folder)  # system folder searched

    labels = folder / "t10k-labels-idx1-ubyte"
    _write_idx(labels, np.full(10000, 12))
    with pytest.raises(GannetError, match=re.escape("not all in 0..9")):
        load_dataset(cfg)
    labels.write_bytes(labels.read_bytes()[:-10])
    with pytest.raises(GannetError, match="t10k-labels-idx1-ubyte is truncated"):
        load_dataset(cfg)
    _write_idx(labels, np.zeros(9999))  # consistent header, wrong count
    with pytest.raises(GannetError, match=r"expected uint8 \(10000,\)"):
        load_dataset(cfg)
    # A .gz is always checked against the official checksum, so a fake one is refused.
    labels.unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00" * 100))
    with pytest.raises(
        GannetError, match=re.escape("t10k-labels-idx1-ubyte.gz failed its MD5 check")
    ):
        load_dataset(cfg)


# -- CIFAR-10 ------------------------------------------------------------------------


def _batch(n: int, offset: int) -> dict[bytes, Any]:
    rng = np.random.default_rng(offset)
    return {
        b"batch_label": b"fake batch",
        b"labels": [int(x) for x in (np.arange(n) + offset) % 10],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def _fake_cifar(folder: Path) -> dict[str, dict[bytes, Any]]:
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": _batch(4, 4 * (i - 1)) for i in range(1, 6)}
    batches["test_batch"] = _batch(6, 100)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))  # as the real files
    return batches


def test_cifar10_from_fake_extracted_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    batch_dir = tmp_path / "cifar10" / "cifar-10-batches-py"
    batches = _fake_cifar(batch_dir)
    monkeypatch.setenv("GANNET_DATA", str(tmp_path))
    cfg = DataConfig(name="cifar10", download=False, validation_size=5)
    assert DATASETS.get("cifar10").locate(cfg) == str(batch_dir)
    ds = load_dataset(cfg)
    assert ds.source == str(batch_dir)
    assert ds.train.shape == (15, 3, 32, 32) and ds.train.dtype == torch.float32
    assert ds.validation.shape == (5, 3, 32, 32) and ds.test.shape == (6, 3, 32, 32)
    assert ds.num_classes == 10 and ds.train_labels.dtype == torch.int64
    assert ds.train_labels.tolist() == list(range(10)) + list(range(5))
    assert ds.validation_labels.tolist() == [5, 6, 7, 8, 9]
    row = batches["data_batch_1"][b"data"][0]  # 1024 red, 1024 green, 1024 blue, row-major
    assert float(ds.train[0, 1, 2, 3]) == pytest.approx(row[1024 + 2 * 32 + 3] / 255)
    last = batches["data_batch_5"][b"data"][3]
    assert float(ds.validation[-1, 2, 31, 31]) == pytest.approx(last[3071] / 255)
    assert float(ds.test.min()) >= 0.0 and float(ds.test.max()) <= 1.0

    # data_dir may point straight at the batch folder; subset is honoured.
    ds2 = load_dataset(
        DataConfig(name="cifar10", data_dir=str(batch_dir), validation_size=0, subset=7)
    )
    assert ds2.train.shape == (7, 3, 32, 32) and ds2.validation is None
    with pytest.raises(GannetError, match="validation_size=10000"):
        load_dataset(DataConfig(name="cifar10", data_dir=str(batch_dir)))


def test_cifar10_archive(tmp_path: Path) -> None:
    batches = _fake_cifar(tmp_path / "src" / "cifar-10-batches-py")
    archive = tmp_path / "dl" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    read = read_archive(archive, md5=None)  # a hand-made archive: skip the official MD5
    assert np.array_equal(read["test_batch"][0].reshape(6, 3072), batches["test_batch"][b"data"])
    assert read["data_batch_2"][1].tolist() == [4, 5, 6, 7]
    # Through the registry the archive must be the official one.
    cfg = DataConfig(name="cifar10", data_dir=str(archive.parent), validation_size=5)
    assert DATASETS.get("cifar10").locate(cfg) == str(archive.parent)
    with pytest.raises(GannetError, match=re.escape("cifar-10-python.tar.gz failed its MD5 check")):
        load_dataset(cfg)
    archive.write_bytes(b"not a tarball")
    with pytest.raises(GannetError, match="archive is corrupt"):
        read_archive(archive, md5=None)


def test_cifar10_missing_and_malformed(tmp_path: Path, isolated: Path) -> None:
    with pytest.raises(GannetError) as excinfo:
        load_dataset(DataConfig(name="cifar10", download=True))
    message = _one_line_error(excinfo)
    assert "CIFAR-10 files missing: cifar-10-python.tar.gz" in message
    assert "www.cs.toronto.edu" in message and str(isolated / "cifar10") in message

    batch_dir = tmp_path / "c"
    _fake_cifar(batch_dir)
    (batch_dir / "test_batch").write_bytes(pickle.dumps({b"data": [1, 2, 3]}, protocol=2))
    with pytest.raises(GannetError, match="is not a CIFAR-10 batch"):
        load_dataset(DataConfig(name="cifar10", data_dir=str(batch_dir), validation_size=5))
    (batch_dir / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(GannetError, match="is not a valid CIFAR-10 batch"):
        load_dataset(DataConfig(name="cifar10", data_dir=str(batch_dir), validation_size=5))


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes as Python 2 ``str`` opcodes, like the official CIFAR-10 batches."""

    dispatch: ClassVar[dict[Any, Any]] = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def _save_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_str


def test_cifar10_python2_style_batch() -> None:
    batch = _batch(3, 7)
    out = io.BytesIO()
    _Py2Pickler(out, protocol=2).dump(batch)
    # The official files name numpy 1's module; GLOBAL opcodes are plain text lines.
    data = out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data and b"_codecs" not in data
    images, labels = parse_batch(data, "py2 batch")
    assert images.shape == (3, 3, 32, 32)
    assert np.array_equal(images.reshape(3, 3072), batch[b"data"])
    assert labels.tolist() == [7, 8, 9]


class _Evil:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.path,))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": _Evil(str(marker)), b"labels": []}, protocol=2)
    pickle.loads(payload)  # the ordinary unpickler really does run the payload ...
    assert marker.is_dir()
    marker.rmdir()
    with pytest.raises(GannetError, match="refusing to unpickle"):  # ... the restricted one not
        safe_unpickle(payload, "evil")
    assert not marker.exists()

    batch_dir = tmp_path / "c"
    _fake_cifar(batch_dir)
    (batch_dir / "data_batch_3").write_bytes(payload)
    with pytest.raises(GannetError, match="data_batch_3: refusing to unpickle"):
        load_dataset(DataConfig(name="cifar10", data_dir=str(batch_dir), validation_size=5))
    assert not marker.exists()


# -- image folders -------------------------------------------------------------------


def _save(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def test_folder_with_class_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    # 30x10 image: black 10-pixel bands left and right, white centre square.
    banded = np.zeros((10, 30, 3), dtype=np.uint8)
    banded[:, 10:20] = 255
    _save(root / "dogs" / "b.png", Image.fromarray(banded))
    _save(root / "cats" / "a.PNG", Image.new("RGB", (20, 20), (255, 0, 0)))
    _save(root / "dogs" / "c.JPG", Image.new("RGB", (16, 24), (0, 0, 255)))
    _save(root / "dogs" / "deeper" / "d.jpeg", Image.new("RGB", (8, 8), (0, 255, 0)))
    (root / "dogs" / "notes.txt").write_text("not an image")
    cfg = DataConfig(name="folder", data_dir=str(root), image_size=8)
    assert DATASETS.get("folder").locate(cfg) == str(root)
    ds = load_dataset(
        DataConfig(name="folder", data_dir=str(root), image_size=8, validation_size=0)
    )
    assert ds.train.shape == (4, 3, 8, 8) and ds.train.dtype == torch.uint8  # floats: as_float
    assert ds.validation is None and ds.test is None
    ds.train = ds.as_float("train")
    assert ds.num_classes == 2 and ds.source == str(root)
    # sorted paths: cats/a.PNG, dogs/b.png, dogs/c.JPG, dogs/deeper/d.jpeg
    assert ds.train_labels.tolist() == [0, 1, 1, 1]
    assert torch.allclose(ds.train[0, 0], torch.ones(8, 8)) and float(ds.train[0, 1].max()) == 0
    assert torch.allclose(ds.train[1], torch.ones(3, 8, 8), atol=0.02)  # centre crop = white
    assert float(ds.train[2, 2].mean()) > 0.9 and float(ds.train[2, 0].mean()) < 0.1  # JPEG blue
    sub = load_folder(
        DataConfig(name="folder", data_dir=str(root), image_size=8, subset=2, validation_size=0)
    )
    assert sub.train.shape[0] == 2 and sub.train_labels.tolist() == [0, 1]


def test_folder_unlabelled_and_grayscale(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    _save(root / "x.png", Image.new("L", (12, 12), 128))
    _save(root / "y.jpg", Image.new("L", (12, 20), 255))
    cfg = DataConfig(name="folder", data_dir=str(root), image_size=6, validation_size=0)
    ds = load_dataset(cfg)
    assert ds.train.shape == (2, 1, 6, 6)
    assert ds.train_labels is None and ds.num_classes == 0
    assert float(ds.as_float("train")[0].mean()) == pytest.approx(128 / 255)
    # One colour image makes the whole set RGB (grayscale images repeated on 3 channels).
    # Transparency is composited on white: alpha 10 of 255 leaves 245 of white in red.
    _save(root / "z.png", Image.new("RGBA", (6, 6), (0, 255, 0, 10)))
    ds = load_dataset(cfg)
    assert ds.train.shape == (3, 3, 6, 6)
    assert torch.equal(ds.train[0, 0], ds.train[0, 2])
    assert int(ds.train[2, 1].min()) == 255 and int(ds.train[2, 0].max()) == 245


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(GannetError, match=re.escape("needs data.data_dir")):
        load_dataset(DataConfig(name="folder"))
    assert DATASETS.get("folder").locate(DataConfig(name="folder")) is None
    with pytest.raises(GannetError, match="is not a folder"):
        load_dataset(DataConfig(name="folder", data_dir=str(tmp_path / "missing")))
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "a.txt").write_text("hi")
    with pytest.raises(GannetError, match="no images"):
        load_dataset(DataConfig(name="folder", data_dir=str(empty)))
    assert locate_folder(DataConfig(name="folder", data_dir=str(empty))) is None
    _save(empty / "ok.png", Image.new("RGB", (4, 4)))
    bad = empty / "sub" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a JPEG")
    with pytest.raises(GannetError) as excinfo:  # skipped with a warning unless strict
        load_dataset(DataConfig(name="folder", data_dir=str(empty), image_size=4, strict=True))
    message = _one_line_error(excinfo)
    assert message.startswith(f"1 of the 2 image files under {empty} cannot be read: sub/broken")
    bad.unlink()
    with pytest.raises(GannetError, match="image_size must be a positive"):
        load_dataset(DataConfig(name="folder", data_dir=str(empty), image_size=0))


# -- synthetic -----------------------------------------------------------------------


def test_gaussian_1d() -> None:
    cfg = DataConfig(name="gaussian-1d", n_samples=20000, mean=-1.5, std=0.25)
    ds = load_dataset(cfg)
    assert ds.train.shape == (20000, 1) and ds.train.dtype == torch.float32
    assert ds.validation.shape == (10000, 1) and ds.test.shape == (10000, 1)
    assert ds.source == "synthetic" and not ds.is_image and ds.train_labels is None
    assert float(ds.train.mean()) == pytest.approx(-1.5, abs=0.01)
    assert float(ds.train.std()) == pytest.approx(0.25, abs=0.01)
    again = load_dataset(cfg)
    assert torch.equal(ds.train, again.train) and torch.equal(ds.test, again.test)
    assert not torch.equal(ds.validation, ds.test)
    assert load_dataset(DataConfig(name="gaussian-1d", subset=10)).train.shape == (10, 1)
    with pytest.raises(GannetError, match="std > 0"):
        load_dataset(DataConfig(name="gaussian-1d", std=0.0))
    with pytest.raises(GannetError, match="n_samples"):
        load_dataset(DataConfig(name="gaussian-1d", n_samples=0))
    x = torch.linspace(-4, 1, 20001)
    density = gaussian_1d_pdf(x, -1.5, 0.25)
    assert float(torch.trapezoid(density, x)) == pytest.approx(1.0, abs=1e-4)
    assert float(density.max()) == pytest.approx(1 / (0.25 * (2 * torch.pi) ** 0.5), rel=1e-4)


def test_mixture_2d_ring() -> None:
    cfg = DataConfig(name="mixture-2d", mixture="ring", n_samples=4000)
    ds = load_dataset(cfg)
    assert ds.train.shape == (4000, 2) and ds.validation.shape == (10000, 2)
    assert ds.num_classes == 8 and ds.train_labels.dtype == torch.int64
    assert set(ds.train_labels.tolist()) == set(range(8))
    radius = ds.train.norm(dim=1)
    assert float((radius - 2).abs().max()) < 0.15
    centres, std = mixture_2d_modes("ring")
    assert centres.shape == (8, 2) and std == 0.02
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0))
    distance = (ds.train - centres[ds.train_labels]).norm(dim=1)
    assert float(distance.max()) < 6 * std
    assert torch.equal(ds.train, load_dataset(cfg).train)


def test_mixture_2d_grid() -> None:
    ds = load_dataset(DataConfig(name="mixture-2d", mixture="grid", n_samples=5000))
    assert ds.num_classes == 25 and ds.test.shape == (10000, 2)
    centres, std = mixture_2d_modes("grid")
    assert std == 0.05
    assert sorted(map(tuple, centres.tolist())) == [
        (float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)
    ]
    nearest = torch.cdist(ds.train, centres).argmin(dim=1)
    assert torch.equal(nearest, ds.train_labels)
    assert set(ds.train_labels.tolist()) == set(range(25))
    with pytest.raises(GannetError, match=re.escape("unknown data.mixture 'spiral'")):
        mixture_2d_modes("spiral")


# -- registry ------------------------------------------------------------------------


def test_registry_has_every_dataset() -> None:
    names = {"mnist", "fashion-mnist", "cifar10", "folder", "gaussian-1d", "mixture-2d"}
    assert names <= set(DATASETS.names())
    for name in names:
        assert DATASETS.get(name).description
    with pytest.raises(GannetError, match="unknown dataset 'imagenet'"):
        load_dataset(DataConfig(name="imagenet"))


def test_locate_results(tmp_path: Path) -> None:
    for name in ("gaussian-1d", "mixture-2d"):
        assert DATASETS.get(name).locate(DataConfig(name=name)) == "synthetic"
    for name in ("mnist", "fashion-mnist", "cifar10"):
        assert DATASETS.get(name).locate(DataConfig(name=name)) is None  # nothing anywhere
        assert DATASETS.get(name).locate(DataConfig(name=name, data_dir=str(tmp_path))) is None
    if MNIST_DIR.is_dir():
        cfg = DataConfig(name="mnist", data_dir=str(MNIST_DIR))
        assert DATASETS.get("mnist").locate(cfg) == str(MNIST_DIR)
        cfg = DataConfig(name="mnist", data_dir=str(MNIST_DIR.parent))  # <data_dir>/mnist
        assert DATASETS.get("mnist").locate(cfg) == str(MNIST_DIR)
