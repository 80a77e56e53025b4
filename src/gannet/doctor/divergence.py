"""Finding 4: divergence: a loss or gradient norm became NaN or Inf (the health hook stops
the run, or rolls it back with ``train.on_divergence = "rollback"``), and the gradient norms
that exploded before it."""

from __future__ import annotations

import math

from gannet.doctor.history import Context, History, median
from gannet.doctor.report import Finding

WATCHED = ("d_loss", "g_loss", "value", "d_real_raw", "d_fake_raw", "grad_norm_g", "grad_norm_d")
"""The record keys whose non-finite value means divergence."""
EXPLODE_FACTOR = 100.0
"""A gradient norm this many times its median over the run so far counts as exploding: two
orders of magnitude. In benchmarks/doctor.py's healthy runs (seeds 0-2) no interval's
gradient norm exceeded 12x the running median (the MNIST G's, early, as D learns); its
oscillating minimax runs reached 50-130x, and a diverging run jumps to Inf."""
EXPLODE_WINDOW = 3
"""Intervals before the first non-finite one searched for the explosion."""

TITLE = "divergence"
WHY = (
    "a too large step sends the weights where the costs overflow (NaN or Inf); GAN training "
    "has no fixed minimum to stop it, so one bad step compounds"
)
REMEDIES = [
    "a lower learning rate: --set optim.lr=<half of it>",
    "--set train.on_divergence='rollback' (restore the last good checkpoint, halve the lr)",
    "--set loss.r1_gamma=0.1 or --set loss.spectral_norm=true (a smoother D)",
]


def first_bad(history: History) -> tuple[int | None, list[str]]:
    """The index of the first record with a non-finite watched value, and those keys."""
    for i, r in enumerate(history.records):
        bad = [k for k in WATCHED if k in r and not math.isfinite(as_number(r[k]))]
        if bad:
            return i, bad
    return None, []


def as_number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def explosion(history: History, until: int) -> tuple[str, int, float] | None:
    """(network, step, factor) of the first gradient norm above EXPLODE_FACTOR x its median
    over the records before it, in the EXPLODE_WINDOW records up to index ``until``."""
    steps = history.steps
    for i in range(max(1, until - EXPLODE_WINDOW + 1), until + 1):
        for net, key in (("G", "grad_norm_g"), ("D", "grad_norm_d")):
            col = history.column(key)
            base = median(col[:i])
            if base > 0 and (not math.isfinite(col[i]) or col[i] > EXPLODE_FACTOR * base):
                factor = col[i] / base if math.isfinite(col[i]) else math.inf
                return net, steps[i], factor
    return None


def detect(history: History, context: Context, status: str = "") -> Finding:
    """Failing: a non-finite loss or gradient norm (or run.json says "diverged"); warning: a
    gradient norm above EXPLODE_FACTOR x its median in the last EXPLODE_WINDOW intervals."""
    finding = Finding("divergence", TITLE, why=WHY, remedies=list(REMEDIES))
    if not history.records:
        finding.judged = status == "diverged"
        finding.severity = "failing" if status == "diverged" else "ok"
        finding.summary = "run.json says diverged" if finding.judged else "no records yet"
        return finding
    steps = history.steps
    finding.series = {
        "steps": list(map(float, steps)),
        "|grad G|": history.column("grad_norm_g"),
        "|grad D|": history.column("grad_norm_d"),
    }
    rollbacks = [e for e in history.events if e.get("event") == "rollback"]
    finding.evidence["rollbacks"] = len(rollbacks)
    index, keys = first_bad(history)
    if index is not None:
        boom = explosion(history, index)
        finding.severity, finding.began = "failing", steps[index]
        finding.evidence.update(step=steps[index], non_finite=keys)
        where = ""
        if boom:
            net, step, factor = boom
            finding.evidence.update(exploded=net, exploded_step=step, explode_factor=factor)
            where = f"; {net}'s gradient norm exploded first ({factor:.3g}x, step {step})"
        finding.summary = f"{', '.join(keys)} non-finite at step {steps[index]}{where}"
        return finding
    if status == "diverged":
        finding.severity = "failing"
        finding.summary = "run.json says diverged (non-finite weights at an epoch end)"
        return finding
    boom = explosion(history, len(history.records) - 1)
    if boom:
        net, step, factor = boom
        finding.severity, finding.began = "warning", step
        finding.evidence.update(exploded=net, exploded_step=step, explode_factor=factor)
        finding.summary = f"{net}'s gradient norm jumped {factor:.3g}x above its median"
    else:
        extra = f"; {len(rollbacks)} rollback(s) recovered it" if rollbacks else ""
        finding.summary = f"losses and gradient norms finite{extra}"
        if rollbacks:
            finding.severity = "warning"
    return finding
