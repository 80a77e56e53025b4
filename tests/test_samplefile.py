"""gannet.files.samplefile: the one writer and reader of sample archives (.npz)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gannet.errors import GannetError
from gannet.files.samplefile import (
    load_points_npz,
    load_samples_npz,
    read_samples_npz,
    write_samples_npz,
)


def test_write_then_read(tmp_path):
    samples = np.random.default_rng(0).random((5, 1, 4, 4), dtype=np.float32)
    labels = np.arange(5, dtype=np.int64)
    write_samples_npz(tmp_path / "s.npz", samples, labels)
    with np.load(tmp_path / "s.npz") as f:
        assert sorted(f.files) == ["labels", "samples"]
        assert np.array_equal(f["labels"], labels)
    found = read_samples_npz(tmp_path / "s.npz")
    assert found.key == "samples" and found.path == tmp_path / "s.npz"
    assert np.array_equal(found.array, samples)
    assert torch.equal(load_samples_npz(tmp_path / "s.npz"), torch.from_numpy(samples))
    assert load_points_npz(tmp_path / "s.npz").dtype == torch.float64

    write_samples_npz(tmp_path / "u.npz", samples)
    with np.load(tmp_path / "u.npz") as f:
        assert f.files == ["samples"]


def test_only_array_under_another_key(tmp_path):
    np.savez(tmp_path / "x.npz", points=np.full((3, 2), 7.0))
    arr, key, _ = read_samples_npz(tmp_path / "x.npz")
    assert key == "points" and arr.shape == (3, 2)
    with pytest.raises(GannetError, match=r"range over \[7, 7\], not \[0, 1\]"):
        load_samples_npz(tmp_path / "x.npz")
