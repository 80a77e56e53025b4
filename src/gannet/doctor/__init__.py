"""``gannet doctor``: why a GAN run is failing, with the evidence and what to try.

Each finding has one detector module (thresholds as named constants, each saying where its
number comes from): :mod:`.divergence`, :mod:`.dwins` (D wins, G's gradient vanishes),
:mod:`.collapse` (mode collapse), :mod:`.oscillation`, :mod:`.overfit` (D overfits),
:mod:`.memorisation`, :mod:`.progress` (the metric; the healthy verdict's evidence). The
record-based ones run post hoc on metrics.jsonl (:func:`doctor`) and live during training
(:class:`gannet.training.hooks.LiveDoctor`) with the same code.

    report = gannet.doctor("runs/00003-mnist")
    print(report.verdict)
"""

from gannet.doctor.diagnose import doctor, record_findings, write_report
from gannet.doctor.history import Context, History, read_history
from gannet.doctor.report import Finding, Report, Severity

__all__ = [
    "Context",
    "Finding",
    "History",
    "Report",
    "Severity",
    "doctor",
    "read_history",
    "record_findings",
    "write_report",
]
