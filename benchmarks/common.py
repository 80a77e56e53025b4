"""What every benchmark shares: the machine it ran on, and how it writes its results.

Each benchmark (run from the repository root as ``python benchmarks/NAME.py``; this folder is
then on ``sys.path``) does::

    from common import print_machine, write_results

    print_machine()        # after torch.set_num_threads: "machine: <CPU>, ... N threads"
    ...
    write_results(args.out, {"results": ...}, script=__file__, argv=argv)

:func:`write_results` writes the JSON atomically (a reader, or a benchmark killed mid-write,
sees the old file or the new one, never half of one) and puts in front of the benchmark's own
keys:

* ``benchmark``: the script's name (``mnist_losses``);
* ``created``: when the file was written, UTC, ISO 8601 to the second;
* ``command``: the command line (``python benchmarks/mnist_losses.py --quick``);
* ``machine``: :func:`machine_info`, the CPU (model name from ``lscpu``; AVX-512,
  AVX-512-BF16 and AMX from the flags in ``/proc/cpuinfo``), torch's threads and CPU
  capability, and the versions of Python, torch, numpy and gannet.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
METADATA_KEYS = ("benchmark", "created", "command", "machine")
"""The keys :func:`write_results` adds; a benchmark's own results must not use them."""

CPU_FEATURES = {"avx512": "avx512f", "avx512_bf16": "avx512_bf16", "amx": "amx_tile"}
"""Feature name in :func:`machine_info` -> the /proc/cpuinfo flag that shows it."""
FEATURE_LABELS = {"avx512": "AVX-512", "avx512_bf16": "AVX-512-BF16", "amx": "AMX"}


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second (``2026-11-29T16:25:17+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _lscpu_model_name() -> str | None:
    try:
        out = subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"}
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name" and value.strip():
            return value.strip()
    return None


def _cpuinfo(path: Path = Path("/proc/cpuinfo")) -> tuple[str | None, set[str] | None]:
    """The first ``model name`` and ``flags`` of /proc/cpuinfo (None where unreadable)."""
    try:
        text = path.read_text()
    except OSError:
        return None, None
    model: str | None = None
    flags: set[str] | None = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = set(value.split())
    return model, flags


def cpu_features(flags: set[str] | None) -> dict[str, bool | None]:
    """``{"avx512", "avx512_bf16", "amx"}`` -> present, from /proc/cpuinfo's flags (None
    for each when the flags are unknown, e.g. not Linux)."""
    return {name: (None if flags is None else flag in flags) for name, flag in CPU_FEATURES.items()}


@functools.cache
def _cpu() -> tuple[str, dict[str, bool | None]]:
    model, flags = _cpuinfo()
    name = _lscpu_model_name() or model or platform.processor() or platform.machine()
    return name, cpu_features(flags)


def machine_info() -> dict[str, Any]:
    """The machine and software a benchmark runs on (torch's threads as set right now)."""
    import numpy

    from gannet.version import __version__

    cpu, features = _cpu()
    try:
        capability: str | None = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch without it
        capability = None
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        **features,
        "torch_threads": torch.get_num_threads(),
        "torch_cpu_capability": capability,
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy": numpy.__version__,
        "gannet": __version__,
        "platform": platform.platform(),
    }


def describe_machine(info: Mapping[str, Any]) -> str:
    """One line: ``machine: AMD EPYC, 2 CPUs; AVX-512 no, AVX-512-BF16 no, AMX no; torch
    2.5.1, 2 threads, CPU capability AVX2``."""

    def yes_no(v: bool | None) -> str:
        return "unknown" if v is None else ("yes" if v else "no")

    features = ", ".join(f"{label} {yes_no(info.get(k))}" for k, label in FEATURE_LABELS.items())
    threads = info["torch_threads"]
    torch_part = f"torch {info['torch']}, {threads} thread{'' if threads == 1 else 's'}"
    if info.get("torch_cpu_capability"):
        torch_part += f", CPU capability {info['torch_cpu_capability']}"
    return f"machine: {info['cpu']}, {info['cpu_count']} CPUs; {features}; {torch_part}"


def print_machine() -> dict[str, Any]:
    """Print :func:`describe_machine` of :func:`machine_info` (call it after setting torch's
    threads) and return the info."""
    info = machine_info()
    print(describe_machine(info), flush=True)
    return info


def command_line(script: str | Path, argv: Sequence[str] | None = None) -> str:
    """``python benchmarks/NAME.py ARGS...`` (``argv`` default: this process's arguments)."""
    path = Path(script).resolve()
    try:
        shown = str(path.relative_to(REPO))
    except ValueError:
        shown = str(path)
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["python", shown, *args])


def write_results(
    path: str | Path,
    results: Mapping[str, Any],
    *,
    script: str | Path,
    argv: Sequence[str] | None = None,
    indent: int | None = 2,
) -> Path:
    """Write ``results`` as JSON to ``path``, atomically, after the keys ``benchmark``,
    ``created``, ``command`` and ``machine`` (see the module docstring). ``script`` is the
    benchmark's ``__file__``; ``argv`` its arguments (default: this process's). Returns the
    path."""
    from gannet.files.atomic import atomic_write_bytes

    clash = [k for k in METADATA_KEYS if k in results]
    if clash:
        raise ValueError(f"results use keys that write_results adds: {', '.join(clash)}")
    payload = {
        "benchmark": Path(script).stem,
        "created": utc_now(),
        "command": command_line(script, argv),
        "machine": machine_info(),
        **results,
    }
    out = Path(path)
    atomic_write_bytes(out, (json.dumps(payload, indent=indent) + "\n").encode())
    return out
