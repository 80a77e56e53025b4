"""``gannet datasets``: every registered dataset and where its files are found."""

from __future__ import annotations

import argparse
from pathlib import Path

from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list datasets and where they are found locally",
        description="Every registered dataset, and the folder its files are found in (or "
        "'missing' and how to get them).",
    )
    p.add_argument("--data-dir", metavar="DIR", help="also look in this folder")
    p.set_defaults(handler=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    from gannet.config import DataConfig
    from gannet.data import DATASETS

    if args.data_dir is not None:
        check_folder(args.data_dir)
    for name in DATASETS.names():
        entry = DATASETS.get(name)
        cfg = DataConfig(name=name, data_dir=args.data_dir or "")
        try:
            where = entry.locate(cfg)
        except GannetError as e:
            where = None
            note = str(e)
        else:
            note = ""
        shown = where if where else f"missing{': ' + note if note else ''}"
        print(f"{name:15s} {shown:50s} {entry.description}")
    return 0


def check_folder(path: str) -> None:
    """``--data-dir`` must name an existing folder (one line otherwise)."""
    if "\x00" in path:
        raise GannetError("--data-dir must not contain a NUL character")
    folder = Path(path)
    if not folder.exists():
        raise GannetError(f"--data-dir {path!r} does not exist; give the folder holding the files")
    if not folder.is_dir():
        raise GannetError(f"--data-dir {path!r} is not a folder; give the folder holding the files")
