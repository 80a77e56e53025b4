"""``gannet train ... --nproc N``: N local training processes through PyTorch's elastic
launcher (``torch.distributed.run``, the module behind ``torchrun``), not a spawner of our own.

The launcher checks what it can before starting anything (the config's values, the global
batch's divisibility by N), so bad input is one line and no process starts. When a process
dies (an error, or a kill), the launcher stops the others within seconds and this module
turns torch's report into one line that says which process failed and how to continue.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from gannet.errors import GannetError

RESUME_HINT = "gannet train --resume {run} --nproc {n}"
WORKER_BAD_INPUT = 2
"""A worker's exit code for bad input (rank 0 prints the line; the other ranks, which meet
the same input, stay silent)."""
WORKER_LOST_PEER = 3
"""A worker's exit code when a collective failed because another process died."""


def in_distributed_worker() -> bool:
    """True inside a process a distributed launcher started (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def is_main_process() -> bool:
    """True outside a distributed run, and on its rank 0."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def launch(nproc: int, argv: Sequence[str], run_dir: str) -> int:
    """Run ``gannet <argv>`` in ``nproc`` local processes (``--standalone`` rendezvous on
    this host); returns the exit code. When rank 0 stopped on bad input it has printed its
    one line and the code is 2; any other failure raises GannetError naming the first
    process that failed."""
    import torch.distributed.run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    if nproc < 1:
        raise GannetError(f"--nproc must be at least 1, got {nproc}")
    threads = max(1, (os.cpu_count() or 1) // nproc)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # one share of the cores each
    os.environ.setdefault("LOGLEVEL", "ERROR")  # the elastic agent's own INFO lines
    launcher = ["--standalone", f"--nproc-per-node={nproc}", "--monitor-interval=0.5"]
    args = torchrun.get_args_parser().parse_args([*launcher, "--module", "gannet", *argv])
    try:
        torchrun.run(args)
    except ChildFailedError as e:
        main = e.failures.get(0)
        if main is not None and main.exitcode == WORKER_BAD_INPUT:
            return WORKER_BAD_INPUT  # rank 0 said what was wrong, in one line
        rank, failure = e.get_first_failure()
        code = failure.exitcode
        if code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        hint = RESUME_HINT.format(run=run_dir, n=nproc)
        raise GannetError(
            f"training process {rank} of {nproc} {how}; the others were stopped. The last "
            f"checkpoint is intact: continue with {hint}"
        ) from None
    return 0
