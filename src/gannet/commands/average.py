"""``gannet average``: G's weights averaged uniformly over a run's snapshots."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "average",
        help="average G's weights over a run's snapshots (Polyak averaging)",
        description="Average G's weights (and their EMA, when the run kept one) uniformly over "
        "the run's snapshots of epochs FIRST..LAST, and write a checkpoint that the "
        "--checkpoint option of gannet eval, figure and sample accepts.",
    )
    p.add_argument("run", help="run folder with snapshots (train.snapshot_every)")
    p.add_argument("--from", dest="first", type=int, required=True, help="first epoch averaged")
    p.add_argument("--to", dest="last", type=int, help="last epoch averaged (default: newest)")
    p.add_argument("--out", help="checkpoint file (default: RUN/snapshots/average-FROM-TO.pt)")
    p.set_defaults(handler=_average)


def _average(args: argparse.Namespace) -> int:
    from gannet.trained.averaging import write_average

    path, window = write_average(args.run, args.first, args.last, args.out)
    print(
        f"averaged {window['snapshots']} snapshots (epochs {window['first']}..{window['last']}) "
        f"into {path}"
    )
    return 0
