"""Exact resume: a run SIGKILLed at any moment and resumed ends with the same weights, bit
for bit, as an uninterrupted run with the same seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

CONFIG = """
[data]
name = "mnist"
data_dir = {data_dir}
subset = 1000

[model]
g_hidden = [256, 256]
d_hidden = [64, 64]

[train]
schedule = "{schedule}"
batch_size = 50
epochs = 4
log_every = 3
checkpoint_every = 7
progress = "lines"
threads = 1
ema = {ema}
"""


def gannet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gannet.cli", *args]


def train(config: Path, out: Path) -> None:
    subprocess.run(
        gannet_cmd("train", str(config), "--out", str(out)), check=True, capture_output=True
    )


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    out = {f"G.{k}": v for k, v in state["generator"].items()}
    out.update({f"D.{k}": v for k, v in state["discriminator"].items()})
    out.update({f"G_ema.{k}": v for k, v in state.get("generator_ema", {}).items()})
    for name in ("opt_g", "opt_d"):
        for i, s in state[name]["state"].items():
            for k, v in s.items():
                if isinstance(v, torch.Tensor):
                    out[f"{name}.{i}.{k}"] = v
    return out


def kill_when(out: Path, proc: subprocess.Popen, ready) -> None:
    deadline = time.time() + 120
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize(
    ("schedule", "ema"),
    [("alternating", 0.0), pytest.param("simultaneous", 0.9, marks=pytest.mark.slow)],
)
def test_sigkill_and_resume_is_bit_exact(mnist_path, tmp_path, schedule, ema):
    config = tmp_path / "c.toml"
    config.write_text(
        CONFIG.format(data_dir=json.dumps(str(mnist_path)), schedule=schedule, ema=ema)
    )
    reference = tmp_path / "reference"
    train(config, reference)

    # Kill 1: after some checkpoints, mid-interval (metrics past the checkpoint exist).
    run = tmp_path / "run"
    proc = subprocess.Popen(
        gannet_cmd("train", str(config), "--out", str(run)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until step 45 is logged (last checkpoint: step 42)
        if " step      45 " in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    resumed = subprocess.run(
        gannet_cmd("train", "--resume", str(run)), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr

    a, b = weights(reference), weights(run)
    assert a.keys() == b.keys()
    assert any(k.startswith("G_ema.") for k in a) == (ema > 0)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # The metrics log has each step once, as the reference does.
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    ref_steps = [
        json.loads(x)["step"] for x in (reference / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == ref_steps


@pytest.mark.slow  # about 40 s: CI runs the alternating SIGKILL case above
def test_kill_before_first_checkpoint_then_resume(mnist_path, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        CONFIG.format(data_dir=json.dumps(str(mnist_path)), schedule="alternating", ema=0.0)
    )
    reference = tmp_path / "reference"
    train(config, reference)
    run = tmp_path / "run"
    proc = subprocess.Popen(
        gannet_cmd("train", str(config), "--out", str(run)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(run, proc, lambda: (run / "run.json").is_file())
    assert not (run / "checkpoint.pt").exists()
    subprocess.run(gannet_cmd("train", "--resume", str(run)), check=True, capture_output=True)
    a, b = weights(reference), weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)


def interrupt(cmd: list[str], run: Path, step: int, sig: signal.Signals) -> int:
    """Run ``cmd`` (a training of ``run`` that would go on for a long time), send ``sig``
    once ``step`` is logged, check that it checkpoints, says how to resume and exits 0 with
    no traceback; returns the step checkpointed."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if f" step {step:7d} " in line:
            break
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Resume with: gannet train --resume" in out
    assert "Traceback" not in err
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    saved: int = torch.load(run / "checkpoint.pt", weights_only=True)["step"]
    return saved


@pytest.mark.slow
def test_sigint_and_sigterm_checkpoint_stop_cleanly_and_resume_exactly(mnist_path, tmp_path):
    """SIGINT (Ctrl-C), then SIGTERM after resuming: each time the run finishes its
    iteration, checkpoints, says how to resume and exits 0; resumed to the end, it has the
    weights of the uninterrupted run, bit for bit, and its metrics steps."""
    config = tmp_path / "c.toml"
    config.write_text(
        CONFIG.format(
            data_dir=json.dumps(str(mnist_path)), schedule="alternating", ema=0.0
        ).replace("epochs = 4", "epochs = 1")  # 20 steps
    )
    reference = tmp_path / "reference"
    train(config, reference)

    # Far more epochs than the reference (train.epochs is a resumable override, so the weights
    # do not depend on it): each signal arrives mid-run.
    longer = ("--set", "train.epochs=1000")
    run = tmp_path / "run"
    start = gannet_cmd("train", str(config), "--out", str(run), *longer)
    first = interrupt(start, run, 6, signal.SIGINT)
    assert 6 <= first < 12
    resume = gannet_cmd("train", "--resume", str(run), *longer)
    second = interrupt(resume, run, 12, signal.SIGTERM)
    assert 12 <= second < 20

    resumed = subprocess.run(
        gannet_cmd("train", "--resume", str(run), "--set", "train.epochs=1"),
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    a, b = weights(reference), weights(run)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    ref_steps = [
        json.loads(x)["step"] for x in (reference / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == ref_steps
