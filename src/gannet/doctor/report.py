"""The doctor's typed report: one :class:`Finding` per detector, and the run's verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gannet.files.jsonfloat import json_float

Severity = Literal["ok", "warning", "failing"]
"""ok: nothing wrong found; warning: a sign to watch; failing: the run is failing that way."""

RANK: dict[str, int] = {"ok": 0, "warning": 1, "failing": 2}
"""Severities in order (a finding's severity never goes down by combining evidence)."""


@dataclass
class Finding:
    """One detector's judgement of a run (or of a run so far, live)."""

    name: str
    """The finding's short name: d-wins, mode-collapse, oscillation, divergence,
    d-overfits, memorisation, progress."""
    title: str
    """A human title ("D wins, G's gradient vanishes")."""
    severity: Severity = "ok"
    summary: str = ""
    """One line: what was seen (or why it could not be judged)."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """The numbers behind the judgement (JSON-ready)."""
    began: int | None = None
    """The generator step where the problem began (None: none, or not known)."""
    why: str = ""
    """Why it happens (one or two sentences, tied to the paper and its follow-ups)."""
    remedies: list[str] = field(default_factory=list)
    """What to try, as gannet overrides (``--set key=value``) or config changes."""
    judged: bool = True
    """False when the evidence the detector needs is missing (the summary says which)."""
    series: dict[str, list[float]] = field(default_factory=dict)
    """Curves to draw beside the finding: name -> values; ``steps`` holds their x."""

    def advice(self) -> str:
        """The one warning line of the live hook: what was seen and what to try."""
        tries = "; ".join(self.remedies[:3])
        return f"gannet: warning: {self.title}: {self.summary}" + (
            f"; try {tries}" if tries else ""
        )


@dataclass
class Report:
    """``gannet.doctor(run)``: every finding, what could not be judged, and the verdict."""

    run: str
    step: int
    """The last logged generator step."""
    status: str
    """run.json's status (running, finished, diverged, ...)."""
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the doctor could not read or judge (damaged lines, a run still training, ...)."""

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "failing"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def verdict(self) -> str:
        """One line: ``healthy``, ``warning: ...`` or ``failing: ...`` with the names."""
        if self.failing:
            return "failing: " + ", ".join(f.name for f in self.failing)
        if self.warnings:
            return "warning: " + ", ".join(f.name for f in self.warnings)
        if not any(f.judged for f in self.findings):
            return "not judged: " + (self.notes[0] if self.notes else "no evidence")
        return "healthy"

    def finding(self, name: str) -> Finding:
        """The finding called ``name`` (KeyError when there is none)."""
        for f in self.findings:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (RUN/eval/doctor.json), curves left out."""
        findings = []
        for f in self.findings:
            d = asdict(f)
            d.pop("series")
            d["evidence"] = strict_json(d["evidence"])
            findings.append(d)
        return {
            "run": self.run,
            "step": self.step,
            "status": self.status,
            "verdict": self.verdict,
            "findings": findings,
            "notes": self.notes,
        }

    def text(self) -> str:
        """The terminal report."""
        mark = {"ok": "ok     ", "warning": "WARNING", "failing": "FAILING"}
        lines = [f"run      {self.run} (step {self.step}, {self.status})"]
        lines.append(f"verdict  {self.verdict}")
        for f in self.findings:
            judged = "" if f.judged or "not judged" in f.summary else " (not judged)"
            lines.append(f"  {mark[f.severity]} {f.name:14s} {f.summary}{judged}")
            if f.severity != "ok":
                if f.began is not None:
                    lines.append(f"            began at step {f.began}")
                lines.append(f"            why: {f.why}")
                for r in f.remedies:
                    lines.append(f"            try: {r}")
        for note in self.notes:
            lines.append(f"note     {note}")
        return "\n".join(lines)


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float as None (JSON null:
    :mod:`gannet.files.jsonfloat`)."""
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value
