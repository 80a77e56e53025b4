"""Finding dataset folders, verifying checksums and downloading missing files.

Search order for a dataset called ``name`` (first folder holding every file wins):

1. ``data.data_dir`` when set (the folder itself, then ``<data_dir>/<name>``). When it is
   set, nothing else is searched and nothing is downloaded: missing files are an error
   naming that folder.
2. ``$GANNET_DATA/<name>`` then ``$GANNET_DATA``.
3. The cache folder :func:`cache_dir` (``$GANNET_CACHE/<name>``, else
   ``$XDG_CACHE_HOME/gannet/<name>``, else ``~/.cache/gannet/<name>``).
4. System folders listed in :data:`SYSTEM_DIRS` (e.g. Debian's fashion-mnist package).

When nothing is found and ``data.download`` is true, the missing files are downloaded
into the cache folder (temporary file, MD5 verified, then renamed into place).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

import torch

from gannet.config import DataConfig
from gannet.data.progress import Progress
from gannet.errors import GannetError

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 10.0
"""Seconds to wait for a mirror to answer (connect and each read)."""

SYSTEM_DIRS: dict[str, list[str]] = {
    "fashion-mnist": ["/usr/share/datasets/fashion-mnist"],
}
"""Extra read-only folders searched last, per dataset name."""

MissingFn = Callable[[Path], list[str]]
"""``missing(folder)`` -> names of the required files absent from ``folder`` ([] = complete)."""


# -- folders -------------------------------------------------------------------------


def cache_dir(name: str) -> Path:
    """The folder downloads of dataset ``name`` go to."""
    override = os.environ.get("GANNET_CACHE")
    if override:
        return Path(override).expanduser() / name
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "gannet" / name


def search_dirs(name: str, data_dir: str = "") -> list[Path]:
    """The folders searched for dataset ``name``, in order (see the module docstring)."""
    if data_dir:
        root = Path(data_dir).expanduser()
        return [root, root / name]
    dirs: list[Path] = []
    env = os.environ.get("GANNET_DATA")
    if env:
        for part in env.split(os.pathsep):
            if part:
                base = Path(part).expanduser()
                dirs += [base / name, base]
    dirs.append(cache_dir(name))
    dirs += [Path(p) for p in SYSTEM_DIRS.get(name, [])]
    return dirs


def find_dir(cfg: DataConfig, name: str, missing: MissingFn) -> Path | None:
    """The first searched folder holding every required file, or None (never downloads)."""
    for folder in search_dirs(name, cfg.data_dir):
        if folder.is_dir() and not missing(folder):
            return folder
    return None


def resolve_dir(
    cfg: DataConfig,
    name: str,
    title: str,
    missing: MissingFn,
    fetch: Callable[[Path], None],
) -> Path:
    """Find the folder of dataset ``name``; download into the cache when allowed.

    ``fetch(folder)`` downloads the files ``missing(folder)`` reports into ``folder``
    and raises :class:`GannetError` (with the reason) when it cannot.
    """
    if cfg.data_dir:
        root = Path(cfg.data_dir).expanduser()
        if root.exists() and not root.is_dir():
            raise GannetError(f"data.data_dir {cfg.data_dir!r} is not a folder; pass a folder")
    found = find_dir(cfg, name, missing)
    if found is not None:
        return found
    if cfg.data_dir:
        root = Path(cfg.data_dir).expanduser()
        if not root.is_dir():
            raise GannetError(
                f"data.data_dir {cfg.data_dir!r} does not exist; create it and put the "
                f"{title} files there, or leave data_dir empty to search GANNET_DATA and "
                f"{cache_dir(name)}"
            )
        raise GannetError(
            f"{title} files missing in {root}: {', '.join(missing(root))}; put them there "
            f"(or in {root / name}), or leave data_dir empty to search GANNET_DATA and "
            f"{cache_dir(name)}"
        )
    # Name the most complete searched folder (or the cache) as the place to put files.
    cache = cache_dir(name)
    target, absent = cache, missing(cache)
    for folder in search_dirs(name):
        if folder.is_dir():
            lacking = missing(folder)
            if len(lacking) < len(absent):
                target, absent = folder, lacking
    where = (
        f"{title} files missing: {', '.join(absent)}; put them in {target}, "
        f"or pass --data-dir DIR / set GANNET_DATA"
    )
    if not cfg.download:
        raise GannetError(f"{where} (downloading is off: set data.download=true to fetch them)")
    try:
        fetch(cache)
    except GannetError as e:
        raise GannetError(f"{where} (download failed: {e})") from None
    still = missing(cache)
    if still:  # pragma: no cover - fetch is expected to raise instead
        raise GannetError(f"{where} (download left out: {', '.join(still)})")
    return cache


# -- checksums -----------------------------------------------------------------------


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    """Hex MD5 of a file, read in 1 MiB chunks."""
    h = hashlib.md5(usedforsecurity=False)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise GannetError(f"cannot read {path}: {e.strerror or e}") from None
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (remembered per path, size and
    modification time, so a large file is hashed once per process)."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _SHA256:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            _SHA256[key] = h.hexdigest()
    except OSError as e:
        raise GannetError(f"cannot read {path}: {e.strerror or e}") from None
    return _SHA256[key]


_SHA256: dict[tuple[str, int, int], str] = {}


def check_md5(path: Path, expected: str, got: str) -> None:
    """Raise GannetError naming ``path`` when ``got`` != ``expected``."""
    if got != expected:
        raise GannetError(
            f"{path} failed its MD5 check (expected {expected}, got {got}): it is corrupt, "
            f"incomplete or not the official file; delete it and download it again"
        )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise GannetError(f"cannot read {path}: {e.strerror or e}") from None


# -- downloading ---------------------------------------------------------------------

OFFLINE_ENV = "GANNET_OFFLINE"
"""Set to 1 (or true/yes/on) and gannet downloads nothing."""


def offline_requested() -> bool:
    """Whether ``$GANNET_OFFLINE`` asks gannet not to use the network."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _reason(e: BaseException) -> str:
    if isinstance(e, HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, URLError):
        return str(e.reason)
    return str(e) or type(e).__name__


