"""Fine-tuning from a trained run (``train.init_from``) and FreezeD (``train.freeze_d``).

``train.init_from`` names a run folder (its ``checkpoint.pt``) or a checkpoint, snapshot or
average file. :func:`initialise_from` copies its G, D and EMA weights into a new trainer
before the first step; the optimizers keep their fresh state and the run's own RNG is not
touched, so a fine-tuning run is as reproducible as any other. The models are checked first:
the same generator and discriminator names, samples of the same shape, and the same tensors
(names and shapes) in G and D; the first difference is one error line naming the tensor.

``train.freeze_d = N`` keeps the parameters of D's first N blocks (counted from the input)
fixed: they get no gradients, so no optimizer moves them (Mo et al., 2020, "Freeze the
Discriminator"). A block is one parameterised layer of D's feature stack (``D.features``,
or ``body`` / ``net``) together with the normalisation layers that follow it:

* ``paper-maxout``, ``mlp-d``: one maxout (or linear) layer each;
* ``dcgan-d``: one strided convolution each, with its batch or layer norm;
* ``stylegan-d``: block 1 is fromRGB (the 1 x 1 convolution), then one residual block per
  resolution, then the 4 x 4 epilogue's convolution and its hidden linear layer.

D's output layer (and a conditional D's label code or projection) is never frozen. Buffers
are not parameters: batch norm's running statistics and spectral norm's power-iteration
vector still update in a frozen block.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from gannet.errors import GannetError
from gannet.files.rundir import CHECKPOINT
from gannet.training.state import Checkpoint, StateDict, read_checkpoint

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)
"""Layers that belong to the block before them."""


# ---------------------------------------------------------------------------- FreezeD


def feature_stack(D: nn.Module) -> nn.Sequential | None:
    """D's layers from the input up to its output layer, in order (a conditional D's base
    model's), or None when D has no such stack."""
    base = getattr(D, "base", None)
    if isinstance(base, nn.Module):
        D = base
    for name in ("features", "body", "net"):
        stack = getattr(D, name, None)
        if isinstance(stack, nn.Sequential):
            if name == "net":  # the last layer of a plain MLP is its output
                return nn.Sequential(*list(stack)[:-1])
            return stack
    return None


def d_blocks(D: nn.Module) -> list[list[nn.Module]]:
    """D's blocks from the input (see the module docs): each one parameterised layer of
    :func:`feature_stack` and the normalisation layers right after it."""
    stack = feature_stack(D)
    blocks: list[list[nn.Module]] = []
    for layer in stack if stack is not None else ():
        if not any(True for _ in layer.parameters()):
            continue
        if isinstance(layer, NORMS) and blocks:
            blocks[-1].append(layer)
        else:
            blocks.append([layer])
    return blocks


def freeze_d(D: nn.Module, n: int, name: str = "") -> list[nn.Parameter]:
    """Freeze D's first ``n`` blocks (``requires_grad`` off) and return their parameters;
    one GannetError line when D has fewer blocks."""
    if n <= 0:
        return []
    blocks = d_blocks(D)
    if n > len(blocks):
        what = name or type(D).__name__
        raise GannetError(
            f"train.freeze_d = {n} but discriminator {what!r} has {len(blocks)} blocks to "
            f"freeze; use at most {len(blocks)}" + ("" if blocks else " (set 0)")
        )
    frozen = [p for block in blocks[:n] for layer in block for p in layer.parameters()]
    for p in frozen:
        p.requires_grad_(False)
    return frozen


def thaw(module: nn.Module, frozen: Iterable[nn.Parameter]) -> None:
    """Give ``module``'s parameters their gradients back, except the ``frozen`` ones (after
    a G step that held D fixed)."""
    module.requires_grad_(True)
    for p in frozen:
        p.requires_grad_(False)


def trainable(parameters: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    """The parameters that take gradients (FreezeD's frozen ones left out)."""
    return [p for p in parameters if p.requires_grad]


# ---------------------------------------------------------------------------- init_from


def init_source(source: str | Path) -> Path:
    """The checkpoint file ``train.init_from`` names: a run folder's checkpoint.pt, or the
    file itself; one GannetError line when there is none."""
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
        if not path.is_file():
            raise GannetError(
                f"train.init_from: {str(source)!r} has no {CHECKPOINT}; name a trained run, or "
                "one of its snapshots (RUN/snapshots/epoch-NNNN.pt)"
            )
    elif not path.is_file():
        raise GannetError(
            f"train.init_from: {str(source)!r} is neither a run folder nor a checkpoint file"
        )
    return path


def first_difference(source: StateDict, target: StateDict) -> str | None:
    """The first tensor (in ``target``'s order, then ``source``'s extras) whose name or
    shape differs, described in words; None when every name and shape matches."""
    for key, t in target.items():
        if key not in source:
            return f"{key!r} is in this run's model but not in the source's"
        if tuple(source[key].shape) != tuple(t.shape):
            return (
                f"{key!r} has shape {list(source[key].shape)} in the source, {list(t.shape)} here"
            )
    extra = next((k for k in source if k not in target), None)
    return None if extra is None else f"{extra!r} is in the source's model but not in this run's"


def check_compatible(ckpt: Checkpoint, trainer: TrainerView, path: Path) -> None:
    """Refuse a source whose models are not this run's: names, sample shape, then every
    tensor of G and D (one line naming the first difference)."""
    model: dict[str, Any] = dict(ckpt.config.get("model", {}))
    mc = trainer.config.model
    for key in ("generator", "discriminator"):
        theirs, ours = model.get(key), getattr(mc, key)
        if theirs != ours:
            raise GannetError(
                f"train.init_from: {str(path)!r} trained model.{key} = {theirs!r}, this run "
                f"{ours!r}; use the same model"
            )
    if list(ckpt.sample_shape) != list(trainer.data.sample_shape):
        raise GannetError(
            f"train.init_from: {str(path)!r} trained on samples of shape {ckpt.sample_shape}, "
            f"this run's data has {list(trainer.data.sample_shape)}; set data.image_size (or "
            "the data) to match"
        )
    for what, theirs_sd, net in (
        ("generator", ckpt.generator, trainer.G),
        ("discriminator", ckpt.discriminator, trainer.D),
    ):
        diff = first_difference(theirs_sd, net.state_dict())
        if diff is not None:
            raise GannetError(
                f"train.init_from: the {what} in {str(path)!r} does not fit this run's: "
                f"{diff}; use the model settings it trained with"
            )


def initialise_from(trainer: TrainerView, source: str | Path) -> dict[str, Any]:
    """Copy G, D and their EMAs from ``source`` (:func:`init_source`) into ``trainer``,
    after :func:`check_compatible`; returns what run.json records about it. An EMA the
    source lacks starts from the weights it averages; the optimizers are left fresh."""
    path = init_source(source)
    ckpt = read_checkpoint(path, map_location=trainer.device)
    check_compatible(ckpt, trainer, path)
    trainer.G.load_state_dict(ckpt.generator)
    trainer.D.load_state_dict(ckpt.discriminator)
    if trainer.G_ema is not None:
        trainer.G_ema.load_state_dict(ckpt.generator_ema or ckpt.generator)
    if trainer.D_ema is not None:
        trainer.D_ema.load_state_dict(ckpt.discriminator_ema or ckpt.discriminator)
    return {
        "source": str(path.resolve()),
        "step": ckpt.step,
        "epochs_completed": ckpt.epochs_completed,
        "freeze_d": trainer.config.train.freeze_d,
    }
