"""Finding 5: D overfits its training set (small-data runs): D's outputs on training rows
against held-out real rows (Karras et al. 2020, StyleGAN2-ADA, Fig. 1), judged by how well
they separate the two sets (AUC), with ADA's sign heuristic r_t = E[sign(D(x))] reported on
both. A D that has memorised its training rows scores them above held-out real rows; a D
that judges realism scores both alike."""

from __future__ import annotations

from torch import Tensor

from gannet.doctor.report import Finding

AUC_FAILING = 0.75
"""How well D's raw output tells its training rows from held-out real rows (the area under
the ROC curve: 0.5 = not at all, 1 = perfectly) that is failing: three times in four D
ranks a training image above a held-out one, so it answers "was this in my training set"
rather than "is this real". Healthy D's judge both sets alike (0.5). Unlike r_t, the AUC
does not saturate when D calls every real row real (r_t = 1 on both sets), as the paper's
MNIST model and the 100-image runs of benchmarks/doctor.py do."""
AUC_WARNING = 0.65
"""The AUC that is a warning."""
ADA_TARGET = 0.6
"""r_t above which StyleGAN2-ADA raises its augmentation probability (reported with the
held-out rows' value, not judged alone: a D near its optimum early in training has r_t near
1 without overfitting)."""

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


def auc(high: Tensor, low: Tensor) -> float:
    """P(a row of ``high`` scores above a row of ``low``), ties counting one half (the
    Mann-Whitney form of the area under the ROC curve)."""
    h, lo = high.double().flatten(), low.double().flatten()
    above = (h[:, None] > lo[None, :]).double().mean()
    ties = (h[:, None] == lo[None, :]).double().mean()
    return float(above + 0.5 * ties)


def detect(d_train: Tensor | None, d_held_out: Tensor | None) -> Finding:
    """Failing: D's outputs separate training from held-out real rows with AUC >=
    AUC_FAILING; warning: >= AUC_WARNING; not judged without held-out rows or with a
    conditional D. Also reports StyleGAN2-ADA's r_t = E[sign(D(x))] on both sets."""
    finding = Finding("d-overfits", TITLE, why=WHY, remedies=list(REMEDIES))
    if d_train is None or d_held_out is None:
        finding.judged = False
        finding.summary = "not judged: needs held-out real rows and an unconditional D"
        return finding
    rt = float(d_train.sign().mean())
    rv = float(d_held_out.sign().mean())
    separation = auc(d_train, d_held_out)
    finding.evidence = {
        "auc_train_vs_held_out": separation,
        "r_t_train": rt,
        "r_t_held_out": rv,
        "ada_target": ADA_TARGET,
        "mean_d_train": float(d_train.mean()),
        "mean_d_held_out": float(d_held_out.mean()),
    }
    finding.series = {
        "D(x) train": d_train.tolist()[:500],
        "D(x) held out": d_held_out.tolist()[:500],
    }
    finding.summary = (
        f"D tells training from held-out real rows with AUC {separation:.2f}; "
        f"E[sign D(x)]: training {rt:+.2f}, held-out {rv:+.2f}"
    )
    if separation >= AUC_FAILING:
        finding.severity = "failing"
    elif separation >= AUC_WARNING:
        finding.severity = "warning"
    return finding
