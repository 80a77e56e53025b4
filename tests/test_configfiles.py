"""Bundled configs: ``find_config`` (a name, the docs' ``configs/NAME.toml`` from anywhere, a
path), ``gannet configs`` and the repository's ``configs/`` being the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gannet.cli import main
from gannet.config import Config
from gannet.config.presets import BUNDLED_DIR, bundled_configs, find_config
from gannet.errors import GannetError

REPO = Path(__file__).resolve().parents[1]


def test_every_repository_config_is_bundled_and_loads() -> None:
    repo = sorted(p.name for p in (REPO / "configs").glob("*.toml"))
    assert len(repo) >= 9
    assert sorted(p.name for p in BUNDLED_DIR.glob("*.toml")) == repo
    for name in repo:
        assert (REPO / "configs" / name).read_bytes() == (BUNDLED_DIR / name).read_bytes()
    for config in bundled_configs():
        assert config.summary and not config.summary.startswith("#")
        Config.load(config.path)  # every bundled config is valid


def test_find_config_by_name_path_or_docs_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside the repository: no ./configs here
    grid = BUNDLED_DIR / "grid-r1.toml"
    assert find_config("grid-r1") == grid
    assert find_config("grid-r1.toml") == grid
    assert find_config("configs/grid-r1.toml") == grid
    assert find_config(Path("some/where/configs/grid-r1.toml")) == grid
    mine = tmp_path / "grid-r1.toml"  # a file of that name here wins over the bundled one
    mine.write_text("[train]\nepochs = 1\n")
    assert find_config("grid-r1.toml") == Path("grid-r1.toml")
    assert find_config(mine) == mine
    assert find_config("grid-r1") == grid  # a bare name without .toml is the bundled one
    with pytest.raises(GannetError, match=r"not found.*bundled: .*grid-r1.*gannet configs"):
        find_config("grid-r2")
    with pytest.raises(GannetError, match="not found"):
        find_config("elsewhere/grid-r1.toml")  # a folder not called configs: no fallback
    (tmp_path / "adir").mkdir()
    with pytest.raises(GannetError, match="is not a file"):
        find_config("adir")


def test_train_takes_a_bundled_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """gannet train NAME reaches the config; an unknown name is one line, exit 2."""
    assert main(["train", "grid-r9", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gannet: error: config 'grid-r9' not found") and "\n" not in err
    assert not (tmp_path / "run").exists()
    # A bad override on the named config is reported against it: the file was found.
    assert main(["train", "grid-r1", "--set", "train.nope=1", "--out", str(tmp_path / "r")]) == 2
    assert "nope" in capsys.readouterr().err


def test_gannet_configs_lists_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for config in bundled_configs():
        assert any(line.split()[:1] == [config.name] and config.summary in line for line in lines)
    assert main(["configs", "mnist-paper"]) == 0
    assert capsys.readouterr().out == (BUNDLED_DIR / "mnist-paper.toml").read_text()
    assert main(["configs", "nope"]) == 2
    assert "no bundled config 'nope'" in capsys.readouterr().err
