"""The step-time model of data-parallel training that ``benchmarks/scaling.py`` fills in.

Pure arithmetic (no torch), so that ``tests/test_scaling_model.py`` can check it.

One iteration of Algorithm 1 on N devices with the global batch fixed (strong scaling)::

    t(N) = compute / N + overhead + sum over all-reduces of ring(bytes, N)
    ring(bytes, N) = 2 (N - 1) * latency + 2 (N - 1) / N * bytes / bandwidth

* ``compute``: the seconds one device needs for the whole global batch's passes;
* ``overhead``: seconds per iteration that do not shrink with N (kernel launches, Python);
* the all-reduces of one iteration: gannet makes one of D's flattened gradients per D update
  (k per iteration), one of G's per G update, one 8-byte stop flag per iteration (``fit``),
  and two tiny ones per logging interval (the interval's sums and its image count);
* ``ring``: the bandwidth-optimal ring all-reduce (reduce-scatter then all-gather: each
  device sends and receives 2 (N - 1) / N of the message, in 2 (N - 1) hops). Across hosts
  the ring runs at its slowest link's bandwidth and latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Link:
    """An interconnect: bandwidth in bytes/s each way, latency in seconds per ring hop."""

    name: str
    bandwidth: float
    latency: float

    def __post_init__(self) -> None:
        if not self.bandwidth > 0:
            raise ValueError(f"link {self.name!r}: bandwidth must be > 0, got {self.bandwidth}")
        if not self.latency >= 0:
            raise ValueError(f"link {self.name!r}: latency must be >= 0, got {self.latency}")


@dataclass(frozen=True)
class Message:
    """An all-reduce of ``nbytes`` bytes made ``per_iteration`` times per iteration (a
    fraction for one made once per logging interval)."""

    name: str
    nbytes: int
    per_iteration: float


@dataclass(frozen=True)
class Cluster:
    """Hosts of ``gpus_per_host`` devices joined by ``intra`` inside a host and ``inter``
    between hosts."""

    name: str
    intra: Link
    inter: Link
    gpus_per_host: int = 8

    def link(self, n: int) -> Link:
        """The link a ring of ``n`` devices runs at: ``intra`` while it fits in one host,
        else the slower of the two (bandwidth and latency each)."""
        if n <= self.gpus_per_host:
            return self.intra
        return Link(
            f"{self.intra.name}+{self.inter.name}",
            min(self.intra.bandwidth, self.inter.bandwidth),
            max(self.intra.latency, self.inter.latency),
        )


def ring_allreduce_seconds(nbytes: float, n: int, link: Link) -> float:
    """Seconds of one ring all-reduce of ``nbytes`` over ``n`` devices (0 for one device)."""
    if n < 1:
        raise ValueError(f"the number of devices must be >= 1, got {n}")
    if nbytes < 0:
        raise ValueError(f"the message size must be >= 0, got {nbytes}")
    if n == 1:
        return 0.0
    return 2 * (n - 1) * link.latency + 2 * (n - 1) / n * nbytes / link.bandwidth


def allreduce_seconds(messages: Sequence[Message], n: int, link: Link) -> float:
    """All-reduce seconds per iteration: every message at its rate."""
    return sum(m.per_iteration * ring_allreduce_seconds(m.nbytes, n, link) for m in messages)


def bytes_per_iteration(messages: Sequence[Message]) -> float:
    """Bytes each device all-reduces per iteration (the messages' sizes at their rates)."""
    return sum(m.per_iteration * m.nbytes for m in messages)


def gannet_messages(
    d_params: int, g_params: int, k: int = 1, log_every: int = 100
) -> list[Message]:
    """The all-reduces of one alternating iteration of gannet's data-parallel loop:
    D's float32 gradients k times, G's once, the stop flag (int64) once, and per logging
    interval the sums (8 float64) and the image count (int64)."""
    if d_params < 0 or g_params < 0 or k < 1 or log_every < 1:
        raise ValueError("parameter counts must be >= 0, k and log_every >= 1")
    return [
        Message("D gradients", FLOAT32_BYTES * d_params, float(k)),
        Message("G gradients", FLOAT32_BYTES * g_params, 1.0),
        Message("stop flag", 8, 1.0),
        Message("interval sums", 8 * 8, 1.0 / log_every),
        Message("interval images", 8, 1.0 / log_every),
    ]


def step_seconds(
    compute: float, overhead: float, messages: Sequence[Message], n: int, link: Link
) -> float:
    """Modelled seconds per iteration on ``n`` devices: compute / n + overhead + all-reduces."""
    if compute < 0 or overhead < 0:
        raise ValueError("compute and overhead must be >= 0 seconds")
    if n < 1:
        raise ValueError(f"the number of devices must be >= 1, got {n}")
    return compute / n + overhead + allreduce_seconds(messages, n, link)


def scaling_rows(
    compute: float,
    overhead: float,
    messages: Sequence[Message],
    cluster: Cluster,
    ns: Sequence[int],
    images_per_iteration: int,
) -> list[dict[str, Any]]:
    """One row per device count: step time, its all-reduce share, images/s, speedup over
    one device and parallel efficiency (speedup / n), with the global batch fixed (strong
    scaling, what ``train.batch_size`` means in gannet); and, in the ``weak_*`` fields, the
    same with the global batch grown to n times (each device keeping one device's batch:
    compute is not divided, n times the images per iteration)."""
    t1 = step_seconds(compute, overhead, messages, 1, cluster.link(1))
    rows = []
    for n in ns:
        link = cluster.link(n)
        t = step_seconds(compute, overhead, messages, n, link)
        comm = allreduce_seconds(messages, n, link)
        weak = compute + overhead + comm
        rows.append(
            {
                "n": n,
                "link": link.name,
                "step_ms": 1e3 * t,
                "compute_ms": 1e3 * compute / n,
                "allreduce_ms": 1e3 * comm,
                "images_per_s": images_per_iteration / t,
                "speedup": t1 / t,
                "efficiency": t1 / t / n,
                "weak_step_ms": 1e3 * weak,
                "weak_images_per_s": n * images_per_iteration / weak,
                "weak_efficiency": t1 / weak,
            }
        )
    return rows
