"""The doctor's pictures: one panel per finding (its curves, or its two distributions),
titled with its severity; RUN/doctor.html puts them beside the text."""

from __future__ import annotations

import html as html_lib
import math
from pathlib import Path
from typing import Any

from gannet.doctor.report import Finding, Report

COLOURS = {"ok": "tab:green", "warning": "tab:orange", "failing": "tab:red"}


def panel(ax: Any, finding: Finding, label: str = "") -> None:
    """Draw ``finding``'s evidence on the matplotlib axes ``ax``."""
    series = dict(finding.series)
    steps = series.pop("steps", None)
    for name, values in series.items():
        ys = [math.nan if v is None else v for v in values]
        if steps is not None:
            ax.plot(steps, ys, ".-" if len(ys) < 40 else "-", label=name, lw=1)
        else:
            finite = [v for v in ys if math.isfinite(v)]
            if finite:
                ax.hist(finite, bins=30, alpha=0.5, label=name)
    if finding.name in ("d-wins",) and steps is not None:
        ax.axhline(0.01, color="grey", ls=":", lw=1)
    if steps is not None and finding.name == "divergence" and series:
        ax.set_yscale("log")
    if steps is not None:
        ax.set_xlabel("generator step")
    if ax.lines or ax.patches:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no curve", ha="center", va="center", transform=ax.transAxes)
    title = f"{label}{finding.name}: {finding.severity}" + ("" if finding.judged else " (n/j)")
    ax.set_title(title, color=COLOURS[finding.severity], fontsize=9)


def draw(report: Report, path: Path) -> None:
    """All findings of ``report`` as a grid of panels in ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gannet.files.pictures import save_figure

    n = max(len(report.findings), 1)
    cols = 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), dpi=80, squeeze=False)
    for ax, finding in zip(axes.flat, report.findings, strict=False):
        panel(ax, finding)
    for ax in list(axes.flat)[len(report.findings) :]:
        ax.axis("off")
    fig.suptitle(f"{Path(report.run).name}: {report.verdict}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def pair(failing: Finding, healthy: Finding, path: Path) -> None:
    """One finding on a run made to fail that way (left) and on a healthy run (right): the
    pictures of docs/doctor.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gannet.files.pictures import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(8, 2.6), dpi=70)
    panel(axes[0], failing, "broken run, ")
    panel(axes[1], healthy, "healthy run, ")
    fig.tight_layout()
    save_figure(fig, path)


def html(report: Report, png: str) -> str:
    """RUN/doctor.html: the verdict, each finding's text, and the panels."""
    esc = html_lib.escape
    rows = []
    for f in report.findings:
        tries = "".join(f"<li><code>{esc(r)}</code></li>" for r in f.remedies)
        detail = f"<p>{esc(f.why)}</p><ul>{tries}</ul>" if f.severity != "ok" else ""
        began = f" (began at step {f.began})" if f.began is not None else ""
        rows.append(
            f"<tr><td style='color:{COLOURS[f.severity]}'><b>{f.severity}</b></td>"
            f"<td><b>{esc(f.title)}</b><br>{esc(f.summary)}{began}{detail}</td></tr>"
        )
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    return (
        "<!doctype html><meta charset='utf-8'><title>gannet doctor</title>"
        f"<h1>{esc(Path(report.run).name)}: {esc(report.verdict)}</h1>"
        f"<p>step {report.step}, {esc(report.status)}</p><ul>{notes}</ul>"
        f"<table cellpadding='6'>{''.join(rows)}</table><img src='{esc(png)}' width='100%'>\n"
    )
