"""GANs as data (issue 17): ``gannet augment`` (a labelled synthetic set as class folders or
an .npz), the Classification Accuracy Score on a toy set where the answer is known, the
balanced subset and the truncation refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gannet.cli import main
from gannet.config import Config, DataConfig
from gannet.data import Dataset, load_dataset
from gannet.data.balanced import balanced_indices
from gannet.errors import GannetError
from gannet.metrics.base import METRICS
from gannet.trained.run import load_run
from gannet.trained.synthset import folder_names, read_labelled_npz
from gannet.trained.truncation import with_truncation
from gannet.training import start_run
from gannet.training.hooks import Checkpoints, StatusFile
from tests.conftest import tiny_labelled


def tiny_config(conditional: bool) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[16]",
            "model.d_hidden=[8]",
            "model.z_dim=4",
            f"model.conditional={'true' if conditional else 'false'}",
            "train.batch_size=40",
            "train.epochs=1",
            "train.progress='none'",
            "train.n_fixed_samples=4",
        ]
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A conditional and an unconditional run on 1x8x8 'images' of 4 classes (6 steps)."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, conditional in (("cond", True), ("uncond", False)):
        run_dir = root / name
        hooks = [Checkpoints(run_dir), StatusFile(run_dir)]  # no curves: matplotlib is slow
        start_run(tiny_config(conditional), run_dir, tiny_labelled(), hooks=hooks).fit()
        out[name] = run_dir
    return out


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ gannet augment


def test_export_round_trip(runs: dict[str, Path], tmp_path: Path) -> None:
    """The folder tree loads through the folder dataset with the right labels and counts,
    and holds exactly the bytes of the .npz export; both are what the run samples."""
    folder, archive = tmp_path / "set", tmp_path / "set.npz"
    common = [str(runs["cond"]), "--per-class", "5", "--seed", "3"]
    assert main(["augment", *common, "--out", str(folder)]) == 0
    assert main(["augment", *common, "--out", str(archive)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["0", "1", "2", "3"]
    data = load_dataset(
        DataConfig(name="folder", data_dir=str(folder), image_size=8, validation_size=0)
    )
    assert data.num_classes == 4 and data.train.shape == (20, 1, 8, 8)
    assert data.train_labels is not None
    assert torch.bincount(data.train_labels).tolist() == [5, 5, 5, 5]
    x, y, names = read_labelled_npz(archive)
    assert names == ["0", "1", "2", "3"] and y.tolist() == [c for c in range(4) for _ in range(5)]
    # the files are numbered in sample order, so the folder's sorted order is the npz's
    assert torch.equal(data.as_float(), x) and torch.equal(data.train_labels, y)
    raw = np.load(archive)
    assert raw["x"].dtype == np.uint8 and raw["y"].dtype == np.int64
    # the samples themselves, quantised once: what the run draws for these classes and seed
    expected = load_run(runs["cond"]).sample(20, seed=3, labels=y)
    assert torch.allclose(x, expected, atol=0.5 / 255 + 1e-6)


def test_unconditional_run_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "set"
    argv = ["augment", str(runs["uncond"]), "--per-class", "2", "--out", str(out)]
    assert main(argv) == 2
    assert "is not conditional" in one_error_line(capsys)
    assert not out.exists()
    assert main(["eval", "cas", str(runs["uncond"]), "--samples", "8"]) == 2
    assert "is not conditional" in one_error_line(capsys)
    assert not (runs["uncond"] / "eval").exists()


def test_existing_out_is_not_overwritten(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, archive = tmp_path / "set", tmp_path / "set.npz"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    archive.write_bytes(b"keep me too")
    for out in (folder, archive):
        assert main(["augment", str(runs["cond"]), "--per-class", "2", "--out", str(out)]) == 2
        assert "already exists" in one_error_line(capsys)
    assert (folder / "mine.txt").read_text() == "keep me"
    assert archive.read_bytes() == b"keep me too"
    # an empty folder is fine; --force replaces, and leaves no temporary behind
    (tmp_path / "empty").mkdir()
    assert (
        main(["augment", str(runs["cond"]), "--per-class", "1", "--out", str(tmp_path / "empty")])
        == 0
    )
    argv = ["augment", str(runs["cond"]), "--per-class", "2", "--out", str(folder), "--force"]
    assert main(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["0", "1", "2", "3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "set", "set.npz"]
    # a run's own file is never an --out, even with --force
    own = runs["cond"] / "checkpoint.pt"
    before = own.read_bytes()
    assert (
        main(["augment", str(runs["cond"]), "--per-class", "1", "--out", str(own), "--force"]) == 2
    )
    assert "own files" in one_error_line(capsys) and own.read_bytes() == before


def test_truncation_only_where_the_generator_has_it(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["augment", str(runs["cond"]), "--per-class", "1", "--out", str(tmp_path / "s")]
    assert main([*argv, "--truncation", "0.7"]) == 2
    assert "has none, so drop --truncation" in one_error_line(capsys)
    assert not (tmp_path / "s").exists()

    class WithPsi(nn.Module):  # a stand-in generator with the truncation trick
        supports_truncation = True

        def __init__(self) -> None:
            super().__init__()
            self.unused = nn.Parameter(torch.zeros(1))  # sampling reads the device off it

        def forward(self, z: torch.Tensor, y: torch.Tensor, truncation: float = 1.0):
            return torch.full((len(z), 1, 4, 4), truncation)

    run = load_run(runs["cond"])
    run.generator = WithPsi()
    truncated = with_truncation(run, 0.25)
    assert torch.all(truncated.sample(3, labels=1) == 0.25)
    with pytest.raises(GannetError, match=r"in \(0, 1\]"):
        with_truncation(run, 1.5)


def test_class_folder_names_sort_in_label_order() -> None:
    assert folder_names([str(i) for i in range(3)]) == ["0", "1", "2"]
    assert folder_names([str(i) for i in range(11)])[:3] == ["00-0", "01-1", "02-2"]
    assert folder_names(["T-shirt/top", "Trouser", "Bag"]) == [
        "0-T-shirt-top",
        "1-Trouser",
        "2-Bag",
    ]
    assert folder_names(["airplane", "bird"]) == ["airplane", "bird"]


def test_balanced_subset_is_balanced_and_seeded() -> None:
    labels = torch.arange(103) % 5
    a = balanced_indices(labels, 4, seed=1)
    assert torch.bincount(labels[a]).tolist() == [4] * 5
    assert torch.equal(a, balanced_indices(labels, 4, seed=1))
    assert not torch.equal(a, balanced_indices(labels, 4, seed=2))
    assert set(a.tolist()) <= set(balanced_indices(labels, 8, seed=1).tolist())
    with pytest.raises(GannetError, match="class 3 has only 20"):
        balanced_indices(labels, 21)


# ------------------------------------------------------------------ the CAS


def toy_data(classes: int = 4) -> Dataset:
    """1x8x8 images, class c a noisy constant (c + 1) / (K + 1): 40 train, 20 test a class."""
    gen = torch.Generator().manual_seed(0)

    def split(per: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(classes).repeat_interleave(per)
        x = (y.float() + 1).div(classes + 1).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)
        return (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1), y

    (x, y), (xt, yt) = split(40), split(20)
    return Dataset("toy", x, test=xt, train_labels=y, test_labels=yt, num_classes=classes)


def real_sampler(data: Dataset, shift: int = 0):
    """A stand-in G: real training images of class (label + shift) mod K, chosen by seed."""
    assert data.train_labels is not None
    k = data.num_classes

    def sample(y: torch.Tensor, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        out = []
        for label in ((y + shift) % k).tolist():
            members = torch.nonzero(data.train_labels == label).flatten()
            out.append(data.train[members[torch.randint(len(members), (1,), generator=gen)]])
        return torch.cat(out)

    return sample


def test_cas_perfect_and_label_swapped_generators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    data = toy_data()
    cas = METRICS.get("cas")
    settings = {"samples": 80, "epochs": 8, "batch_size": 16, "lr": 0.01, "seed": 0}
    perfect = cas(real_sampler(data), data, **settings)
    assert not perfect.real_cached and perfect.real_accuracy >= 0.95
    assert perfect.per_class == 20 and perfect.n_train == 80 and perfect.n_test == 80
    assert abs(perfect.cas - perfect.real_accuracy) <= 0.05
    swapped = cas(real_sampler(data, shift=1), data, **settings)
    assert swapped.real_cached  # the real reference was trained once, then read
    assert swapped.real_accuracy == perfect.real_accuracy
    assert swapped.cas <= 0.1
    record = swapped.to_dict()
    assert record["metric"] == "cas" and json.loads(json.dumps(record))["gap"] >= 0.85


def test_cas_needs_labels_and_a_test_split() -> None:
    data = toy_data()
    data.test = None
    with pytest.raises(GannetError, match="no test split"):
        METRICS.get("cas")(real_sampler(toy_data()), data, samples=8)


def test_eval_cas_command(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gannet eval cas end to end (the run's data replaced by the toy set of the same
    shape and classes, for speed): RUN/eval/cas-cnn.json, shown by gannet info; the real
    reference is cached; a run's own file is refused as --out before any training."""
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("gannet.data.load_dataset", lambda cfg, **kw: toy_data())
    run = tmp_path / "run"
    shutil.copytree(runs["cond"], run)
    own = run / "checkpoint.pt"
    before = own.read_bytes()
    assert main(["eval", "cas", str(run), "--samples", "20", "--out", str(own)]) == 2
    assert "own files" in one_error_line(capsys) and own.read_bytes() == before
    argv = ["eval", "cas", str(run), "--samples", "20", "--epochs", "1"]
    for cached in (False, True):
        assert main(argv) == 0
        result = json.loads((run / "eval" / "cas-cnn.json").read_text())
        assert result["metric"] == "cas" and result["real_cached"] is cached
        assert result["n_train"] == 20 and result["per_class"] == 5 and result["n_test"] == 80
        assert 0 <= result["cas"] <= 1 and 0 <= result["real_accuracy"] <= 1
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    assert "eval cas-cnn" in capsys.readouterr().out
