"""Feature metrics end to end: gannet's MNIST classifier as extractor (FID of real halves,
noise and blur), the Inception path with a TorchScript stand-in where the real file goes,
``gannet eval fid|kid|prc`` and the reference cache."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
import torch

from gannet.cli import main
from gannet.config import DataConfig
from gannet.data import load_dataset
from gannet.errors import GannetError
from gannet.metrics.features import make_extractor
from gannet.metrics.frechet import feature_stats, frechet_distance
from gannet.metrics.inception import FILENAME, INCEPTION_SHA256, load_inception, to_uint8
from gannet.metrics.reference import reference_features


class StandIn(torch.nn.Module):
    """Same call as inception-2015-12-05.pt: uint8 (N, 3, H, W) -> features; resizes
    inside as the real network does (to 16x16 here) and refuses anything but uint8."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 24, 3, padding=1)

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        if img.dtype != torch.uint8 or img.shape[1] != 3:
            raise RuntimeError("expected uint8 images with 3 channels")
        x = torch.nn.functional.interpolate(img.float() / 255, size=(16, 16), mode="bilinear")
        h = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return h if return_features else h.softmax(dim=1)


def write_standin(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(StandIn()).save(str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANNET_OFFLINE", "1")  # a missing Inception file is not downloaded
    monkeypatch.delenv("GANNET_INCEPTION", raising=False)
    monkeypatch.delenv("GANNET_INCEPTION_SHA256", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def standin(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in at the cache path the real file would take, its hash as expected."""
    path = cache / "inception" / FILENAME
    monkeypatch.setenv("GANNET_INCEPTION_SHA256", write_standin(path))
    return path


@pytest.fixture(scope="module")
def mnist_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty GANNET_CACHE folder for tests of gannet's shipped MNIST classifier (nothing
    to train: ``mnist-classifier`` is the shipped ``mnist-classifier-v1``)."""
    from tests.conftest import mnist_dir

    if mnist_dir() is None:
        pytest.skip("MNIST files not found")
    return tmp_path_factory.mktemp("cache")


def test_classifier_fid_of_mnist_halves_rises_with_noise_and_blur(
    mnist_classifier: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import mnist_dir

    monkeypatch.setenv("GANNET_CACHE", str(mnist_classifier))
    extractor = make_extractor("mnist-classifier")
    test = load_dataset(DataConfig(name="mnist", data_dir=str(mnist_dir()))).test
    assert test is not None and len(test) == 10000
    # Random halves: the first and last 5,000 test images come from different writers
    # (MNIST's two NIST sources) and differ measurably.
    perm = torch.randperm(10000, generator=torch.Generator().manual_seed(0))
    a, b = test[perm[:5000]], test[perm[5000:]]
    stats_a = feature_stats(extractor.features(a))

    def fid(images: torch.Tensor) -> float:
        return frechet_distance(*stats_a, *feature_stats(extractor.features(images)))

    eps = torch.randn(b.shape, generator=torch.Generator().manual_seed(1))  # one draw
    floor = fid(b)
    noisy = [fid((b + s * eps).clamp(0, 1)) for s in (0.05, 0.1, 0.2, 0.4)]
    blurred = [
        fid(torch.from_numpy(scipy.ndimage.gaussian_filter(b.numpy(), (0, 0, s, s))))
        for s in (0.5, 1.0, 2.0)
    ]
    assert all(x < y for x, y in itertools.pairwise(noisy)), noisy
    assert all(x < y for x, y in itertools.pairwise(blurred)), blurred
    # Near 0: below the mildest distortion, and a small fraction of the strongest.
    assert floor < noisy[0] and floor < blurred[0], (floor, noisy, blurred)
    assert floor < 0.02 * noisy[-1] and floor < 0.02 * blurred[-1], (floor, noisy, blurred)


def test_inception_standin_end_to_end_from_the_cache_path(standin: Path) -> None:
    net, digest = load_inception()
    assert digest == hashlib.sha256(standin.read_bytes()).hexdigest()
    extractor = make_extractor("inception")
    gray = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    feats = extractor.features(gray, batch_size=4)
    assert feats.shape == (6, 24) and feats.dtype == np.float64
    # Fed as StyleGAN2-ADA feeds it: uint8, gray repeated to 3 channels, floor(255x + 0.5).
    with torch.no_grad():
        direct = net(to_uint8(gray), return_features=True).double().numpy()
    np.testing.assert_array_equal(feats, direct)
    u8 = to_uint8(torch.tensor([0.0, 0.5 / 255, 0.4999 / 255, 1.0]).reshape(1, 1, 2, 2))
    assert u8.dtype == torch.uint8 and u8.shape == (1, 3, 2, 2)
    assert u8[0, 0].flatten().tolist() == [0, 1, 0, 255]


def test_inception_wrong_file_and_absent_file_are_one_line(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Absent: names the file, its SHA-256 and where to put it.
    with pytest.raises(GannetError) as absent:
        load_inception()
    text = str(absent.value)
    assert FILENAME in text and INCEPTION_SHA256 in text
    assert str(cache / "inception" / FILENAME) in text and "\n" not in text
    # A wrong file (the stand-in, with the real digest expected) is refused before loading.
    wrong = tmp_path / "elsewhere" / FILENAME
    digest = write_standin(wrong)
    with pytest.raises(GannetError, match=f"SHA-256 is {digest}, expected {INCEPTION_SHA256}"):
        load_inception(wrong)
    assert main(["eval", "fid", "mnist:test", "--extractor", "inception",
                 "--inception-weights", str(wrong), "--against", "mnist:test"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected " + INCEPTION_SHA256 in err
    assert "Traceback" not in err


def test_eval_commands_on_image_folders_and_the_reference_cache(
    standin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, shift in (("a", 0), ("b", 0), ("c", 90)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(40):
            pixels = rng.integers(0, 120, (20, 20, 3)) + shift
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "r.json"
    args = ["--extractor", "inception", "--image-size", "20", "--kid-subset-size", "20"]
    assert main(["eval", "fid", str(tmp_path / "a"), "--against", str(tmp_path / "b"),
                 "--also", "kid", "prc", "--out", str(out), *args]) == 0  # fmt: skip
    near = json.loads((tmp_path / "r-fid.json").read_text())
    assert near["extractor"] == "inception" and near["n_samples"] == 40
    kid = json.loads((tmp_path / "r-kid.json").read_text())
    prc = json.loads((tmp_path / "r-prc.json").read_text())
    assert "kid_inception" in kid and 0 <= prc["precision_inception"] <= 1
    assert main(["eval", "fid", str(tmp_path / "c"), "--against", str(tmp_path / "b"),
                 "--out", str(out), *args]) == 0  # fmt: skip
    far = json.loads(out.read_text())
    assert far["fid_inception"] > 10 * near["fid_inception"]
    printed = capsys.readouterr().out
    assert "fid_inception" in printed and "\nfid " not in printed


def test_reference_features_are_cached_by_extractor_hash(
    mnist_classifier: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import mnist_dir

    monkeypatch.setenv("GANNET_CACHE", str(mnist_classifier))
    extractor = make_extractor("mnist-classifier")
    first, label = reference_features("mnist", "test", extractor, str(mnist_dir()), n=300)
    files = list((mnist_classifier / "feature-reference").glob("mnist-test-mnist-classifier-*"))
    assert len(files) == 1 and "300 images" in label
    again, _ = reference_features("mnist", "test", extractor, str(mnist_dir()), n=300)
    np.testing.assert_array_equal(first, again)
    extractor.weights_sha256 = "0" * 64  # other weights: another cache entry
    reference_features("mnist", "test", extractor, str(mnist_dir()), n=300)
    assert len(list((mnist_classifier / "feature-reference").glob("mnist-test-*"))) == 2


def test_torch_fidelity_agrees_where_it_imports() -> None:
    try:
        import torch_fidelity  # noqa: F401
    except Exception as e:  # ImportError, or torchvision's CUDA build failing to load
        pytest.skip(
            f"torch-fidelity does not import here ({type(e).__name__}: {str(e)[:80]}); gannet "
            "cannot depend on it on CPU machines (its torchvision is a CUDA build)"
        )
    pytest.skip("torch-fidelity imports, but its Inception weights are not cached offline")
