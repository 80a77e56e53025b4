"""The configs shipped inside the package (``src/gannet/configs/*.toml``) and the lookup that
turns what a user typed (``mnist-paper``, ``configs/grid-r1.toml``, ``./my.toml``) into a file.

The repository's ``configs/`` folder is a link to the same files, so the paths the docs give
(``configs/mnist-paper.toml``) work in a clone, and by name from any folder once installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gannet.errors import GannetError

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "configs"
"""Where the bundled TOML configs are installed."""

SUFFIX = ".toml"


@dataclass(frozen=True)
class BundledConfig:
    """One config shipped with gannet."""

    name: str
    """What ``gannet train NAME`` takes (the file name without ``.toml``)."""
    path: Path
    summary: str
    """The file's first comment line, without the ``#``."""


def bundled_configs() -> list[BundledConfig]:
    """The configs shipped with gannet, sorted by name."""
    paths = sorted(BUNDLED_DIR.glob(f"*{SUFFIX}")) if BUNDLED_DIR.is_dir() else []
    return [BundledConfig(p.stem, p, first_comment(p)) for p in paths]


def first_comment(path: Path) -> str:
    """The first ``#`` line of a TOML file, stripped ("" when it has none)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    for line in lines:
        text = line.strip()
        if text.startswith("#"):
            return text.lstrip("#").strip()
    return ""


def find_config(name_or_path: str | Path) -> Path:
    """The config file meant by ``name_or_path``.

    An existing file wins. Otherwise a bare name (``mnist-paper`` or ``mnist-paper.toml``),
    or a path into a folder named ``configs`` (the docs' ``configs/mnist-paper.toml``, typed
    outside a clone), is the bundled config of that name. Anything else is one
    :class:`GannetError` line naming the bundled configs."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.exists():
        raise GannetError(f"config {str(path)!r} is not a file; give a TOML file or a name")
    name = path.name.removesuffix(SUFFIX)
    bare = len(path.parts) == 1
    in_configs = len(path.parts) >= 2 and path.parent.name == "configs"
    if name and (bare or in_configs):
        bundled = BUNDLED_DIR / f"{name}{SUFFIX}"
        if bundled.is_file():
            return bundled
    names = ", ".join(c.name for c in bundled_configs()) or "none installed"
    raise GannetError(
        f"config {str(name_or_path)!r} not found: no such file, and no bundled config of that "
        f"name (bundled: {names}; `gannet configs` lists them)"
    )


def require_bundled(name: str) -> BundledConfig:
    """The bundled config called ``name`` (with or without ``.toml``); GannetError if none."""
    wanted = Path(name).name.removesuffix(SUFFIX)
    for config in bundled_configs():
        if config.name == wanted:
            return config
    names = ", ".join(c.name for c in bundled_configs()) or "none installed"
    raise GannetError(f"no bundled config {name!r}; bundled: {names}")
