"""``gannet info``: status, config, last metrics and evaluations of a run.

A damaged line of ``metrics.jsonl`` or a damaged ``eval/*.json`` does not stop it: each is
reported on stderr (file and line) and skipped, and the rest of the run is described.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gannet.errors import GannetError

MAX_REPORTED = 5
"""Bad lines of one file reported one by one; past this, only their count."""

LAST_METRICS = {
    "d_loss": ".4f", "g_loss": ".4f", "value": ".4f", "d_real": ".3f", "d_fake": ".3f",
    "images_per_s": ".0f",
}  # fmt: skip
"""The metrics shown from the last line of metrics.jsonl, with their formats."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info", help="describe a run", description="Status, config and last metrics of a run."
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=_info)


def warn(message: str) -> None:
    print(f"gannet: warning: {message}", file=sys.stderr)


def _parse(text: str) -> tuple[dict[str, Any] | None, str]:
    """A JSON object from ``text``, or None and what is wrong with it."""
    try:
        value = json.loads(text)
    except ValueError as e:
        return None, f"is not valid JSON ({getattr(e, 'msg', e)})"
    except RecursionError:
        return None, "is not valid JSON (nested too deeply)"
    if not isinstance(value, dict):
        return None, f"holds a JSON {type(value).__name__}, not an object"
    return value, ""


def read_metrics_reporting(path: Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl``; every line that is not a JSON object is reported
    (first :data:`MAX_REPORTED` by number, then a count) and skipped."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        warn(f"cannot read {str(path)!r} ({e.strerror or e}); no metrics shown")
        return []
    records, bad = [], 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record, problem = _parse(line)
        if record is not None:
            records.append(record)
            continue
        bad += 1
        if bad <= MAX_REPORTED:
            warn(f"{str(path)!r} line {number} {problem}; skipped")
    if bad > MAX_REPORTED:
        warn(f"{str(path)!r}: {bad - MAX_REPORTED} more bad lines skipped")
    return records


def read_evals_reporting(folder: Path) -> dict[str, dict[str, Any]]:
    """``eval/*.json`` by name; a file that cannot be read or parsed is reported, skipped."""
    evals = {}
    for p in sorted(folder.glob("*.json")):
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            warn(f"cannot read {str(p)!r} ({e.strerror or e}); skipped")
            continue
        result, problem = _parse(text)
        if result is None:
            warn(f"{str(p)!r} {problem}; skipped")
        else:
            evals[p.stem] = result
    return evals


def _num(value: Any, spec: str) -> str:
    """A number formatted by ``spec``; JSON null (a non-finite value) as nan; anything else
    (missing: pass '') as n/a."""
    if value is None:
        return "nan"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, spec)
    return "n/a"


def verdict_line(run_dir: Path, evals: dict[str, dict[str, Any]]) -> str:
    """The doctor's verdict: RUN/eval/doctor.json's when it is of the last logged step,
    else the record-based findings' (``gannet doctor RUN`` adds the sample-based ones)."""
    from gannet.doctor import doctor

    quick = doctor(run_dir, samples=False)
    saved = evals.get("doctor", {})
    if saved.get("step") == quick.step and isinstance(saved.get("verdict"), str):
        return f"{saved['verdict']} (gannet doctor, step {quick.step})"
    return f"{quick.verdict} (from metrics.jsonl; gannet doctor RUN for the full check)"


def _info(args: argparse.Namespace) -> int:
    from gannet.config import Config
    from gannet.files.rundir import CONFIG, METRICS, read_status, require_run_dir

    run_dir = require_run_dir(args.run)
    status = read_status(run_dir)
    if not isinstance(status, dict):
        raise GannetError(f"{str(run_dir / 'run.json')!r} does not hold a JSON object")
    config = Config.load(run_dir / CONFIG)
    metrics = read_metrics_reporting(run_dir / METRICS)
    last: dict[str, Any] = next((m for m in reversed(metrics) if "event" not in m), {})
    evals = read_evals_reporting(run_dir / "eval")
    if args.json:
        print(
            json.dumps(
                {"status": status, "config": config.to_dict(), "last_metrics": last, "eval": evals},
                indent=2,
            )
        )
        return 0
    c = config
    print(f"run          {run_dir}")
    print(f"status       {status.get('status')} (updated {status.get('updated')})")
    print(
        f"progress     epoch {status.get('epoch')}, step {status.get('step')}, "
        f"{_num(status.get('elapsed_seconds', 0), '.0f')} s of training on {status.get('device')}"
    )
    shape = (
        f", {c.data.resize} to {c.data.image_size}x{c.data.image_size}"
        if c.data.name == "folder"
        else ""
    )
    print(
        f"data         {c.data.name} ({status.get('train_examples')} examples from "
        f"{status.get('data_source')}{shape})"
    )
    print(
        f"models       G {c.model.generator}, D {c.model.discriminator}, z {c.model.z_dim} "
        f"{c.model.noise}"
        + (f", conditional (D by {c.model.d_conditioning})" if c.model.conditional else "")
    )
    print(
        f"training     {c.train.schedule}, k={c.train.k}, batch {c.train.batch_size}"
        + (f" in micro-batches of {c.train.batch_gpu}" if c.train.batch_gpu else "")
        + f", loss {c.loss.name}, {c.optim.name} lr {c.optim.lr}, seed {c.train.seed}"
    )
    init = status.get("init_from")
    if isinstance(init, dict):
        print(
            f"fine-tuned   from {init.get('source')} (step {init.get('step')}), "
            f"D's first {init.get('freeze_d', 0)} blocks frozen"
        )
    if last:
        m = {k: _num(last.get(k, ""), spec) for k, spec in LAST_METRICS.items()}
        print(
            f"last metrics D {m['d_loss']}  G {m['g_loss']}  V {m['value']}  D(x) {m['d_real']}"
            f"  D(G(z)) {m['d_fake']}  {m['images_per_s']} img/s"
        )
    print(f"doctor       {verdict_line(run_dir, evals)}")
    for name, result in evals.items():
        summary = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float))
        print(f"eval {name:12s} {summary}")
    return 0
