"""How many samples fit in memory: a command asked for more (``gannet sample --n``,
``gannet eval ... --samples``) refuses at once with one line, instead of sampling for
minutes and ending in an allocator error or never ending."""

from __future__ import annotations

import os

from gannet.errors import GannetError

COPIES = 4
"""float32 copies of each sample value held while a command draws and uses its samples:
the batches, their concatenation, and the PNG grid, archive buffer or metric's working copy."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def check_samples_fit(n: int, values_per_sample: int, option: str) -> None:
    """Raise GannetError when ``n`` samples of ``values_per_sample`` floats would not fit in
    the memory available now; ``option`` (e.g. '--n') names the argument in the message."""
    each = max(values_per_sample, 1) * 4 * COPIES
    free = available_memory()
    if free is not None and n * each > free:
        raise GannetError(
            f"{option} {n} needs about {n * each / 2**30:.1f} GiB for its samples, but only "
            f"{free / 2**30:.1f} GiB of memory is available; use {option} {max(free // each, 1)} "
            "or fewer"
        )
