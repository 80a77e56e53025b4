"""The shape of the codebase, checked: the training engine is reached only through its
public API, and modules stay small enough to read.

* No module outside ``gannet.training`` (in src/, benchmarks/ or tests/) reads or writes an
  underscore attribute of a trainer or of a training hook: a private name defined in the
  training package, one of the old trainer's private names, or any ``_name`` taken from an
  object called ``trainer``/``tr`` or from a ``.trainer`` attribute.
* No module in src/gannet is over 450 lines, and the class that runs the loop is under 300.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "gannet"
TRAINING = PACKAGE / "training"

OLD_PRIVATE = {  # the trainer.py internals other code used to reach into
    "_start_epoch",
    "_end_epoch",
    "_perm",
    "_health",
    "_check_modes",
    "_mode_y",
    "_mode_z",
    "_mode_best",
    "_write_status",
    "_accumulate",
    "_log",
    "_d_penalty",
    "_iteration",
}
TRAINER_NAMES = {"trainer", "tr"}


def _private_names_of_training() -> set[str]:
    names = set(OLD_PRIVATE)
    for path in TRAINING.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and _private(node.name):
                names.add(node.name)
            elif (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_trainer(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in TRAINER_NAMES
    return isinstance(node, ast.Attribute) and node.attr == "trainer"


def violations(path: Path, private: set[str]) -> list[str]:
    """Lines of ``path`` that reach into the training engine's private state."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        if node.attr in private or _is_trainer(node.value):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    return found


def _outside_training() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*.py") if TRAINING not in p.parents]
    files += sorted((ROOT / "benchmarks").glob("*.py"))
    files += [p for p in sorted((ROOT / "tests").glob("*.py")) if p.name != Path(__file__).name]
    return files


def test_nothing_outside_gannet_training_touches_a_trainers_private_state() -> None:
    private = _private_names_of_training()
    found = [v for path in _outside_training() for v in violations(path, private)]
    assert not found, "private trainer state used outside gannet.training:\n" + "\n".join(found)


def test_the_check_catches_a_reach_into_the_trainer() -> None:
    bad = ROOT / "tests" / "_scratch_reach.py"
    bad.write_text("def f(tr, x):\n    tr._start_epoch()\n    x.trainer._stats = 1\n")
    try:
        found = violations(bad, _private_names_of_training())
    finally:
        bad.unlink()
    assert sorted(v.split(": ")[1] for v in found) == ["._start_epoch", "._stats"]


def test_modules_are_small_and_the_loop_class_is_under_300_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 450
    }
    assert not long, f"modules over 450 lines: {long}"
    tree = ast.parse((TRAINING / "loop.py").read_text())
    (trainer,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Trainer"]
    assert trainer.end_lineno is not None
    assert trainer.end_lineno - trainer.lineno + 1 < 300


TOP_LEVEL_MODULES = {
    "__init__.py",  # the public API's names
    "__main__.py",  # python -m gannet
    "api.py",  # the Python API
    "cli.py",  # the command line
    "errors.py",  # GannetError, shared by all
    "registry.py",  # the Registry class behind every registry
    "version.py",
    "moved.py",  # old import paths of modules that moved into packages
}


def test_the_top_level_holds_only_the_front_doors_and_shared_basics() -> None:
    """Everything else lives in a package named for what it holds (docs/architecture.md):
    a new single-file module at the top of src/gannet/ belongs in one of them."""
    found = {p.name for p in PACKAGE.glob("*.py")}
    assert found == TOP_LEVEL_MODULES, (
        f"new top-level modules {sorted(found - TOP_LEVEL_MODULES)}: move them into a package "
        f"(see docs/architecture.md); gone: {sorted(TOP_LEVEL_MODULES - found)}"
    )
