"""The shipped classifiers: pinned, versioned, loaded safely, used by the metrics with no
training and no network, giving the number docs/evaluation.md prints; the self-test table
on the shipped MNIST extractor (what CI runs) and that it catches the known metric bugs."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from gannet.cli import main
from gannet.config import DataConfig
from gannet.data import load_dataset
from gannet.errors import GannetError
from gannet.metrics.classifier import (
    SHIPPED,
    dataset_classifier,
    latest_shipped,
    load_shipped,
    shipped_path,
)
from gannet.metrics.features import Extractor, default_extractor, make_extractor
from gannet.metrics.scores import parse_metric

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "evaluation.md"
MAX_BYTES = 2_000_000


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty GANNET_CACHE, offline, and any socket connection an error."""
    cache = tmp_path / "fresh-cache"
    monkeypatch.setenv("GANNET_CACHE", str(cache))
    monkeypatch.setenv("GANNET_OFFLINE", "1")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return cache


def test_every_shipped_file_is_small_pinned_and_loads(fresh: Path) -> None:
    assert {e.dataset for e in SHIPPED} >= {"mnist", "fashion-mnist"}
    for entry in SHIPPED:
        path = shipped_path(entry)
        assert path.parent.name == "weights" and path.name == f"{entry.name}.pt"
        assert path.stat().st_size <= MAX_BYTES, (path, path.stat().st_size)
        model, info = load_shipped(entry)
        assert info.dataset == entry.dataset and info.weights_dtype == "float16"
        assert info.test_accuracy > {"cifar10": 0.6}.get(entry.dataset, 0.9)
        assert not model.training
        assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not fresh.exists()  # nothing trained, nothing cached


def test_a_damaged_shipped_file_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gannet.metrics.classifier import shipped

    entry = SHIPPED[0]
    copy = tmp_path / "weights" / entry.filename
    copy.parent.mkdir()
    data = bytearray(shipped_path(entry).read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(shipped, "shipped_path", lambda e: copy)
    with pytest.raises(GannetError, match="damaged or was replaced") as caught:
        load_shipped(entry)
    assert "\n" not in str(caught.value) and entry.sha256 in str(caught.value)


def test_names_resolve_to_the_versioned_extractor(fresh: Path) -> None:
    newest = latest_shipped("mnist")
    assert newest is not None and newest.name.startswith("mnist-classifier-v")
    assert default_extractor("mnist") == newest.name
    assert parse_metric("fid", default_extractor("mnist")) == ("fid", newest.name)
    assert parse_metric("kid_mnist-classifier", "inception") == ("kid", newest.name)
    assert make_extractor("mnist-classifier").name == newest.name
    assert make_extractor(newest.name).weights_sha256 == newest.sha256
    assert dataset_classifier("mnist").name == newest.name
    # The classifier trained on this machine stays reachable by its own name.
    with pytest.raises(GannetError, match="gannet classifier train mnist"):
        make_extractor("mnist-classifier-local")


def fixed_samples(mnist: Path) -> np.ndarray:
    """2,000 'samples': the first 2,000 MNIST training digits with seeded pixel noise
    (sigma 0.1, NumPy's PCG64, the same on every platform), clipped and rounded to 8 bits."""
    data = load_dataset(DataConfig(name="mnist", data_dir=str(mnist), subset=2000))
    rng = np.random.default_rng(2024)
    train = data.as_float("train")
    assert train is not None
    x = train.numpy().astype(np.float64)
    x = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0.0, 1.0)
    return (np.round(x * 255) / 255).astype(np.float32)


def documented(name: str) -> float:
    """The value docs/evaluation.md prints for the fixed samples file (``<name>: **V**``)."""
    found = re.search(
        rf"`{re.escape(name)}` of the fixed samples file: \*\*([0-9.]+)\*\*", DOCS.read_text()
    )
    assert found, f"docs/evaluation.md has no value for {name}"
    return float(found.group(1))


