"""Finding 5: D overfits its training set (small-data runs): the sign heuristic of
StyleGAN2-ADA (Karras et al. 2020), r_t = E[sign(D(x_train))], against the same on held-out
real images. A D that has memorised its training rows calls them real and the held-out
real rows fake, so the two part; a D that judges realism calls both real alike."""

from __future__ import annotations

from torch import Tensor

from gannet.doctor.report import Finding

GAP_FAILING = 0.5
"""r_t minus the held-out rows' E[sign(D(x))] that is failing: D calls at least a quarter of
the held-out real rows fake that it would call real among training rows (a sign gap of 0.5
is 25 % of rows flipped). Karras et al. (2020, Fig. 1) show D's outputs on training and
validation images parting as FID turns; the measured gaps of benchmarks/doctor.py's healthy
and 100-image runs are in docs/doctor.md."""
GAP_WARNING = 0.2
"""The gap that is a warning."""
ADA_TARGET = 0.6
"""r_t above which StyleGAN2-ADA raises its augmentation probability (reported, not
judged alone: a D near its optimum early in training has r_t near 1 without overfitting)."""

TITLE = "D overfits the training set"
WHY = (
    "with few training images D memorises them and its feedback to G stops generalising "
    "(Karras et al. 2020, StyleGAN2-ADA; Zhao et al. 2020, DiffAugment)"
)
REMEDIES = [
    "--set train.augment='color,translation,cutout' (DiffAugment)",
    "more training data (a larger data.subset, or data.subset=0)",
    "--set loss.r1_gamma=1 (a stronger R1 penalty)",
]


def detect(d_train: Tensor | None, d_held_out: Tensor | None) -> Finding:
    """Failing: E[sign(D(x_train))] - E[sign(D(x_held_out))] >= GAP_FAILING; warning: >=
    GAP_WARNING; not judged without held-out rows or with a conditional D."""
    finding = Finding("d-overfits", TITLE, why=WHY, remedies=list(REMEDIES))
    if d_train is None or d_held_out is None:
        finding.judged = False
        finding.summary = "not judged: needs held-out real rows and an unconditional D"
        return finding
    rt = float(d_train.sign().mean())
    rv = float(d_held_out.sign().mean())
    gap = rt - rv
    finding.evidence = {
        "r_t_train": rt,
        "r_t_held_out": rv,
        "gap": gap,
        "ada_target": ADA_TARGET,
        "mean_d_train": float(d_train.mean()),
        "mean_d_held_out": float(d_held_out.mean()),
    }
    finding.series = {
        "D(x) train": d_train.tolist()[:500],
        "D(x) held out": d_held_out.tolist()[:500],
    }
    finding.summary = f"E[sign D(x)]: training {rt:+.2f}, held-out {rv:+.2f} (gap {gap:.2f})"
    if gap >= GAP_FAILING:
        finding.severity = "failing"
    elif gap >= GAP_WARNING:
        finding.severity = "warning"
    return finding
