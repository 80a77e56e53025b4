"""The image-folder dataset at real size: every format Pillow reads, unreadable files, the
decoded-image cache, uint8 storage, the validation split, progress, and exact resume."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gannet.data.folder as folder_mod
from gannet.config import Config, DataConfig
from gannet.data import Dataset, load_dataset
from gannet.data.balanced import balanced_indices
from gannet.data.base import as_float, float_mean
from gannet.data.decode import decode_image
from gannet.data.imagecache import CACHE_NAME
from gannet.data.splits import SPLIT_SEED, held_out_split
from gannet.errors import GannetError
from gannet.training import resume_run, start_run
from gannet.training.batches import Batches
from gannet.training.hooks import Checkpoints, StatusFile


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private cache, and every folder cached (not only folders of 100+ files)."""
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(folder_mod, "CACHE_FROM", 1)
    return tmp_path / "cache" / CACHE_NAME


def folder_cfg(root: Path, **kw: object) -> DataConfig:
    return DataConfig(**{"name": "folder", "data_dir": str(root), "image_size": 4,
                         "validation_size": 0, **kw})  # fmt: skip


def save(path: Path, image: Image.Image, **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)
    return path


def coloured(root: Path, n: int, classes: int = 2, size: int = 6) -> None:
    """``n`` distinct PNGs in ``classes`` class folders."""
    for i in range(n):
        colour = (i * 37 % 256, i * 91 % 256, (i * 13 + 50) % 256)
        save(root / f"c{i % classes}" / f"{i:03d}.png", Image.new("RGB", (size, size), colour))


# -- formats --------------------------------------------------------------------------


def test_every_format_decodes_to_the_right_values(tmp_path: Path) -> None:
    # 16-bit gradient: 0..65535 maps to 0..255 (not clipped at 255)
    wide = np.tile(np.linspace(0, 65535, 4).round().astype(np.uint16), (4, 1))
    p16 = save(tmp_path / "g16.png", Image.fromarray(wide))
    a16, gray = decode_image(p16, 4)
    assert gray and a16.shape == (4, 4, 1) and a16[0, :, 0].tolist() == [0, 85, 170, 255]
    # CMYK (no ink = white; full cyan = no red)
    cmyk = Image.new("CMYK", (4, 4), (255, 0, 0, 0))
    a, gray = decode_image(save(tmp_path / "c.jpg", cmyk, quality=100), 4)
    assert not gray and a.shape == (4, 4, 3)
    assert int(a[..., 0].max()) < 20 and int(a[..., 1:].min()) > 235
    # RGBA composited on white: opaque stays, transparent becomes white, half blends
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    a, _ = decode_image(save(tmp_path / "t.png", rgba), 4)
    assert a[0, 0].tolist() == [255, 0, 0] and a[3, 3].tolist() == [255, 255, 255]
    assert a[0, 1].tolist() == [127, 127, 127]
    # palette with a transparent index, and gray with alpha
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 0)
    a, gray = decode_image(save(tmp_path / "p.png", pal, transparency=0), 4)
    assert not gray and a[0, 0].tolist() == [255, 255, 255] and a[1, 1].tolist() == [0, 0, 255]
    a, gray = decode_image(save(tmp_path / "la.png", Image.new("LA", (4, 4), (0, 0))), 4)
    assert gray and a.shape == (4, 4, 1) and int(a.min()) == 255
    # WebP (lossless), BMP, GIF (first frame), TIFF, 1-bit: all read
    green = Image.new("RGB", (4, 4), (0, 255, 0))
    for name, kw in [("w.webp", {"lossless": True}), ("b.bmp", {}), ("t.tiff", {})]:
        a, _ = decode_image(save(tmp_path / name, green, **kw), 4)
        assert a[..., 1].min() == 255 and a[..., 0].max() == 0, name
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    a, _ = decode_image(tmp_path / "anim.gif", 4)
    assert a[..., 0].min() == 255 and a[..., 2].max() == 0  # the first frame: red
    a, gray = decode_image(save(tmp_path / "one.png", Image.new("1", (4, 4), 1)), 4)
    assert gray and int(a.min()) == 255


def test_exif_orientation_comes_out_upright(tmp_path: Path) -> None:
    # Stored sideways (4 wide, 8 tall, red on top) with orientation 6 (rotate 90 clockwise
    # to view): upright it is 8 wide, red on the right.
    stored = Image.new("RGB", (4, 8), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 4, 4))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path / "r.jpg", stored, exif=exif, quality=100)
    a, _ = decode_image(path, 4)  # centre crop of the upright 8x4: columns 2..5
    assert a[:, 3, 0].min() > 200 and a[:, 0, 2].min() > 200  # right red, left blue


