"""The one typed configuration object used by the Python API and the CLI.

A config has five sections (``data``, ``model``, ``loss``, ``optim``, ``train``). It is
read from TOML, changed by ``section.key=value`` overrides, and every key, type and range is
checked: an unknown key, a wrong type or a value out of range raises :class:`GannetError`
naming the key (and the allowed range). Each field's range is declared beside it with
:func:`gannet.config.ranges.ranged`; :func:`check_config` checks a config built in Python
the same way.
Defaults are the paper's MNIST setup (see ``configs/mnist-paper.toml``).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import tomli_w

from gannet.config.ranges import check_value
from gannet.config.sections import (
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)
from gannet.errors import GannetError

__all__ = [
    "Config",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "check_config",
]


@dataclass
class Config:
    """The whole configuration of a run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        """Build a config from nested dicts, checking every key and type."""
        if not isinstance(raw, dict):
            raise GannetError("a config must be a table of sections")
        sections = {f.name: f for f in dataclasses.fields(cls)}
        built: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in sections:
                raise GannetError(
                    f"unknown config section {key!r}; sections are: {', '.join(sections)}"
                )
            if not isinstance(value, dict):
                raise GannetError(f"config section {key!r} must be a table, got {value!r}")
            section_cls = _section_type(cls, key)
            built[key] = _build_section(section_cls, key, value)
        return cls(**built)

    @classmethod
    def load(cls, path: str | Path, overrides: list[str] | None = None) -> Config:
        """Read a TOML file, then apply ``section.key=value`` overrides."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise GannetError(f"config file {str(path)!r} not found") from None
        except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
            raise GannetError(f"cannot read config file {str(path)!r}: {e}") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise GannetError(f"config file {str(path)!r} is not valid TOML: {e}") from None
        return cls.from_dict(raw).with_overrides(overrides or [])

    def with_overrides(self, overrides: list[str]) -> Config:
        """Return a copy with ``section.key=value`` overrides applied (values parsed as TOML)."""
        raw = self.to_dict()
        for item in overrides:
            if "=" not in item:
                raise GannetError(f"override {item!r} must look like section.key=value")
            dotted, text = item.split("=", 1)
            parts = dotted.strip().split(".")
            if len(parts) != 2:
                raise GannetError(f"override key {dotted!r} must look like section.key")
            section, key = parts
            if section not in raw:
                raise GannetError(
                    f"unknown config section {section!r} in override {item!r}; "
                    f"sections are: {', '.join(raw)}"
                )
            raw[section][key] = _parse_value(text.strip())
        return Config.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        from gannet.files.atomic import atomic_write_bytes

        atomic_write_bytes(Path(path), self.to_toml().encode())


# -- helpers ------------------------------------------------------------------------


def _parse_value(text: str) -> Any:
    """Parse an override value as a TOML value; fall back to a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _section_type(cls: type, name: str) -> type:
    hints = typing.get_type_hints(cls)
    section_cls: type = hints[name]
    return section_cls


def _build_section(section_cls: type, section: str, values: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(section_cls)
    names = [f.name for f in dataclasses.fields(section_cls)]
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            raise GannetError(
                f"unknown config key '{section}.{key}'; keys in [{section}] are: {', '.join(names)}"
            )
        checked[key] = _check_type(f"{section}.{key}", value, hints[key])
    for f in dataclasses.fields(section_cls):
        if f.name in checked:
            integer = hints[f.name] in (int, list[int])
            check_value(f"{section}.{f.name}", checked[f.name], f.metadata.get("range"), integer)
    return section_cls(**checked)


def check_config(config: Config) -> None:
    """Check every key's type and range of a config built in Python (``Config(...)``,
    ``dataclasses.replace``) as :meth:`Config.from_dict` checks a loaded one."""
    Config.from_dict(config.to_dict())


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, str(tp)
    )


def _check_type(key: str, value: Any, tp: Any) -> Any:
    """Return ``value`` converted to ``tp`` (int -> float allowed), or raise GannetError."""
    origin = get_origin(tp)
    ok = True
    if origin is Literal:
        ok = value in get_args(tp)
    elif origin is list:
        if isinstance(value, list):
            return [_check_type(key, v, get_args(tp)[0]) for v in value]
        ok = False
    elif tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        ok = isinstance(value, float)
    elif tp is str:
        ok = isinstance(value, str)
    elif origin in (Union, types.UnionType):
        for arm in get_args(tp):
            try:
                return _check_type(key, value, arm)
            except GannetError:
                continue
        ok = False
    if not ok:
        raise GannetError(f"config key '{key}' must be {_type_name(tp)}, got {value!r}")
    return value
