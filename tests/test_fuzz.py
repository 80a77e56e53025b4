"""Fuzz (issue 13): hostile config values and command-line arguments never crash gannet
and never damage what was written before.

Hypothesis draws ``--set key=value`` overrides over every config key (with values of every
type, out of range, non-finite, unparsable) for ``gannet train`` on a tiny mixture-2d config,
and argument lists for every command the parser has (found by walking it, so a new command is
fuzzed too). Each example is run in-process with :func:`gannet.cli.main`; the property is:

- the exit code is 0 or 2, and stderr holds no traceback;
- on exit 2, stderr has exactly one ``gannet: error:`` line, a new output folder was not
  created, and an existing run passed to the command is byte-identical;
- on exit 0, no file an existing run held before was changed or removed (new evaluation
  files may be added).

The data is offline (``GANNET_DATA`` an empty folder, downloads refused), so commands that
need MNIST fail fast instead of training. Examples are derandomized (the same every run)
and bounded (see ``CONFIG_EXAMPLES``, ``CLI_EXAMPLES``) to keep the file near a minute on 2
cores. HTTP request bodies are fuzzed in the playground's own tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import shutil
import signal
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gannet
from gannet.cli import build_parser
from gannet.config import Config
from tests.door_support import run_main, tiny_config, tree_digest

CONFIG_EXAMPLES = 100
CLI_EXAMPLES = 200

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclasses.dataclass
class Place:
    """The fuzz's folder: the tiny config, a trained run, files and folders to point at."""

    root: Path
    config: Path
    run: Path
    empty: Path
    counter: Iterator[int] = dataclasses.field(default_factory=itertools.count)

    def fresh(self, suffix: str = "") -> Path:
        """A path nothing exists at yet."""
        return self.root / "new" / f"{next(self.counter):05d}{suffix}"

    def copy_of_run(self) -> Path:
        copy = self.fresh()
        shutil.copytree(self.run, copy)
        return copy


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "new").mkdir()
    config = tiny_config(root)
    run = root / "run"
    gannet.train(Config.load(config), out=run)
    empty = root / "empty"
    empty.mkdir()
    sigterm = signal.getsignal(signal.SIGTERM)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANNET_DATA", str(empty))  # nothing found, nothing else searched
        mp.setenv("GANNET_CACHE", str(root / "cache"))
        mp.setenv("GANNET_RUNS", str(root / "runs"))
        mp.setattr("gannet.data.locate.urlopen", _offline)
        mp.setattr("webbrowser.open", lambda *a, **k: True)
        mp.setattr("gannet.playground.serve", _serve_without_blocking)
        yield Place(root, config, run, empty)
    signal.signal(signal.SIGTERM, sigterm)  # gannet playground sets its own


def _offline(*args: Any, **kwargs: Any) -> Any:
    raise OSError("the network is off in the fuzz test")


def _serve_without_blocking(*args: Any, **kwargs: Any) -> Any:
    """The real bind (so a bad --host or --port fails as it would), then no serving."""
    from gannet.playground.server import serve

    server = serve(*args, **kwargs)
    server.serve_forever = lambda *a, **k: None  # type: ignore[method-assign]
    return server


def check(code: int, err: str, created: Path | None, run: Path | None, before: dict) -> None:
    """The property every example must have (see the module's docstring)."""
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err, err
    if code == 2:
        errors = [x for x in err.splitlines() if x.startswith("gannet: error: ")]
        assert len(errors) == 1, err
        assert "\n" not in errors[0]
        if created is not None:
            assert not created.exists(), f"{created} was created by a refused command"
        if run is not None:
            assert tree_digest(run) == before, "a refused command changed the run"
    elif run is not None:
        after = tree_digest(run)
        changed = [k for k, v in before.items() if after.get(k) != v]
        assert not changed, f"files of the run changed or went: {changed}"


# -- config keys and values -----------------------------------------------------------