def test_gray_and_colour_folders_and_non_images(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    save(root / "a.png", Image.new("L", (6, 6), 100))
    save(root / "b.JPG", Image.new("L", (6, 8), 200), quality=100)
    (root / "notes.txt").write_text("not an image")
    (root / ".DS_Store").write_bytes(b"\0\1")
    (root / "._a.png").write_bytes(b"AppleDouble")  # hidden: ignored, not counted as bad
    (root / ".hidden").mkdir()
    save(root / ".hidden" / "x.png", Image.new("L", (6, 6), 0))
    ds = load_dataset(folder_cfg(root))
    assert ds.train.dtype == torch.uint8 and ds.train.shape == (2, 1, 4, 4)
    assert ds.train[0].unique().tolist() == [100] and ds.train_labels is None
    save(root / "c.png", Image.new("RGB", (6, 6), (0, 0, 255)))
    ds = load_dataset(folder_cfg(root))
    assert ds.train.shape == (3, 3, 4, 4) and ds.train[0].unique().tolist() == [100]


# -- unreadable files, empty folders ---------------------------------------------------


def broken_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "imgs"
    coloured(root, 6)
    good = io.BytesIO()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(good, "JPEG")
    (root / "c0" / "cut.jpg").write_bytes(good.getvalue()[:300])  # truncated
    (root / "c0" / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")  # corrupt
    (root / "c1" / "text.png").write_text("hello")  # not an image at all
    (root / "c1" / "zero.jpeg").write_bytes(b"")  # empty
    return root, ["c0/cut.jpg", "c0/junk.jpg", "c1/text.png", "c1/zero.jpeg"]


def test_unreadable_files_are_skipped_with_one_warning_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, bad = broken_folder(tmp_path)
    ds = load_dataset(folder_cfg(root))
    assert len(ds.train) == 6 and ds.train_labels is not None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gannet: warning: skipped 4 of the 10 image files")
    assert ", ".join(bad[:3]) + " and 1 more" in err[0] and "data.strict = true" in err[0]
    load_dataset(folder_cfg(root))  # from the cache: the same warning again
    assert capsys.readouterr().err.count("skipped 4 of the 10") == 1
    with pytest.raises(GannetError) as e:
        load_dataset(folder_cfg(root, strict=True))
    assert "\n" not in str(e.value) and str(e.value).startswith("4 of the 10 image files")
    for name in ("000.png", "002.png", "004.png"):
        (root / "c0" / name).write_bytes(b"broken")
    for name in ("001.png", "003.png", "005.png"):
        (root / "c1" / name).unlink()
    with pytest.raises(GannetError, match=r"^none of the 7 image files under .* can be read"):
        load_dataset(folder_cfg(root))


def test_empty_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "e" / "sub").mkdir(parents=True)
    (tmp_path / "e" / "sub" / "readme.md").write_text("no images here")
    with pytest.raises(GannetError) as e:
        load_dataset(folder_cfg(tmp_path / "e"))
    assert "\n" not in str(e.value) and str(e.value).startswith("no images (.png, .jpg")


# -- the cache ------------------------------------------------------------------------


def test_cache_is_used_and_invalidated(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "imgs"
    coloured(root, 8)
    calls: list[str] = []

    def counting(path: Path, size: int, resize: str = "crop") -> tuple[np.ndarray, bool]:
        calls.append(path.name)
        return decode_image(path, size, resize)  # type: ignore[arg-type]

    monkeypatch.setattr(folder_mod, "decode_image", counting)
    first = load_dataset(folder_cfg(root))
    assert len(calls) == 8 and len(list(cache.glob("*.npz"))) == 1
    second = load_dataset(folder_cfg(root))
    assert len(calls) == 8  # nothing decoded
    assert torch.equal(first.train, second.train) and torch.equal(
        first.train_labels, second.train_labels
    )
    load_dataset(folder_cfg(root, image_size=3))  # another size: its own entry
    assert len(calls) == 16
    target = root / "c0" / "000.png"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    load_dataset(folder_cfg(root))  # a touched file
    assert len(calls) == 24
    save(target, Image.new("RGB", (7, 7), (1, 2, 3)))  # rewritten: another size
    changed = load_dataset(folder_cfg(root))
    assert len(calls) == 32 and changed.train[0, :, 0, 0].tolist() == [1, 2, 3]
    coloured(root / "c1" / "new", 1)
    assert len(load_dataset(folder_cfg(root)).train) == 9  # a file added
    assert len(calls) == 41
    # A corrupt cache file: one warning line, decoded again, rewritten.
    for entry in cache.glob("*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])
    capsys.readouterr()
    again = load_dataset(folder_cfg(root))
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "decoded-image cache" in err[0] and "decoding the folder again" in err[0]
    )
    assert len(calls) == 50 and len(again.train) == 9
    load_dataset(folder_cfg(root))
    assert len(calls) == 50 and capsys.readouterr().err == ""  # the rewritten cache is good


def test_parallel_decoding_matches_serial_and_shows_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gannet.data.progress as progress_mod

    root = tmp_path / "imgs"
    coloured(root, 40, classes=1)
    files = [name for name, _, _ in folder_mod.scan_folder(root)]
    monkeypatch.setattr(folder_mod, "CHUNK", 3)
    monkeypatch.setattr(progress_mod, "QUIET_BELOW", 10)
    serial = folder_mod.decode_files(root, files, 4, threads=1, progress="none")
    assert capsys.readouterr().err == ""
    threaded = folder_mod.decode_files(root, files, 4, threads=3, progress="lines")
    assert np.array_equal(serial.images, threaded.images)
    lines = capsys.readouterr().err.strip().splitlines()
    assert 5 <= len(lines) <= 11 and lines[-1].startswith(f"decoding {root}: 40/40 (100%")


# -- uint8 storage --------------------------------------------------------------------


def test_uint8_storage_gives_the_floats_of_the_float_path() -> None:
    gen = torch.Generator().manual_seed(0)
    u8 = torch.randint(0, 256, (20, 3, 4, 4), dtype=torch.uint8, generator=gen)
    old = u8.float().div_(255.0)  # what the folder loader held before
    ds = Dataset("folder", u8)
    assert torch.equal(ds.as_float("train"), old) and ds.as_float("validation") is None
    assert torch.allclose(float_mean(u8), old.mean(0), atol=1e-6)
    fast, slow = (Batches(x, None, 6, seed=3, device=torch.device("cpu")) for x in (u8, old))
    fast.start_epoch(2)
    slow.start_epoch(2)
    for i in range(3):
        a, b = fast.get(i)[0], slow.get(i)[0]
        assert a.dtype == torch.float32 and torch.equal(a, b)
    assert as_float(old) is old


def tiny_run(root: Path, *extra: str) -> Config:
    return Config().with_overrides(
        [
            "data.name='folder'",
            f"data.data_dir='{root}'",
            "data.image_size=4",
            "data.validation_size=8",
            "model.g_hidden=[16]",
            "model.d_hidden=[16]",
            "model.output_bias_from_data=false",  # the uint8 mean is exact: 1 ulp apart
            "train.batch_size=8",
            "train.epochs=2",
            "train.log_every=2",
            "train.checkpoint_every=2",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.threads=1",
            *extra,
        ]
    )


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    return {f"{n}.{k}": v for n in ("generator", "discriminator") for k, v in state[n].items()}


def fit(config: Config, out: Path, dataset: Dataset | None = None) -> None:
    """A run with only the hooks resume needs (no plots: they take seconds each here)."""
    start_run(config, out, dataset, hooks=[Checkpoints(out), StatusFile(out)]).fit()


def test_folder_run_matches_the_float_path_and_resumes_exactly(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    coloured(root, 40)
    fit(tiny_run(root), tmp_path / "ref")
    # the same run on the old float path (the data converted up front) ...
    data = load_dataset(tiny_run(root).data)
    as_floats = Dataset("folder", data.as_float("train"), train_labels=data.train_labels)
    fit(tiny_run(root), tmp_path / "float", as_floats)
    # ... and stopped mid-epoch, then resumed (the folder reloaded from the cache)
    fit(tiny_run(root, "train.max_steps=3"), tmp_path / "cut")
    cut = tmp_path / "cut"
    resume_run(cut, ["train.max_steps=0"], hooks=[Checkpoints(cut), StatusFile(cut)]).fit()
    a = weights(tmp_path / "ref")
    for other in (tmp_path / "float", cut):
        b = weights(other)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), other


# -- the validation split -------------------------------------------------------------


def test_validation_split_is_the_classifiers_held_out_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "imgs"
    coloured(root, 60, classes=3)
    whole = load_dataset(folder_cfg(root))
    ds = load_dataset(folder_cfg(root, validation_size=12, subset=30))
    x, y, xt, yt = held_out_split(whole.train, whole.train_labels, 12)
    assert torch.equal(ds.validation, xt) and torch.equal(ds.validation_labels, yt)
    # data.subset: a seeded balanced draw of the training rows, not the first 30 (one class)
    assert torch.bincount(ds.train_labels).tolist() == [10, 10, 10]
    rows = balanced_indices(y, 10, SPLIT_SEED)
    assert torch.equal(ds.train, x[rows]) and torch.equal(ds.train_labels, y[rows])
    odd = load_dataset(folder_cfg(root, validation_size=12, subset=31))  # not a multiple
    assert len(odd.train) == 31 and sorted(torch.bincount(odd.train_labels).tolist()) != [31]
    assert torch.bincount(ds.validation_labels).tolist() == [4, 4, 4]
    # unlabelled: a seeded choice, the rest in order
    flat = tmp_path / "flat"
    for i in range(10):
        save(flat / f"{i}.png", Image.new("L", (4, 4), i))
    u = load_dataset(folder_cfg(flat, validation_size=3))
    values = sorted(u.train[:, 0, 0, 0].tolist() + u.validation[:, 0, 0, 0].tolist())
    assert values == list(range(10)) and len(u.validation) == 3
    assert u.train[:, 0, 0, 0].tolist() == sorted(u.train[:, 0, 0, 0].tolist())
    again = load_dataset(folder_cfg(flat, validation_size=3))
    assert torch.equal(u.validation, again.validation)
    capsys.readouterr()
    # too large for a small folder: every image trains, one warning line
    small = load_dataset(folder_cfg(flat, validation_size=10000))
    err = capsys.readouterr().err.strip().splitlines()
    assert small.validation is None and len(small.train) == 10
    assert len(err) == 1 and "no validation split: data.validation_size=10000" in err[0]
