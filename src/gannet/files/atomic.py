"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader (or a process killed mid-write) sees either the old file or the new one, never a
half-written one. A write that fails for a reason of the file system (disk full, read-only or
/proc path, a folder or a file in the way) is one :class:`GannetError` line naming the path
and the OS error, and leaves the old file as it was. A process killed mid-write can leave its
temporary file behind; :func:`remove_stale_temporaries` clears them.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from gannet.errors import GannetError

TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{6,}\.tmp")
"""The names :func:`atomic_write` gives its temporary files (``.<name>.<random>.tmp``)."""


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(fileobj)`` on a temporary file and atomically move it to ``path``."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; follow the umask instead
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError):
            raise GannetError(write_error(path, e)) from None
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(data))


def write_error(path: Path, error: OSError) -> str:
    """One line for a failed write: the path, the OS's reason, what to do."""
    reason = error.strerror or type(error).__name__
    return f"cannot write {str(path)!r}: {reason}; choose another location or free space there"


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed :func:`atomic_write` left anywhere under
    ``folder``; returns what was removed."""
    removed = []
    for path in Path(folder).rglob(".*.tmp"):
        if path.is_file() and TEMPORARY.fullmatch(path.name):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
