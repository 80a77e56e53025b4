"""The ``gannet`` command line. Each command is a thin layer over the Python API.

The commands live in :mod:`gannet.commands`, one module per command (or command group), each
with an ``add_parser(sub)``; :data:`COMMANDS` lists them in the order ``gannet --help`` shows
them. This module holds that list, the top-level parser and :func:`main`'s error handling.

Bad input (config, data, checkpoint, run folder) prints one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from gannet.errors import GannetError
from gannet.version import __version__

AddParser = Callable[[argparse._SubParsersAction], None]

COMMANDS: tuple[str, ...] = (
    "gannet.commands.train",
    "gannet.commands.configs",
    "gannet.commands.sample",
    "gannet.commands.export",
    "gannet.commands.info",
    "gannet.commands.doctor",
    "gannet.commands.datasets",
    "gannet.commands.evaluate",
    "gannet.commands.figures",
    "gannet.commands.playground",
    "gannet.commands.reproduce",
    "gannet.commands.classifier",
    "gannet.commands.average",
    "gannet.commands.augment",
    "gannet.commands.project",
)
"""The command modules, in ``gannet --help`` order; each defines ``add_parser(sub)``."""


class Parser(argparse.ArgumentParser):
    """argparse with gannet's error form: a bad argument is one line naming the command's
    --help (argparse's own prints the usage block first); sub-commands inherit it."""

    def error(self, message: str) -> NoReturn:
        raise GannetError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gannet",
        description="Generative Adversarial Nets (Goodfellow et al., 2014): train, sample, "
        "evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"gannet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        add: AddParser = importlib.import_module(name).add_parser
        add(sub)
    return parser


EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader went away (e.g. ``| head -1``): 128 + SIGPIPE, as a
shell reports a command killed by SIGPIPE."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _run(argv)
        finally:  # inside the try: a closed pipe shows up here, not at interpreter exit
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout has gone (e.g. `gannet ... | head -1`): stop quietly. Point
        # stdout at devnull so Python's own flush at exit does not fail again (the recipe
        # of the Python docs, "Note on SIGPIPE" in the signal module).
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args))
    except GannetError as e:
        print(f"gannet: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout's reader went away: main() handles it
        raise
    except OSError as e:  # a file-system failure no command turned into a GannetError
        where = f" {str(e.filename)!r}" if e.filename else ""
        print(f"gannet: error: cannot read or write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gannet: interrupted", file=sys.stderr)
        return 130


def _stdout_to_devnull() -> None:
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
