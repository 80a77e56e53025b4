"""``gannet doctor RUN``: diagnose a run (:func:`gannet.doctor`): each finding's severity,
evidence and what to try on the terminal; RUN/eval/doctor.json, RUN/doctor.png and
RUN/doctor.html written beside it."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="diagnose why a run is failing",
        description="Why a GAN run is failing (D wins, mode collapse, oscillation, "
        "divergence, D overfitting, memorisation), with the evidence and what to try. "
        "Writes RUN/eval/doctor.json, RUN/doctor.png and RUN/doctor.html.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--no-samples",
        action="store_true",
        help="judge from metrics.jsonl only (no checkpoint or data loaded: fast)",
    )
    p.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from gannet.doctor import doctor, write_report

    report = doctor(args.run, samples=not args.no_samples)
    paths = write_report(report)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.text())
        print("written  " + ", ".join(str(p) for p in paths))
    return 0
