"""The CIFAR-10 classifier: its residual CNN, its held-out split of an image folder, and
resumable training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gannet.errors import GannetError
from gannet.metrics.classifier import (
    RECIPES,
    ClassifierInfo,
    ResNetClassifier,
    fit_classifier,
    held_out_split,
    load_classifier,
    save_classifier,
)


def test_held_out_split_is_balanced_disjoint_and_seeded() -> None:
    images = torch.arange(200).float().reshape(200, 1, 1, 1)
    labels = torch.arange(200) % 10
    x, _y, xt, yt = held_out_split(images, labels, 50)
    assert len(xt) == 50 and len(x) == 150
    assert torch.bincount(yt, minlength=10).tolist() == [5] * 10
    assert not set(x.flatten().tolist()) & set(xt.flatten().tolist())
    assert torch.equal(held_out_split(images, labels, 50)[2], xt)
    with pytest.raises(GannetError, match="too few"):
        held_out_split(images, labels, 400)


def test_resnet_classifier_round_trips_through_the_classifier_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ResNetClassifier(width=4).eval()
    x = torch.rand(5, 3, 32, 32)
    path = save_classifier(model, ClassifierInfo(dataset="cifar10", test_accuracy=0.5),
                           tmp_path / "c.pt")  # fmt: skip
    loaded, info = load_classifier(path)
    assert isinstance(loaded, ResNetClassifier) and info.dataset == "cifar10"
    assert torch.equal(loaded.predict_logits(x), model.predict_logits(x))
    assert loaded.predict_features(x).shape == (5, 32)
    with pytest.raises(GannetError, match=r"\(3, 32, 32\)"):
        loaded.predict(torch.rand(2, 1, 28, 28))


def test_interrupted_training_resumes_to_the_same_weights(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(48, 3, 16, 16, generator=gen), torch.arange(48) % 10
    recipe = RECIPES["cifar10"].recipe
    kwargs = {"epochs": 3, "batch_size": 16, "lr": 0.05, "recipe": recipe}
    whole, _ = fit_classifier(x, y, **kwargs)  # type: ignore[arg-type]

    class Stop(Exception):
        pass

    def stop_after_first(record: dict) -> None:
        if record["epoch"] == 1:
            raise Stop

    state = tmp_path / "state.pt"
    with pytest.raises(Stop):
        fit_classifier(x, y, state_path=state, progress=stop_after_first, **kwargs)  # type: ignore[arg-type]
    resumed, history = fit_classifier(x, y, state_path=state, **kwargs)  # type: ignore[arg-type]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    state.write_bytes(b"not a state")
    with pytest.raises(GannetError, match="delete it to train from the start"):
        fit_classifier(x, y, state_path=state, **kwargs)  # type: ignore[arg-type]
