"""Checkpoints: written atomically, verified on load, loaded with weights_only=True.

A checkpoint is a plain dict of tensors and primitive values: ``torch.load`` with
``weights_only=True`` refuses anything else, so a checkpoint can never run code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from gannet.errors import GannetError
from gannet.io import atomic_write

FORMAT = "gannet-checkpoint"
VERSION = 1
REQUIRED = ("format", "version", "config", "generator", "discriminator")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus a format marker) to ``path`` atomically."""
    payload = {"format": FORMAT, "version": VERSION, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    atomic_write(Path(path), lambda f: f.write(data))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify a checkpoint; any problem is one GannetError line."""
    path = Path(path)
    if not path.is_file():
        raise GannetError(f"checkpoint {str(path)!r} not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
        ValueError,
        OSError,
        KeyError,
    ) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GannetError(
            f"checkpoint {str(path)!r} is truncated, corrupt or not a safe weights file "
            f"({first[:160]}); use another checkpoint or retrain"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GannetError(f"{str(path)!r} is not a gannet checkpoint")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise GannetError(f"checkpoint {str(path)!r} lacks {', '.join(missing)}; it is incomplete")
    if state["version"] > VERSION:
        raise GannetError(
            f"checkpoint {str(path)!r} has format version {state['version']}, newer than this "
            f"gannet understands ({VERSION}); upgrade gannet"
        )
    return state
