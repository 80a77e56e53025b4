"""Finding 7: progress, and the healthy verdict's evidence: the run's own metric (a feature
distance logged by ``train.eval_every``, else the mode coverage) still improving or settled
near its best; failing when it collapsed far past its best (the rollback's trigger)."""

from __future__ import annotations

import math

from gannet.doctor.collapse import QUALITY
from gannet.doctor.history import History
from gannet.doctor.report import Finding

DISTANCES = ("fid", "kid")
"""Record key prefixes of distances (lower is better), in order of preference."""
COLLAPSE_FACTOR = 3.0
"""A distance this many times its best counts as collapsed (failing). The runs reported in
stylegan2-ada-pytorch #159 and #157 went from FID 7.8 to 300-500: 40-60x; 3x leaves room
for the noise of a 10,000-sample FID early in a run (a few percent) many times over."""
WORSE_FACTOR = 1.5
"""A distance this many times its best is a warning."""
SETTLED = 1.1
"""Within this factor of its best (or of the best coverage) counts as settled."""

TITLE = "progress"
WHY = (
    "the run's metric got much worse than its best: the generator left a good solution "
    "(a late collapse); an earlier snapshot holds the good G"
)
REMEDIES = [
    "--set train.on_divergence='rollback' (restore the last good checkpoint, halve the lr)",
    "a lower learning rate: --set optim.lr=<half of it>",
    "use the best snapshot: --set train.snapshot_every=1, then gannet average or sample one",
]


def metric_series(history: History) -> tuple[str | None, list[int], list[float]]:
    """The metric judged: the first fid_* / kid_* key logged (lower is better), else
    ``modes_covered`` (higher is better); (None, [], []) when there is none."""
    keys = sorted(history.fields())
    for prefix in DISTANCES:
        for key in keys:
            if key.startswith(prefix + "_") and not key.startswith("kid_std"):
                steps, values = history.measured(key)
                if values:
                    return key, steps, values
    steps, values = history.measured("modes_covered")
    return ("modes_covered", steps, values) if values else (None, [], [])


def lower_is_better(key: str) -> bool:
    return key.split("_")[0] in DISTANCES


def improving(key: str, values: list[float]) -> bool | None:
    """True when the metric's last value is its best so far or within SETTLED of it; None
    with fewer than two values."""
    if len(values) < 2:
        return None
    if lower_is_better(key):
        return values[-1] <= SETTLED * min(values)
    return values[-1] * SETTLED >= max(values)


def detect(history: History) -> Finding:
    """Failing: a distance at COLLAPSE_FACTOR x its best or more; warning: WORSE_FACTOR x;
    ok otherwise (still improving, or settled within SETTLED of its best)."""
    finding = Finding("progress", TITLE, why=WHY, remedies=list(REMEDIES))
    key, steps, values = metric_series(history)
    if key is None:
        finding.judged = False
        finding.summary = (
            "no metric logged; --set train.eval_every=N logs FID (mixtures: mode coverage)"
        )
        return finding
    finding.series = {"steps": list(map(float, steps)), key: list(values)}
    _, quality = history.measured("high_quality")
    if key == "modes_covered" and quality and quality[-1] < QUALITY:
        finding.judged = False
        finding.summary = (
            f"not judged: {quality[-1]:.0%} of samples near a mode, G has not found the modes"
        )
        return finding
    last = values[-1]
    if lower_is_better(key):
        best = min(values)
        best_step = steps[values.index(best)]
        ratio = last / best if best > 0 else math.inf
        finding.evidence = {"metric": key, "last": last, "best": best, "best_step": best_step}
        finding.evidence["ratio_to_best"] = ratio
        if ratio >= COLLAPSE_FACTOR:
            finding.severity, finding.began = (
                "failing",
                next(
                    s
                    for s, v in zip(steps, values, strict=True)
                    if s > best_step and v >= 1.5 * best
                ),
            )
            finding.summary = (
                f"{key} {last:.4g}, {ratio:.1f}x its best {best:.4g} (step {best_step})"
            )
            return finding
        if ratio >= WORSE_FACTOR:
            finding.severity = "warning"
            finding.summary = f"{key} {last:.4g}, {ratio:.2f}x its best {best:.4g}"
            return finding
    else:
        best = max(values)
        finding.evidence = {"metric": key, "last": last, "best": best}
    state = (
        "still improving"
        if values[-1] == (min(values) if lower_is_better(key) else best)
        else "settled near its best"
    )
    finding.summary = f"{key} {last:.4g} ({state}; best {best:.4g})"
    return finding
