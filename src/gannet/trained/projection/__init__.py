"""``gannet project``: find the latent whose image under a run's G matches a given image.

:mod:`~gannet.trained.projection.targets` reads and checks the images,
:mod:`~gannet.trained.projection.optimise` runs the optimisation (z for every run, w+ and
noise images for StyleGAN),
:mod:`~gannet.trained.projection.files` writes and reads the results. See docs/projection.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from gannet.errors import GannetError
from gannet.trained.projection.files import Latent, check_outputs, read_latent, write_result
from gannet.trained.projection.optimise import (
    Features,
    Result,
    Settings,
    describe,
    project,
    uses_w_plus,
)
from gannet.trained.projection.targets import load_target
from gannet.trained.run import Run

__all__ = [
    "Latent",
    "Result",
    "Settings",
    "classifier_features",
    "describe",
    "load_target",
    "project",
    "project_files",
    "read_latent",
    "run_image_shape",
]


def run_image_shape(run: Run) -> tuple[int, int, int]:
    """The (C, H, W) of the run's images (flattened 784 / 3,072-value MLP outputs count as
    28 x 28 x 1 / 32 x 32 x 3); one line for runs on points."""
    from gannet.metrics.features import as_images

    sample = run.sample(1, seed=0)
    try:
        c, h, w = as_images(sample).shape[1:]
    except GannetError:
        raise GannetError(
            f"run {str(run.path)!r} makes samples of shape {tuple(sample.shape[1:])}, not "
            "images; projection needs an image run"
        ) from None
    return int(c), int(h), int(w)


def classifier_features(run: Run, shape: tuple[int, int, int]) -> tuple[Features | None, str]:
    """gannet's cached classifier of the run's dataset as a differentiable feature map, when
    there is one that takes ``shape`` images; else (None, why not)."""
    from gannet.metrics.classifier import SUPPORTED, cached_classifier, classifier_path

    dataset = run.config.data.name
    if dataset not in SUPPORTED:
        return None, f"gannet has no classifier of {dataset!r}: pixel loss only"
    if not classifier_path(dataset).is_file():
        return None, (
            f"no cached {dataset} classifier (gannet classifier train {dataset}): pixel loss only"
        )
    model, _ = cached_classifier(dataset)
    if tuple(model.input_shape) != tuple(shape):
        return None, f"the {dataset} classifier takes {model.input_shape} images: pixel loss only"
    model.eval().requires_grad_(False)
    device = next(run.generator.parameters()).device
    model.to(device)
    feature_map: Features = model.features
    return feature_map, f"pixel + {dataset}-classifier feature loss"


def project_files(
    run: Run,
    images: list[str | Path],
    out: str | Path,
    settings: Settings,
    label: int | None = None,
    resize: bool = False,
    use_features: bool = True,
    report: Callable[[str], None] = print,
) -> list[tuple[Path, Result]]:
    """Project every image file into ``run`` and write the results into ``out`` (see
    :mod:`gannet.trained.projection.files`). Every image and output path is checked first, so a bad
    one stops the command before anything is computed or written."""
    shape = run_image_shape(run)
    targets: list[Tensor] = [load_target(p, shape, resize) for p in images]
    names = [Path(p).stem for p in images]
    folder = Path(out)
    video = check_outputs(folder, names)
    if label is not None:
        run.check_labels(1, label)
    if label is not None and uses_w_plus(run):
        raise GannetError("--class is for conditional runs; this StyleGAN run takes no class")
    features, how = classifier_features(run, shape) if use_features else (None, "pixel loss only")
    space = "w+ and noise images" if uses_w_plus(run) else "z"
    report(f"projecting {len(images)} image(s) into {space}, {settings.steps} steps, {how}")
    done = []
    for path, name, target in zip(images, names, targets, strict=True):
        device = next(run.generator.parameters()).device
        result = project(run, target.to(device), settings, features, label)
        write_result(folder, name, result, target, str(path), str(run.path), video)
        extra = f", class {result.label}" if result.label is not None else ""
        report(
            f"{name}: reconstruction MSE {result.mse:.5f} (PSNR {result.psnr:.2f} dB), loss "
            f"{result.losses[0]:.5f} -> {result.losses[-1]:.5f}{extra}"
        )
        done.append((folder / f"{name}.npz", result))
    return done
