"""The sub-commands of ``gannet``: one module per command (or command group), each with an
``add_parser(sub)`` that adds its parser and sets its handler. :data:`gannet.cli.COMMANDS`
lists them, in the order ``gannet --help`` shows them; the arguments several commands
share are added by the functions here."""

from __future__ import annotations

import argparse


def add_raw_argument(p: argparse.ArgumentParser) -> None:
    """``--raw``: use G's raw weights instead of their moving average (train.ema runs)."""
    p.add_argument(
        "--raw",
        action="store_true",
        help="use G's raw weights, not their moving average (runs with train.ema > 0)",
    )


def add_truncation_argument(p: argparse.ArgumentParser) -> None:
    """``--truncation PSI``: the truncation trick (:mod:`gannet.trained.truncation`)."""
    p.add_argument(
        "--truncation",
        type=float,
        default=None,
        metavar="PSI",
        help="the truncation trick, psi in (0, 1]: w = w_avg + psi (w - w_avg), less varied "
        "samples nearer the average (generators with the trick only, e.g. stylegan-g)",
    )
