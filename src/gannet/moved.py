"""Old import paths of modules that moved into packages (gannet 0.x, December 2026).

The top level of ``gannet`` was 25 single-file modules side by side; they now live in packages
named by what they hold (``gannet.files``, ``gannet.game``, ``gannet.trained``, ``gannet.paper``
and ``gannet.config``). Code written against an old path keeps working: ``import gannet.losses``
or ``from gannet.exporting.formats import FORMATS`` gives the module at its new path (the very
same module object, so a monkeypatch through either name is seen by both) and warns once with a
:class:`DeprecationWarning` naming the new path. :data:`MOVED` is the whole list (CHANGELOG.md
has it too). Type checkers do not see the old paths: change them when you next touch the code.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

MOVED: dict[str, str] = {
    "gannet.io": "gannet.files.atomic",
    "gannet.checkpoint": "gannet.files.checkpoint",
    "gannet.rundir": "gannet.files.rundir",
    "gannet.samplefile": "gannet.files.samplefile",
    "gannet.jsonfloat": "gannet.files.jsonfloat",
    "gannet.plotting": "gannet.files.pictures",
    "gannet.ranges": "gannet.config.ranges",
    "gannet.configfiles": "gannet.config.presets",
    "gannet.losses": "gannet.game.losses",
    "gannet.regularizers": "gannet.game.regularizers",
    "gannet.optim": "gannet.game.optim",
    "gannet.augment": "gannet.game.augment",
    "gannet.ada": "gannet.game.ada",
    "gannet.run": "gannet.trained.run",
    "gannet.averaging": "gannet.trained.averaging",
    "gannet.truncation": "gannet.trained.truncation",
    "gannet.synthset": "gannet.trained.synthset",
    "gannet.video": "gannet.trained.video",
    "gannet.memory": "gannet.trained.memory",
    "gannet.exporting": "gannet.trained.exporting",
    "gannet.projection": "gannet.trained.projection",
    "gannet.theory": "gannet.paper.theory",
    "gannet.reproduce": "gannet.paper.reproduce",
}
"""Old dotted path -> new dotted path. A moved package's submodules follow it
(``gannet.exporting.formats`` -> ``gannet.trained.exporting.formats``)."""


def new_name(old: str) -> str | None:
    """Where the module once imported as ``old`` lives now (None: it did not move)."""
    for before, after in MOVED.items():
        if old == before or old.startswith(before + "."):
            return after + old[len(before) :]
    return None


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module already imported under its new one."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.own_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.target}; import it from there (see gannet.moved)",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the module ran when it was imported under its new name); give it
        back its own ``__spec__``, which the import system set to the alias's."""
        module.__spec__ = self.own_spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds old paths of moved modules (installed on ``sys.meta_path`` by ``import gannet``)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        new = new_name(fullname) if fullname.startswith("gannet.") else None
        if new is None:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, _Alias(new))
        spec.submodule_search_locations = None
        return spec


def install() -> None:
    """Put :class:`MovedModuleFinder` first on ``sys.meta_path`` (once). First, because a
    moved package's old name carries its new ``__path__``: the usual finders would load
    ``gannet.exporting.formats`` a second time, as a separate module, from that folder."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
