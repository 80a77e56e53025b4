"""Checkpoints: written atomically, verified on load, loaded with weights_only=True.

A checkpoint is a plain dict of tensors and primitive values: ``torch.load`` with
``weights_only=True`` refuses anything else, so a checkpoint can never run code.

:func:`save_weights_file` and :func:`load_weights_file` are the general form, for any such
file with a format marker and a version (training checkpoints in
:mod:`gannet.training.state`, gannet's classifier in
:mod:`gannet.metrics.classifier`): every problem loading one is one :class:`GannetError`
line that names the file and says what to do.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write

# What torch.load raises on a truncated, corrupt or unsafe (non-weights) file.
_LOAD_ERRORS = (
    RuntimeError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
    ValueError,
    OSError,
    KeyError,
)


def first_line(e: BaseException, limit: int = 160) -> str:
    """An exception's first line (or its type's name), at most ``limit`` characters."""
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:limit]


def save_weights_file(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (tensors and primitive values) to ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    atomic_write(Path(path), lambda f: f.write(data))


def load_weights_file(
    path: Path,
    *,
    format: str,
    version: int,
    required: Sequence[str] = (),
    what: str,
    fix: str,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load ``path`` with ``torch.load(weights_only=True)`` and check it is a dict with
    ``"format": format``, an integer version <= ``version`` and the ``required`` keys.

    Every problem is one GannetError line: ``what`` names the kind of file (e.g.
    "checkpoint"), ``fix`` says what to do about a bad one (e.g. "retrain").
    """
    path = Path(path)
    if not path.is_file():
        kind = "not found" if not path.exists() else "is not a file"
        raise GannetError(f"{what} {str(path)!r} {kind}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except _LOAD_ERRORS as e:
        raise GannetError(
            f"{what} {str(path)!r} is truncated, corrupt or not a safe weights file "
            f"({first_line(e)}); {fix}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != format:
        found = state.get("format") if isinstance(state, dict) else None
        other = f" (it is a {found!r} file)" if isinstance(found, str) else ""
        raise GannetError(f"{str(path)!r} is not a gannet {what}{other}; {fix}")
    missing = [k for k in dict.fromkeys(("version", *required)) if k not in state]
    if missing:
        raise GannetError(
            f"{what} {str(path)!r} lacks {', '.join(missing)}: it is incomplete; {fix}"
        )
    found_version = state["version"]
    if not isinstance(found_version, int) or isinstance(found_version, bool):
        raise GannetError(
            f"{what} {str(path)!r} has an invalid format version {found_version!r}; {fix}"
        )
    if found_version > version:
        raise GannetError(
            f"{what} {str(path)!r} has format version {found_version}, newer than this gannet "
            f"understands ({version}); upgrade gannet, or {fix}"
        )
    return state