INTS = ["-1", "0", "1", "2", "3", str(2**63 - 1), str(2**63), str(-(2**63)), str(10**30)]
FLOATS = ["nan", "inf", "-inf", "-1.0", "0.0", "-0.0", "0.5", "0.999", "1.0", "2.0", "1e308"]
OTHER = ['"x"', '""', '"a\\u0000b"', "true", "[]", "{a = 1}", "[1, [2]]", "1979-05-27"]
SPECIAL: dict[str, list[str]] = {
    # Values that would make a valid run long are left out: runs stay at a few steps.
    "train.max_steps": ["-1", "1", "2", str(2**63), "1.5", "nan"],
    "train.epochs": ["-1", "0", "1", "2", str(2**63), "1.5"],
    "train.batch_size": ["-1", "0", "50", "100", "201", "65537", str(2**63)],
    "data.n_samples": ["-1", "0", "1", "100", "400", str(10**30)],
    "data.name": ['"mixture-2d"', '"gaussian-1d"', '"folder"', '"mnist"', '"cifar10"', '"nope"'],
    "data.data_dir": ['""', '"/nonexistent/gannet"', '"tiny.toml"', '"a\\u0000b"'],
    "data.download": ["false", "1", '"yes"'],
    "model.generator": ['"mlp-g"', '"paper-mlp"', '"dcgan-g"', '"nope"', '""'],
    "model.discriminator": ['"mlp-d"', '"paper-maxout"', '"dcgan-d"', '"nope"'],
    "loss.name": [f'"{n}"' for n in ("minimax", "wgan-gp", "hinge", "wasserstein", "nope")],
    "train.device": ['"cpu"', '"auto"', '"cuda"', '"cuda:3"', '"tpu"', '""', '"cpu:0"'],
}


def _values_for(key: str, tp: Any) -> st.SearchStrategy[str]:
    if key in SPECIAL:
        pool = SPECIAL[key]
    elif get_origin(tp) is Literal:
        pool = [f'"{a}"' for a in get_args(tp)] + ['"nope"', "1"]
    elif get_origin(tp) is list:
        pool = ["[]", "[3]", "[3, 4]", "[-5]", "[0]", "[1.5]", "[nan]", "[0.5, 0.9]"]
        pool += ["[0.5, 1.0]", '["a"]', "[" + ", ".join(["2"] * 40) + "]", "[16384]"]
    elif tp is bool:
        pool = ["true", "false", "1", '"true"']
    elif tp is int:
        pool = INTS
    elif tp is float:
        pool = FLOATS
    else:
        pool = ['"x"', '""', "1", '"a\\u0000b"']
    return st.one_of(st.sampled_from(pool + OTHER), st.text(max_size=6))


KEYS = {
    f"{section.name}.{f.name}": hint
    for section in dataclasses.fields(Config)
    for f, hint in (
        (f, typing.get_type_hints(typing.get_type_hints(Config)[section.name])[f.name])
        for f in dataclasses.fields(typing.get_type_hints(Config)[section.name])
    )
}
OVERRIDE = st.one_of(
    st.sampled_from(sorted(KEYS)).flatmap(
        lambda k: _values_for(k, KEYS[k]).map(lambda v, k=k: f"{k}={v}")
    ),
    st.sampled_from(["train.nope=1", "nope.x=1", "epochs=1", "train.epochs", "=", ".=1"]),
)


@settings(FUZZ, max_examples=CONFIG_EXAMPLES)
@given(overrides=st.lists(OVERRIDE, min_size=1, max_size=3), where=st.integers(0, 5))
def test_config_values(
    place: Place, capsys: pytest.CaptureFixture[str], overrides: list[str], where: int
) -> None:
    """gannet train CONFIG --set ... --out NEW (4 in 6), --resume a copy of a run, --out an
    existing run."""
    sets = [x for o in overrides for x in ("--set", o)]
    run: Path | None = None
    created: Path | None = None
    if where <= 3:
        created = place.fresh()
        argv = ["train", str(place.config), *sets, "--out", str(created)]
    elif where == 4:
        run = place.copy_of_run()
        argv = ["train", "--resume", str(run), *sets]
    else:
        run = place.run
        argv = ["train", str(place.config), *sets, "--out", str(run)]
    before = tree_digest(run) if run is not None else {}
    code, _, err = run_main(argv, capsys)
    if where == 4 and code == 0:
        run = None  # a resume that was allowed continues the run: it may change it
    check(code, err, created, run, before)
    if where == 5:
        assert code == 2  # an existing run is never a new run's --out


# -- every command's arguments --------------------------------------------------------


