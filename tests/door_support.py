"""Shared by test_validation.py and test_fuzz.py: a tiny mixture-2d config that trains in
a second, running ``gannet.cli.main`` in-process, and hashing a run folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from gannet.cli import main

TINY_TOML = """\
[data]
name = "mixture-2d"
n_samples = 200
download = false
[model]
generator = "mlp-g"
discriminator = "mlp-d"
z_dim = 2
g_hidden = [8]
d_hidden = [8]
[optim]
name = "adam"
lr = 1e-3
[train]
batch_size = 50
max_steps = 2
epochs = 1
log_every = 1
checkpoint_every = 1
n_fixed_samples = 16
progress = "none"
mode_check = false
seed = 9223372036854775807   # the largest seed a config takes: it must train
"""


def tiny_config(folder: Path) -> Path:
    """The tiny config as a file in ``folder``."""
    path = folder / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``gannet ARGV`` in this process: (exit code, stdout, stderr). PyTorch's thread count
    is put back afterwards (train.threads changes it)."""
    threads = torch.get_num_threads()
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # --help, --version
        code = e.code if isinstance(e.code, int) else 1
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *fragments: str) -> str:
    """Exit code 2, no traceback, exactly one stderr line 'gannet: error: ...' holding every
    fragment; returns the line."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("gannet: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) with the SHA-256 of its bytes; folders
    appear too, so an added empty folder is a change."""
    digest = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        digest[key] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return digest