def test_fresh_install_offline_fid_equals_the_documented_value(
    fresh: Path, tmp_path: Path, mnist_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gannet.files.samplefile import write_samples_npz

    monkeypatch.setenv("GANNET_DATA", str(mnist_path.parent))
    samples = tmp_path / "fixed.npz"
    write_samples_npz(samples, fixed_samples(mnist_path))
    out = tmp_path / "fid.json"
    assert main(["eval", "fid", str(samples), "--against", "mnist:test", "--out", str(out),
                 "--device", "cpu"]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    name = result["extractor"]
    newest = latest_shipped("mnist")
    assert newest is not None and name == newest.name
    assert result["weights_sha256"] == newest.sha256 and result["n_samples"] == 2000
    value = result[f"fid_{name}"]
    # The same number on every machine up to float rounding (the docs print 4 decimals).
    assert value == pytest.approx(documented(f"fid_{name}"), abs=1e-3)
    assert not (fresh / "classifiers").exists()  # no classifier was trained


def test_modes_work_with_the_shipped_classifier(
    fresh: Path, tmp_path: Path, mnist_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gannet.files.samplefile import write_samples_npz

    monkeypatch.setenv("GANNET_DATA", str(mnist_path.parent))
    samples = tmp_path / "fixed.npz"
    write_samples_npz(samples, fixed_samples(mnist_path)[:1000])
    out = tmp_path / "modes.json"
    argv = ["eval", "modes", "--samples-file", str(samples), "--data", "mnist", "--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["classes_covered"] == 10
    assert result["classifier"]["name"] == default_extractor("mnist")
    assert not (fresh / "classifiers").exists()


def test_selftest_passes_on_the_shipped_mnist_extractor(
    fresh: Path, tmp_path: Path, mnist_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("GANNET_DATA", str(mnist_path.parent))
    out = tmp_path / "selftest.json"
    code = main(["eval", "selftest", "--samples", "500", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "all passed" in printed and "FAIL" not in printed
    result = json.loads(out.read_text())
    assert result["passed"] and result["extractor"] == default_extractor("mnist")
    assert len(result["checks"]) >= 14


class TrainingModeNetwork:
    """The shipped classifier called as pytorch-fid #118 called Inception: training mode."""

    def __init__(self, extractor: Extractor) -> None:
        self.model = extractor.network

    def predict_features(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        self.model.train()
        with torch.no_grad():
            return torch.cat([self.model.features(x[i : i + batch_size])
                              for i in range(0, len(x), batch_size)])  # fmt: skip


def test_selftest_catches_training_mode_and_swapped_precision_recall(
    fresh: Path, mnist_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gannet.metrics import selftest
    from gannet.metrics.prc import precision_recall

    images = load_dataset(DataConfig(name="mnist", data_dir=str(mnist_path))).test
    assert images is not None
    good = make_extractor("mnist-classifier")
    broken = Extractor(good.name, good.weights_sha256, TrainingModeNetwork(good), good.input_shape)
    failed = [c.name for c in selftest.run_selftest(broken, images, "mnist", n=300).checks
              if not c.passed]  # fmt: skip
    assert any(name.startswith("eval mode") for name in failed), failed
    monkeypatch.setattr(selftest, "precision_recall", lambda a, b: precision_recall(a, b)[::-1])
    result = selftest.run_selftest(good, images, "mnist", n=300)
    failed = [c.name for c in result.checks if not c.passed]
    assert "collapse: precision 1" in failed and "collapse: recall 0" in failed
    assert not result.passed and "FAILED" in result.table()


def test_fid_and_kid_agree_with_independent_computations_on_shipped_features(
    fresh: Path, mnist_path: Path
) -> None:
    """Cross-checks on identical features: scipy's sqrtm formula (pytorch-fid's), where the
    covariances are well conditioned, and the unbiased MMD² as a brute-force double loop."""
    import itertools

    import scipy.linalg

    from gannet.metrics.frechet import feature_stats, frechet_distance
    from gannet.metrics.kid import mmd2_unbiased

    data = load_dataset(DataConfig(name="mnist", data_dir=str(mnist_path), subset=3000))
    assert data.test is not None
    extractor = make_extractor("mnist-classifier")
    train = extractor.features(data.as_float("train"))
    test = extractor.features(data.test[:3000])
    keep = (train.std(axis=0) > 1e-3) & (test.std(axis=0) > 1e-3)  # no dead ReLU features
    x, y = train[:, keep], test[:, keep]
    (mu1, s1), (mu2, s2) = feature_stats(x), feature_stats(y)
    assert np.linalg.cond(s1) < 1e7 and np.linalg.cond(s2) < 1e7
    root = scipy.linalg.sqrtm(s1 @ s2)
    assert np.abs(root.imag).max() < 1e-6 * np.abs(root.real).max()
    naive = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(naive, rel=1e-7)
    m, d = 25, x.shape[1]
    a, b = x[:m], y[:m]

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return (sum(float(ui) * float(vi) for ui, vi in zip(u, v, strict=True)) / d + 1) ** 3

    pairs = [(i, j) for i, j in itertools.product(range(m), repeat=2) if i != j]
    within = sum(k(a[i], a[j]) + k(b[i], b[j]) for i, j in pairs) / (m * (m - 1))
    across = sum(k(a[i], b[j]) for i, j in itertools.product(range(m), repeat=2)) / (m * m)
    assert mmd2_unbiased(a, b) == pytest.approx(within - 2 * across, rel=1e-10)
