"""Finding 1: D wins and G's gradient vanishes (the paper's section 3).

"Early in learning, when G is poor, D can reject samples with high confidence ... In this
case, log(1 - D(G(z))) saturates" (Goodfellow et al., 2014). Seen in the records as mean
D(G(z)) near 0 for many logging intervals in a row; with the saturating ``minimax`` G cost
G's gradient then vanishes (measured: benchmarks/vanishing_gradients.py), with the
non-saturating cost it still flows, so that case is a warning.
"""

from __future__ import annotations

from gannet.doctor.history import Context, History, median
from gannet.doctor.report import Finding

SATURATION_LEVEL = 0.01
"""Mean D(G(z)) below this counts as saturated. benchmarks/vanishing_gradients.py (results
in benchmarks/results/vanishing_gradients.json): with the minimax cost mean D(G(z)) stayed at
a median 0.0069 over steps 1-100 and 0.0012 over 301-400 while G's gradient was 85-695x
smaller than the non-saturating cost's, whose D(G(z)) recovered to 0.038-0.069."""
SATURATION_INTERVALS = 10
"""Saturated logging intervals in a row before the finding is raised (the health hook's
count before this module; at log_every = 100 that is 1,000 steps, 20 % of the paper's
5-epoch budget spent with no learning signal)."""
GRADIENT_FALL = 10.0
"""G's gradient norm counts as collapsed when its median over the saturated stretch is this
many times below its largest interval value before it: the benchmark measured 70x (steps
1-10) to 695x (steps 301-400) between the two costs, so 10x is well inside the effect."""

TITLE = "D wins, G's gradient vanishes"
WHY = (
    "D rejects every sample with confidence, so log(1 - D(G(z))) saturates and G's gradient "
    "vanishes (Goodfellow et al. 2014, section 3); the non-saturating cost, a weaker or "
    "regularised D (R1, Mescheder et al. 2018) keep a learning signal"
)
REMEDIES = [
    "--set loss.name='non-saturating'",
    "--set loss.r1_gamma=0.1",
    "a lower D learning rate relative to G's: --set optim.g_lr_scale=2, or fewer D steps "
    "(--set train.k=1)",
]


def detect(history: History, context: Context) -> Finding:
    """Failing: mean D(G(z)) < SATURATION_LEVEL for the last SATURATION_INTERVALS intervals
    or more, and the cost is minimax or G's gradient collapsed by GRADIENT_FALL; warning: the
    same stretch with a gradient that still flows, or such a stretch earlier in the run."""
    finding = Finding("d-wins", TITLE, why=WHY, remedies=list(REMEDIES))
    if not context.probabilistic:
        finding.judged = False
        finding.summary = f"not applicable: {context.loss}'s D output is not a probability"
        return finding
    if not history.records:
        finding.judged = False
        finding.summary = "no logging records yet"
        return finding
    fake, steps, grad = history.column("d_fake"), history.steps, history.column("grad_norm_g")
    finding.series = {"steps": list(map(float, steps)), "mean D(G(z))": list(fake)}
    low = [v < SATURATION_LEVEL for v in fake]
    tail = 0
    while tail < len(low) and low[len(low) - 1 - tail]:
        tail += 1
    longest, run = 0, 0
    for flag in low:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    finding.evidence = {
        "last_d_fake": fake[-1],
        "saturated_intervals_now": tail,
        "longest_saturated_intervals": longest,
        "level": SATURATION_LEVEL,
    }
    if tail >= SATURATION_INTERVALS:
        start = len(low) - tail
        before = [g for g in grad[:start] if g == g]
        peak = max(before) if before else grad[start]
        now = median(grad[start:])
        fall = peak / now if now > 0 else float("inf")
        finding.evidence.update(grad_norm_g_peak=peak, grad_norm_g_now=now, grad_fall=fall)
        finding.began = steps[start]
        collapsed = context.loss == "minimax" or fall >= GRADIENT_FALL
        finding.severity = "failing" if collapsed else "warning"
        finding.summary = (
            f"mean D(G(z)) below {SATURATION_LEVEL} for the last {tail} logging intervals "
            f"(since step {steps[start]}); G's gradient norm {now:.3g}, {fall:.0f}x below "
            f"its peak {peak:.3g}"
        )
    elif longest >= SATURATION_INTERVALS:
        finding.severity = "warning"
        finding.summary = (
            f"mean D(G(z)) stayed below {SATURATION_LEVEL} for {longest} intervals earlier, "
            f"now {fake[-1]:.3f}"
        )
    else:
        finding.summary = f"mean D(G(z)) {fake[-1]:.3f} (saturated for {tail} intervals)"
    return finding
