"""Old import paths of moved modules still work, as the same module, with a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import gannet
from gannet.moved import MOVED, new_name


def test_every_new_path_exists_and_no_old_one_does():
    top = Path(gannet.__path__[0])
    for old, new in MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        name = old.split(".", 1)[1]
        assert not (top / f"{name}.py").exists() and not (top / name).exists(), old


def test_new_name_follows_a_moved_package_into_its_submodules():
    assert new_name("gannet.losses") == "gannet.game.losses"
    assert new_name("gannet.exporting.formats") == "gannet.trained.exporting.formats"
    assert new_name("gannet.lossesx") is None
    assert new_name("gannet.training") is None


def test_an_old_path_is_the_same_module_and_warns():
    # a fresh interpreter, so the alias is not already in sys.modules from another test
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "import gannet.game.losses as new\n"
        "try:\n"
        "    import gannet.losses\n"
        "except DeprecationWarning as e:\n"
        "    print('warned:', e)\n"
        "warnings.simplefilter('ignore')\n"
        "import gannet.losses as old\n"
        "from gannet.exporting.formats import __name__ as sub\n"
        "import gannet.trained.exporting.formats as formats, sys\n"
        "same = sys.modules['gannet.exporting.formats'] is formats\n"
        "print(old is new, old.__spec__.name, sub, same)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "warned: gannet.losses moved to gannet.game.losses" in out
    assert out.strip().endswith("True gannet.game.losses gannet.trained.exporting.formats True")


def test_a_monkeypatch_through_the_old_path_is_seen_at_the_new_one(monkeypatch):
    monkeypatch.delitem(sys.modules, "gannet.truncation", raising=False)
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("gannet.truncation")
    monkeypatch.setattr(old, "MOVED_TEST_MARKER", 1, raising=False)
    assert importlib.import_module("gannet.trained.truncation").MOVED_TEST_MARKER == 1


def test_a_name_that_never_existed_still_fails():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gannet.no_such_module")
