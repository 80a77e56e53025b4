"""gannet's own classifier: the model, quick training, the cache file, and the commands that
use it (``gannet classifier``, ``gannet eval modes`` on image data).

Training to 99 % is the benchmark's job (benchmarks/classifier_accuracy.py); here a model
sees ~1,300 MNIST images once and must still be far above chance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import gannet.metrics.classifier as C
from gannet.cli import main
from gannet.config import DataConfig
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.metrics.classifier import (
    Classifier,
    ClassifierInfo,
    cached_classifier,
    classifier_path,
    evaluate_accuracy,
    fit_classifier,
    load_classifier,
    save_classifier,
)


def cli_env(cache: Path) -> dict[str, str]:
    return {**os.environ, "GANNET_CACHE": str(cache)}


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gannet", *args], capture_output=True, text=True, env=cli_env(cache)
    )


def one_clear_line(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gannet: error: ") and fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def mnist() -> tuple[Dataset, Path]:
    from tests.conftest import mnist_dir

    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found")
    return load_dataset(DataConfig(name="mnist", data_dir=str(path), subset=1280)), path


@pytest.fixture(scope="module")
def tiny(mnist: tuple[Dataset, Path]) -> tuple[Classifier, ClassifierInfo]:
    """The real architecture after one pass over 1,280 MNIST images (40 steps of 32)."""
    data, _ = mnist
    assert data.train_labels is not None and data.test is not None
    assert data.test_labels is not None
    # One thread: the suite often shares the CPU, where two threads mostly wait on each other.
    model, history = fit_classifier(
        data.train, data.train_labels, epochs=1, batch_size=32, threads=1
    )
    info = ClassifierInfo(
        dataset="mnist",
        test_accuracy=evaluate_accuracy(model, data.test[:1000], data.test_labels[:1000]),
        epochs=1,
        batch_size=32,
        n_train=len(data.train),
        n_test=1000,
        seconds=history[-1]["seconds"],
        arch=model.arch(),
        history=history,
    )
    return model, info


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GANNET_CACHE", str(folder))
    return folder


# --------------------------------------------------------------------------- the model


def test_shapes_features_and_logits() -> None:
    torch.manual_seed(0)
    model = Classifier().eval()
    x = torch.rand(5, 1, 28, 28)
    assert model.features(x).shape == (5, 128) and model(x).shape == (5, 10)
    assert torch.equal(model.logits(x), model(x))
    assert torch.equal(model(x.reshape(5, 784)), model(x))  # flattened images work too
    assert model.predict(x).dtype == torch.int64 and model.predict(x).shape == (5,)
    assert torch.allclose(model.predict_features(x, batch_size=2), model.features(x), atol=1e-6)
    assert torch.allclose(model.predict_logits(x, batch_size=3), model(x), atol=1e-6)
    assert (model.features(x) >= 0).all()  # after ReLU
    with pytest.raises(GannetError, match=r"images of shape \(1, 28, 28\)"):
        model(torch.rand(5, 3, 32, 32))
    with pytest.raises(GannetError, match="multiple of 4"):
        Classifier(image_size=30)


def test_training_is_seeded_and_leaves_the_global_rng_alone() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(24, 1, 28, 28, generator=g), torch.randint(0, 10, (24,), generator=g)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    a, _ = fit_classifier(x, y, epochs=1, batch_size=8, seed=5, max_steps=2, threads=1)
    after = torch.rand(1)
    torch.manual_seed(123)
    b, history = fit_classifier(x, y, epochs=1, batch_size=8, seed=5, max_steps=2, threads=1)
    assert torch.equal(torch.rand(1), after) and torch.get_num_threads() == threads
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert len(history) == 1 and not a.training
    with pytest.raises(GannetError, match="labels"):
        fit_classifier(x, y[:3])
    with pytest.raises(GannetError, match="outside"):
        fit_classifier(x, y + 10)
    with pytest.raises(GannetError, match="square images"):
        fit_classifier(x.reshape(24, 784), y)


def test_trains_well_above_chance(
    tiny: tuple[Classifier, ClassifierInfo], mnist: tuple[Dataset, Path]
) -> None:
    model, info = tiny
    assert info.test_accuracy > 0.6  # chance is 0.1; 99 % is the benchmark's job
    data, _ = mnist
    assert data.train is not None
    mean = float(data.train.mean())
    assert float(model.pixel_mean) == pytest.approx(mean, rel=1e-5)  # MNIST: ~0.13


# --------------------------------------------------------------------------- the file


def test_save_load_roundtrip_weights_only(
    tiny: tuple[Classifier, ClassifierInfo], tmp_path: Path
) -> None:
    model, info = tiny
    info = ClassifierInfo.from_dict({**info.to_dict(), "torch_version": torch.__version__})
    assert type(info.torch_version) is not str  # a TorchVersion: must still load safely
    path = save_classifier(model, info, tmp_path / "c.pt")
    raw = torch.load(path, weights_only=True)  # plain tensors and primitives only
    assert raw["format"] == "gannet-classifier" and raw["info"]["dataset"] == "mnist"
    loaded, info2 = load_classifier(path)
    assert info2 == info and not loaded.training
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert torch.equal(loaded.predict_logits(x), model.predict_logits(x))
    assert torch.equal(loaded.predict_features(x), model.predict_features(x))
    assert json.loads((tmp_path / "c.json").read_text())["test_accuracy"] == info.test_accuracy
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


class NotAllowed:
    pass


def test_corrupt_or_foreign_files_give_one_line(
    tiny: tuple[Classifier, ClassifierInfo], tmp_path: Path
) -> None:
    model, info = tiny
    good = save_classifier(model, info, tmp_path / "good.pt").read_bytes()
    bad: dict[str, Any] = {
        "truncated": good[: len(good) // 2],
        "garbage": b"\x00not a torch file at all" * 10,
        "empty": b"",
    }
    for name, data in bad.items():
        (tmp_path / f"{name}.pt").write_bytes(data)
    torch.save({"format": "gannet-checkpoint", "version": 1}, tmp_path / "other.pt")
    torch.save({"format": "gannet-classifier", "version": 1}, tmp_path / "partial.pt")
    torch.save({"format": "gannet-classifier", "obj": NotAllowed()}, tmp_path / "pickle.pt")
    state = torch.load(tmp_path / "good.pt", weights_only=True)
    state["arch"]["hidden"] = 64
    torch.save(state, tmp_path / "mismatch.pt")
    expected = {
        "truncated": "truncated, corrupt",
        "garbage": "truncated, corrupt",
        "empty": "truncated, corrupt",
        "other": "not a gannet classifier",
        "partial": "lacks",
        "pickle": "not a safe weights file",
        "mismatch": "does not hold a usable classifier",
    }
    for name, fragment in expected.items():
        with pytest.raises(GannetError) as err:
            load_classifier(tmp_path / f"{name}.pt")
        message = str(err.value)
        assert fragment in message and "\n" not in message, (name, message)
        assert "gannet classifier train" in message or name == "other"
    with pytest.raises(GannetError, match="not found"):
        load_classifier(tmp_path / "absent.pt")


def test_cache_location_and_missing_classifier(cache: Path) -> None:
    assert classifier_path("mnist") == cache / "classifiers" / "mnist.pt"
    with pytest.raises(GannetError, match="'gannet classifier train mnist'"):
        cached_classifier("mnist")
    with pytest.raises(GannetError, match="no classifier for dataset 'mixture-2d'"):
        cached_classifier("mixture-2d")
    with pytest.raises(GannetError, match="'gannet classifier train cifar10'"):
        cached_classifier("cifar10")  # supported since issue 15, not trained here


# --------------------------------------------------------------------------- commands


def test_help() -> None:
    for args in (
        ["classifier", "--help"],
        ["classifier", "train", "--help"],
        ["classifier", "info", "--help"],
        ["eval", "modes", "--help"],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0


def test_classifier_info_and_train_keep_a_cached_one(
    tiny: tuple[Classifier, ClassifierInfo],
    cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["classifier", "info"]) == 0
    out = capsys.readouterr().out
    assert "mnist: none trained here (gannet classifier train mnist)" in out
    assert "fashion-mnist: none trained here" in out
    assert "shipped mnist-classifier-v1: test accuracy 99." in out
    assert main(["classifier", "info", "mnist"]) == 0  # the shipped one
    assert "shipped mnist-classifier-v1" in capsys.readouterr().out
    assert main(["classifier", "info", "cifar10"]) == 0  # shipped, not trained here
    assert "shipped cifar10-classifier-v1: test accuracy 85." in capsys.readouterr().out
    with monkeypatch.context() as m:  # as for a dataset gannet ships no classifier of
        m.setattr(C.shipped, "SHIPPED", ())
        assert main(["classifier", "info", "cifar10"]) == 2  # neither shipped nor trained
    assert "gannet classifier train cifar10" in capsys.readouterr().err
    model, info = tiny
    path = save_classifier(model, info)
    assert path == cache / "classifiers" / "mnist.pt"
    assert main(["classifier", "info", "mnist"]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy {100 * info.test_accuracy:.2f} %" in out and "epoch 1:" in out
    assert main(["classifier", "info", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["mnist"]["info"]["test_accuracy"] == info.test_accuracy
    assert listing["fashion-mnist"]["cached"] is False
    assert listing["mnist"]["shipped"]["mnist-classifier-v1"]["info"]["dataset"] == "mnist"
    before = path.read_bytes()
    assert main(["classifier", "train", "mnist"]) == 0  # cached: kept, nothing trained
    assert "already cached" in capsys.readouterr().out
    assert path.read_bytes() == before
    assert main(["classifier", "train", "mnist", "--epochs", "0"]) == 2


def test_corrupt_cached_classifier_via_cli(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cache / "classifiers").mkdir(parents=True)
    (cache / "classifiers" / "mnist.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["classifier", "info", "mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gannet: error: ") and "truncated, corrupt" in err and "\n" not in err
    with pytest.raises(GannetError, match="'gannet classifier train mnist --force'"):
        cached_classifier("mnist")
    assert main(["classifier", "info"]) == 0  # the listing reports it and carries on
    assert "mnist: unusable: " in capsys.readouterr().out
    assert main(["classifier", "train", "mnist"]) == 2  # not retrained without --force
    assert "--force" in capsys.readouterr().err


def _image_samples(mnist: tuple[Dataset, Path], tmp_path: Path) -> Path:
    data, _ = mnist
    assert data.validation is not None
    file = tmp_path / "images.npz"
    np.savez(file, samples=data.validation[:300].numpy())
    return file


def test_eval_modes_on_images(
    tiny: tuple[Classifier, ClassifierInfo],
    mnist: tuple[Dataset, Path],
    cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model, info = tiny
    save_classifier(model, info)  # cached here, but the shipped classifier comes first
    file, (_, mnist_path) = _image_samples(mnist, tmp_path), mnist
    out = tmp_path / "modes.json"
    args = ["eval", "modes", "--samples-file", str(file), "--data", "mnist"]
    assert main([*args, "--data-dir", str(mnist_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mnist  classes " in text and "real test data" in text
    result = json.loads(out.read_text())
    assert result["metric"] == "modes-classifier" and result["n_classes"] == 10
    assert result["n_samples"] == 300 and sum(result["counts"]) == 300
    assert result["min_count"] == 3  # ceil(1 % of 300)
    assert result["classes_covered"] == 10  # real images of every digit
    assert result["classifier"]["name"] == "mnist-classifier-v1"
    assert result["classifier"]["test_accuracy"] > 0.99
    ref = result["reference"]
    assert ref["split"] == "test" and ref["n_samples"] == 300 and ref["accuracy"] > 0.97
    assert result["accuracy"] is None  # generated samples have no labels


def test_eval_modes_missing_classifier(
    mnist: tuple[Dataset, Path],
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A dataset gannet ships no classifier of, and none trained here: one line naming both
    ways out (gannet ships all three of its datasets' now, so the test takes the list away)."""
    monkeypatch.setattr(C.shipped, "SHIPPED", ())
    file = _image_samples(mnist, tmp_path)
    assert main(["eval", "modes", "--samples-file", str(file), "--data", "mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "gannet ships no mnist classifier and none is cached" in err
    assert "gannet classifier train mnist" in err and "--train-classifier" in err


def test_eval_modes_train_classifier_flag(
    tiny: tuple[Classifier, ClassifierInfo],
    mnist: tuple[Dataset, Path],
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []

    def fake_train(dataset: str, **kwargs: Any) -> tuple[Classifier, ClassifierInfo]:
        calls.append(dataset)  # the real one takes minutes: hand back the tiny model
        return tiny

    monkeypatch.setattr(C, "train_classifier", fake_train)
    monkeypatch.setattr(C.shipped, "SHIPPED", ())  # as for a dataset gannet ships none of
    file, (_, mnist_path) = _image_samples(mnist, tmp_path), mnist
    args = ["eval", "modes", "--samples-file", str(file), "--data", "mnist"]
    assert main([*args, "--data-dir", str(mnist_path), "--train-classifier"]) == 0
    assert calls == ["mnist"] and classifier_path("mnist").is_file()
    assert "training it (--train-classifier)" in capsys.readouterr().out
    assert main([*args, "--data-dir", str(mnist_path), "--train-classifier"]) == 0
    assert calls == ["mnist"]  # cached now: not trained again