def leaves(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every runnable command ('gannet eval parzen', ...) and its parser."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(leaves(sub))
            return found
    return {parser.prog: parser}


COMMANDS = leaves(build_parser())
SKIPPED = {
    "gannet train",  # its arguments are fuzzed above, with the config
    "gannet export",  # 40-90 s an ONNX export here; see tests/test_export.py
}
BOUNDED = {
    "--samples": ["10", "-1", "0", "x", "nan", str(2**63), str(10**30)],
    "--steps": ["-1", "0", "1.5", "x", str(2**63)],  # figure toy1d: test_figures trains it
}
"""Options always given where a command has them, with these values only: their defaults
(10,000 samples, 1,200 steps) take tens of seconds a run on a loaded machine."""

TOKENS = ["-1", "0", "1", "2", "3", "1.5", "nan", "inf", str(2**63), str(10**30), "x", ""]
NUMBERS = ["1", "2", "3", "10"] * 3 + TOKENS  # valid small numbers more often than not
PATHS = ["RUN", "RUN/checkpoint.pt", "RUN/config.toml", "MISSING", "EMPTY", "CONFIG", ""]
OUTS = ["NEW.png", "NEW.npz", "NEW.json", "NEW.gif", "NEW", "RUN", "EMPTY", "/proc/gannet.png"]


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    """Tokens for one value of ``action``: valid ones often, so that commands get past
    argparse and their first checks, and hostile ones."""
    names = " ".join(action.option_strings) or action.dest
    if action.option_strings and action.option_strings[-1] in BOUNDED:
        return st.sampled_from(BOUNDED[action.option_strings[-1]])
    if action.choices:
        pool = [str(c) for c in action.choices] * 3 + ["nope", ""]
    elif action.type in (int, float):
        pool = NUMBERS
    elif any(w in names for w in ("out", "dir", "animate")):
        pool = OUTS + PATHS
    elif action.dest in ("run", "checkpoint", "against"):
        pool = ["RUN"] * 6 + PATHS + ["RUN/snapshots/epoch-0001.pt"]
    else:
        pool = PATHS + TOKENS
    return st.sampled_from(pool)


def _argv_for(prog: str) -> st.SearchStrategy[list[str]]:
    parser = COMMANDS[prog]
    optional = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    positional = [a for a in parser._actions if not a.option_strings]

    def one(action: argparse.Action) -> st.SearchStrategy[list[str]]:
        flag = st.just([action.option_strings[-1]])
        if action.nargs == 0:
            return flag
        values = st.lists(_value(action), min_size=1, max_size=2 if action.nargs else 1)
        return st.tuples(flag, values).map(lambda t: t[0] + t[1])

    pos = st.tuples(*[_value(a).map(lambda v: [v]) for a in positional])
    forced = [a for a in optional if a.required or a.option_strings[-1] in BOUNDED]
    chosen = st.lists(
        st.sampled_from([a for a in optional if a not in forced] or [None]),
        max_size=3,
        unique_by=lambda a: getattr(a, "dest", ""),
    ).map(lambda picked: [a for a in picked if a is not None])
    opts = chosen.flatmap(lambda picked: st.tuples(*[one(a) for a in picked]))
    must = st.tuples(*[one(a) for a in forced])
    junk = st.sampled_from([[], [], [], [], ["2"], ["x"], ["--nope"]])  # a stray token
    return st.tuples(pos, opts, must, junk).map(
        lambda t: (
            prog.split()[1:] + [x for part in (*t[0], *t[1], *t[2]) for x in part] + list(t[3])
        )
    )


ARGV = st.sampled_from(sorted(set(COMMANDS) - SKIPPED)).flatmap(_argv_for)


def _resolve(argv: list[str], place: Place, run: Path) -> tuple[list[str], Path | None]:
    """Placeholders to paths: RUN a fresh copy of the run, NEW a fresh path (the first one
    is returned, to check it is not created on a refusal)."""
    new: Path | None = None
    out = []
    for token in argv:
        if token.startswith("NEW"):
            path = place.fresh(token[3:])
            new = new or path
            token = str(path)
        else:
            for name, path in (
                ("RUN", run),
                ("MISSING", place.root / "missing"),
                ("EMPTY", place.empty),
                ("CONFIG", place.config),
            ):
                if token == name or token.startswith(name + "/"):
                    token = str(path) + token[len(name) :]
        out.append(token)
    return out, new


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(argv=ARGV)
def test_command_arguments(
    place: Place, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    run = place.copy_of_run()
    before = tree_digest(run)
    argv, created = _resolve(argv, place, run)
    code, _, err = run_main(argv, capsys)
    check(code, err, created, run, before)
    shutil.rmtree(run)


def test_every_command_is_fuzzed() -> None:
    """The walk found the commands (a new one is fuzzed without a change here)."""
    assert {"gannet sample", "gannet info", "gannet eval parzen", "gannet playground"} <= set(
        COMMANDS
    )
    assert len(COMMANDS) >= 12
