"""Finding 2: mode collapse, from the coverage the mode monitor logs (``modes_covered`` of
``n_modes``: the 2-D mixtures' modes, or the classes gannet's classifier finds in image
samples; :mod:`gannet.metrics.modes`). Post hoc, runs without a coverage record are judged
by their samples' diversity (:mod:`gannet.doctor.samples`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gannet.doctor.history import Context, History
from gannet.doctor.report import Finding

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor
    from torch.nn import Module

MODE_FALL = 2
"""A fall of this many modes (or classes) below the best coverage so far counts (the mode
monitor's threshold since it was written: the mode check's sampling noise moves coverage by
about one mode between checks, so one is not a signal)."""
FALL_CHECKS = 3
"""Checks in a row the fall must last to be failing (one low check is a warning: the live
hook's line). A healthy ring run (64-unit MLPs, non-saturating, Adam 1e-3) went 6, 4, 6
modes between checks while G spread out; a fall that lasts three checks is not that."""
LOW_COVERAGE = 0.5
"""Failing also when the last checks cover at most this fraction of the modes and the
coverage has stopped rising. In docs/beyond-2014.md's table (benchmarks/mode_collapse.py)
the runs that had not spread covered 0-5 of 8 ring modes and 0.3-16 of 25 grid modes, and
grid-r1, converged, 25 of 25."""
LOW_CHECKS = 4
"""Low coverage is judged only when the last LOW_CHECKS checks found no new best and at
least 2 x LOW_CHECKS checks were made (a run's first checks cover little while G spreads
out from its start)."""

QUALITY = 0.5
"""2-D mixtures: coverage is judged only when at least this fraction of the samples is high
quality (within 3 std of a mode: ``high_quality``). Mode collapse is G putting its samples
on few modes; with most samples off every mode G has not found the data yet, and its
coverage only measures how spread the cloud is (docs/beyond-2014.md: the 200-step runs of
benchmarks/mode_collapse.py had 0.1-4 % high quality; grid-r1, converged, 95 % at 25/25)."""

TITLE = "mode collapse"
WHY = (
    "G maps many z to the few modes D currently rewards instead of spreading over the data "
    "(the 'Helvetica scenario' of Goodfellow et al. 2014, section 6); stronger or "
    "Lipschitz-bounded D (spectral norm), more D steps or a gradient penalty spread it again"
)
REMEDIES = [
    "--set loss.spectral_norm=true",
    "--set train.k=2 (more D steps per G step)",
    "--set loss.r1_gamma=0.1, or a lower optim.lr",
]


def collapse_onto_one_mode(generator: Module, point: Tensor) -> None:
    """Make an MLP generator collapsed: its last linear layer's weights zeroed and its bias
    set to ``point``, so every z maps there (how tests and benchmarks/doctor.py build a run
    that starts collapsed onto one mode of a mixture)."""
    from torch import nn, no_grad

    last = [m for m in generator.modules() if isinstance(m, nn.Linear)][-1]
    with no_grad():
        last.weight.zero_()
        last.bias.copy_(point)


def detect(history: History, context: Context) -> Finding:
    """From the logged coverage: failing when it fell MODE_FALL below its best for
    FALL_CHECKS checks, or is at most LOW_COVERAGE of the modes and not rising; warning for
    a fall at the last check only."""
    finding = Finding("mode-collapse", TITLE, why=WHY, remedies=list(REMEDIES))
    steps, covered = history.measured("modes_covered")
    _, n_modes = history.measured("n_modes")
    if not covered:
        finding.judged = False
        finding.summary = "no mode coverage logged (2-D mixtures, or MNIST with a classifier)"
        return finding
    n = int(n_modes[-1]) if n_modes else 0
    finding.series = {"steps": list(map(float, steps)), "modes covered": list(covered)}
    best, best_step = max(covered), steps[covered.index(max(covered))]
    last = covered[-1]
    finding.evidence = {
        "modes_covered": int(last),
        "n_modes": n,
        "best": int(best),
        "best_step": best_step,
        "checks": len(covered),
    }
    unit = "classes" if "class_kl" in history.fields() else "modes"
    _, quality = history.measured("high_quality")
    if quality:
        finding.evidence["high_quality"] = quality[-1]
        finding.series["high quality x n"] = [q * n for q in history.measured("high_quality")[1]]
        if quality[-1] < QUALITY:
            finding.summary = (
                f"{last:.0f} of {n} {unit} covered, but only {quality[-1]:.0%} of samples near "
                "a mode: G has not found the modes yet (not judged as collapse)"
            )
            return finding
    fallen = [c <= best - MODE_FALL for c in covered]
    tail = 0
    while tail < len(fallen) and fallen[len(fallen) - 1 - tail]:
        tail += 1
    stuck = len(covered) >= 2 * LOW_CHECKS and max(covered[-LOW_CHECKS:]) <= max(
        covered[:-LOW_CHECKS]
    )
    if tail >= FALL_CHECKS:
        finding.severity, finding.began = "failing", steps[len(covered) - tail]
        finding.summary = (
            f"mode coverage fell from {best:.0f} to {last:.0f} of {n} {unit} at step "
            f"{finding.began} and stayed down for {tail} checks"
        )
    elif stuck and last <= LOW_COVERAGE * n:
        finding.severity = "failing"
        finding.summary = f"only {last:.0f} of {n} {unit} covered (best {best:.0f})"
    elif tail:
        finding.severity, finding.began = "warning", steps[-1]
        finding.summary = (
            f"mode coverage fell from {best:.0f} to {last:.0f} of {n} {unit} at step {steps[-1]}"
        )
    else:
        finding.summary = f"{last:.0f} of {n} {unit} covered (best {best:.0f})"
    return finding


DIVERSITY_FAILING = 0.5
"""Mean pairwise distance of samples over that of real rows that is failing (for data with
no coverage record): half the spread of the data, where a G that draws a few images over
and over sits far below (two images at distance d give d/2 on average, one image 0)."""
DIVERSITY_WARNING = 0.75
"""The diversity ratio that is a warning."""


SHARPNESS = 0.75
"""Images: diversity is judged only when the samples' mean within-image pixel standard
deviation is at least this fraction of the real images'. An untrained MLP generator draws
nearly the same grey blob for every z (the paper's MNIST model after 100 steps in
benchmarks/doctor.py: 57 % of the digits' within-image std, pairwise distance 0.05
of the data's): that is a G that has not found the data yet, not a collapse."""


def from_diversity(
    samples_spread: float, real_spread: float, sharpness: float | None = None
) -> Finding:
    """Post hoc, for runs without a coverage record: failing when the samples' mean pairwise
    distance is under DIVERSITY_FAILING x the real rows', warning under DIVERSITY_WARNING;
    for images (``sharpness``: samples' within-image std over the real images') only when
    sharpness >= SHARPNESS."""
    finding = Finding("mode-collapse", TITLE, why=WHY, remedies=list(REMEDIES))
    ratio = samples_spread / real_spread if real_spread > 0 else float("inf")
    finding.evidence = {
        "samples_mean_pairwise": samples_spread,
        "real_mean_pairwise": real_spread,
        "diversity_ratio": ratio,
    }
    finding.summary = (
        f"samples' mean pairwise distance {samples_spread:.3g}, real rows' {real_spread:.3g} "
        f"(ratio {ratio:.2f})"
    )
    if sharpness is not None:
        finding.evidence["sharpness"] = sharpness
        if sharpness < SHARPNESS:
            finding.summary += (
                f"; samples have {sharpness:.0%} of the data's contrast: G has not found the "
                "data yet (not judged as collapse)"
            )
            return finding
    if ratio < DIVERSITY_FAILING:
        finding.severity = "failing"
    elif ratio < DIVERSITY_WARNING:
        finding.severity = "warning"
    return finding
