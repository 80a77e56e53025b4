"""Atomic writes: the new bytes are on disk before the rename makes them the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import gannet.files.atomic as io_mod
from gannet.files.atomic import atomic_write, atomic_write_bytes


def record_os_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Log gannet.files.atomic's os.fsync and os.replace calls (fsync with the path of its fd)."""
    calls: list[tuple[str, Any]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        calls.append(("replace", (str(src), str(dst))))
        real_replace(src, dst)

    monkeypatch.setattr(io_mod.os, "fsync", fsync)
    monkeypatch.setattr(io_mod.os, "replace", replace)
    return calls


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_file_is_fsynced_before_the_rename(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    target = tmp_path / "sub" / "file.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    calls = record_os_calls(monkeypatch)
    atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"

    replaces = [i for i, (name, _) in enumerate(calls) if name == "replace"]
    assert len(replaces) == 1
    tmp, dst = calls[replaces[0]][1]
    assert dst == str(target) and Path(tmp).parent == target.parent and tmp != dst
    # The temporary file's own fsync comes before the rename ...
    file_syncs = [i for i, c in enumerate(calls) if c == ("fsync", os.path.realpath(tmp))]
    assert file_syncs and file_syncs[0] < replaces[0], calls
    # ... and the folder's fsync (making the rename durable) after it.
    folder = os.path.realpath(target.parent)
    dir_syncs = [i for i, c in enumerate(calls) if c == ("fsync", folder)]
    assert dir_syncs and dir_syncs[-1] > replaces[0], calls
    assert not [p for p in target.parent.iterdir() if p.name != "file.bin"]  # no leftovers


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def write(f: Any) -> None:
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, write)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # the temporary file is gone