def download(
    urls: Sequence[str],
    dest: Path,
    md5: str | None,
    timeout: float | None = None,
    *,
    sha256: str | None = None,
    progress: str = "none",
) -> None:
    """Download ``dest`` from the first mirror in ``urls`` that serves the right bytes.

    The body goes to a temporary file beside ``dest``; its MD5 and SHA-256 are checked
    (those given) before it is renamed to ``dest``, so ``dest`` is never half-written.
    ``progress`` (``auto``, ``bar``, ``lines`` or ``none``, as ``train.progress``) shows the
    bytes received on stderr. Raises GannetError with every mirror's failure reason on one
    line.
    """
    if offline_requested():
        raise GannetError(
            f"not downloading {dest.name}: GANNET_OFFLINE is set; unset it to download, or "
            f"put the file at {dest}"
        )
    if timeout is None:
        timeout = DOWNLOAD_TIMEOUT
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GannetError(f"cannot create {dest.parent}: {e.strerror or e}") from None
    reasons: list[str] = []
    for url in urls:
        tmp = ""
        try:
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            hashes = {"MD5": hashlib.md5(usedforsecurity=False), "SHA-256": hashlib.sha256()}
            with os.fdopen(fd, "wb") as out, urlopen(url, timeout=timeout) as response:
                log.info("downloading %s", url)
                headers = getattr(response, "headers", None)  # absent on plain file objects
                size = int(headers.get("Content-Length") or 0) if headers is not None else 0
                bar = ByteProgress(size, progress, f"downloading {dest.name}")
                try:
                    while chunk := response.read(1 << 20):
                        for h in hashes.values():
                            h.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
                finally:
                    bar.close()
                out.flush()
                os.fsync(out.fileno())
            if size and bar.done != size:
                reasons.append(f"{url}: truncated ({bar.done} of {size} bytes received)")
                continue
            wanted = {"MD5": md5, "SHA-256": sha256}
            bad = [
                f"{kind} mismatch (expected {want}, got {hashes[kind].hexdigest()})"
                for kind, want in wanted.items()
                if want is not None and hashes[kind].hexdigest() != want
            ]
            if bad:
                reasons.append(f"{url}: {bad[0]}")
                continue
            os.replace(tmp, dest)
            return
        except (OSError, ValueError, http.client.HTTPException) as e:
            reasons.append(f"{url}: {_reason(e)}")
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)
    raise GannetError("; ".join(reasons) or "no mirror to download from")


class ByteProgress(Progress):
    """Bytes received, shown as :class:`gannet.data.progress.Progress` shows files: a bar
    on a terminal (``auto``/``bar``), a line every 10 % (``lines``) or nothing (``none``,
    and downloads under 1 MiB or of unknown size)."""

    unit = "B"
    quiet_below = 1 << 20

    def line(self) -> str:
        return (
            f"{self.done / 1e6:.1f} of {self.total / 1e6:.1f} MB ({100 * self.done // self.total}%)"
        )


# -- splits --------------------------------------------------------------------------


def split_validation(
    data: torch.Tensor,
    labels: torch.Tensor | None,
    validation_size: int,
    title: str,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(train, train_labels, validation, validation_labels): validation = the LAST rows."""
    n = data.shape[0]
    if validation_size < 0:
        raise GannetError(f"data.validation_size must be >= 0, got {validation_size}")
    if validation_size >= n:
        raise GannetError(
            f"data.validation_size={validation_size} leaves no {title} training rows "
            f"(the training file has {n}); set it below {n}"
        )
    if validation_size == 0:
        return data, labels, None, None
    cut = n - validation_size
    return (
        data[:cut],
        None if labels is None else labels[:cut],
        data[cut:],
        None if labels is None else labels[cut:],
    )


def apply_subset(
    data: torch.Tensor, labels: torch.Tensor | None, subset: int, title: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Keep the first ``subset`` training rows (0 = all)."""
    if subset < 0:
        raise GannetError(f"data.subset must be >= 0 (0 = all), got {subset}")
    if subset == 0:
        return data, labels
    if subset > data.shape[0]:
        raise GannetError(
            f"data.subset={subset} is more than the {data.shape[0]} {title} training rows; "
            f"lower it (or set 0 for all)"
        )
    return data[:subset], None if labels is None else labels[:subset]
