"""Finding 3: oscillation, no convergence: D's outputs swing from interval to interval over
the last part of the run instead of settling (the simultaneous game of gradient descent
circles its equilibrium: Mescheder et al. 2018, "Which training methods for GANs do actually
converge?"), while the run's metric, when one is logged, does not improve."""

from __future__ import annotations

import math

from gannet.doctor.history import Context, History, quantile
from gannet.doctor.progress import improving, lower_is_better, metric_series
from gannet.doctor.report import Finding

LAST_PART = 1 / 3
"""The part of the run judged (its end: the start of any run moves a lot)."""
MIN_INTERVALS = 6
"""Logging intervals in the last part needed to judge."""
SWING_FAILING = 0.18
"""Spread (90th minus 10th percentile) of mean D(G(z)) over the last part, its linear trend
removed (a steady drift is not an oscillation), that is failing. Measured on the 2-D ring
runs of benchmarks/doctor.py (32-unit MLPs, 400 steps, seeds 0-2): the healthy
non-saturating + R1 runs spread by 0.005-0.11, the runs made to oscillate (Adam lr 1e-2,
beta1 0.9; simultaneous updates, or minimax) by 0.22-0.56; 0.18 lies between."""
SWING_WARNING = 0.12
"""The spread that is a warning (just above the healthy runs' largest, 0.11)."""

TITLE = "oscillation, no convergence"
WHY = (
    "with too large or too momentum-driven steps the two players circle the equilibrium "
    "instead of reaching it (Mescheder et al. 2018); a smaller lr, a lower Adam beta1, "
    "an R1 penalty or a weight average (EMA) damp it"
)
REMEDIES = [
    "a lower learning rate: --set optim.lr=<a quarter of it>",
    "--set optim.betas=[0.5, 0.999] (less momentum) or --set loss.r1_gamma=0.1",
    "--set train.ema=0.999 (sample from G's weight average)",
]


def detrended(values: list[float]) -> list[float]:
    """``values`` minus their least-squares line over their index."""
    n = len(values)
    if n < 2:
        return list(values)
    mx, my = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    slope = sum((i - mx) * (v - my) for i, v in enumerate(values)) / sxx
    return [v - (my + slope * (i - mx)) for i, v in enumerate(values)]


def detect(history: History, context: Context) -> Finding:
    """Failing: mean D(G(z)), detrended, spreads by SWING_FAILING or more over the last part
    and the metric (if logged) is not improving; warning: SWING_WARNING or more."""
    finding = Finding("oscillation", TITLE, why=WHY, remedies=list(REMEDIES))
    if not context.probabilistic:
        finding.judged = False
        finding.summary = f"not judged: {context.loss}'s D output is not a probability"
        return finding
    n = len(history.records)
    start = n - math.ceil(n * LAST_PART)
    fake = history.column("d_fake")
    part = fake[start:]
    if len(part) < MIN_INTERVALS:
        finding.judged = False
        finding.summary = f"{len(part)} logging intervals in the last third, {MIN_INTERVALS} needed"
        return finding
    residual = detrended([v for v in part if math.isfinite(v)])
    swing = quantile(residual, 0.9) - quantile(residual, 0.1)
    steps = history.steps
    finding.series = {"steps": list(map(float, steps)), "mean D(G(z))": list(fake)}
    key, _, values = metric_series(history)
    # Only a distance exempts: coverage of a cloud still looking for the modes is no sign.
    better = improving(key, values) if key and lower_is_better(key) else None
    finding.evidence = {"swing_d_fake": swing, "from_step": steps[start], "metric": key}
    if better is not None:
        finding.evidence["metric_improving"] = better
    finding.summary = (
        f"mean D(G(z)) spread {swing:.2f} (detrended) over steps {steps[start]}-{steps[-1]}"
    )
    if swing >= SWING_FAILING and not better:
        finding.severity, finding.began = "failing", steps[start]
    elif swing >= SWING_WARNING:
        finding.severity = "warning"
    if better:
        finding.summary += f" ({key} still improving)"
    return finding
