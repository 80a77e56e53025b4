"""Training throughput of the paper's MNIST model: gannet vs. a plain PyTorch script.

Run from the repository root::

    python benchmarks/throughput.py                        # defaults: 40 iterations x 7 repeats
    python benchmarks/throughput.py --iters 50 --repeats 9 --threads 2 --out /tmp/tp.json
    python benchmarks/throughput.py --set train.threads=1      # extra gannet config overrides

What is timed (all in one process, interleaved block by block, in a rotated order each
repeat, so that other jobs on the machine slow every contender alike; each ms/it is the best
block of ``--repeats``, and each ``vs plain`` ratio is also reported repeat by repeat: the
median, min and max of the per-repeat ratios, the spread to quote on a loaded machine):

* ``gannet fp32`` / ``gannet bf16``: ``Trainer.step()`` (Algorithm 1 with k = 1, batch
  m = 100, and its bookkeeping) of a ``gannet.training.Trainer`` built from ``gannet.Config()``
  defaults (the paper's MNIST model, paper-sgd, non-saturating loss) with
  ``train.precision`` fp32 or bf16, on data held in memory. Logging, checkpoints and sample
  grids (``fit()``'s work between iterations) are not included; ``--fit-steps N`` also times
  ``fit()`` over N steps with all of that.
* ``plain fp32``: the same model and Algorithm 1 written the way a tutorial writes it:
  ``DataLoader(TensorDataset(x), batch_size=100, shuffle=True, drop_last=True)``,
  ``nn.Sequential`` models, D ending in a sigmoid with ``nn.BCELoss``, separate D passes on
  real and ``fake.detach()``, the G step backpropagating through D with D's parameters
  still requiring grad, ``torch.optim.SGD(lr=0.1, momentum=0.5)``, fresh noise for G's step.
* ``matmul peak``: the best GFLOP/s of ``torch.mm`` on 2048 x 2048 fp32 matrices. For bf16
  both ``torch.mm`` and ``F.linear`` (the kernel ``nn.Linear`` runs) on 1024 x 1024.

Numbers printed and written as JSON to ``--out`` (default
``benchmarks/results/throughput.json``):

* ``img/s``: real training images consumed per second (m * k = 100 per iteration).
* ``vs plain``: images/s divided by the plain script's images/s.
* ``GFLOP/s``: matmul FLOPs of one Algorithm-1 iteration as gannet executes it (see
  ``iteration_flops``; 3.57 GFLOP for the paper's model) times iterations per second. The
  plain script's figure uses the same count (it does a little more work: D weight gradients
  in G's step), so it is the useful rate, comparable across rows.
* ``% fp32 peak``: GFLOP/s as a fraction of the measured fp32 ``torch.mm`` peak.

Data: real MNIST (the first 50,000 training images) when ``--data-dir`` or ``$GANNET_DATA``
points to it, else uniform random pixels of the same shape; the content does not change the
speed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from common import print_machine, write_results
from gannet.config import Config, DataConfig
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.training import Trainer, start_run

HERE = Path(__file__).resolve().parent
N_TRAIN, SHAPE = 50_000, (1, 28, 28)


# ---------------------------------------------------------------------------- FLOPs


def iteration_flops(config: Config, sample_dim: int) -> dict[str, int]:
    """Matmul FLOPs (2 per multiply-add) of one alternating iteration as gannet runs it.

    A linear layer with r rows, i inputs and o outputs costs 2*r*i*o forward, and as much
    again in backward for each of the input gradient and the weight gradient it needs.

    D step (k times): G forward on m noise rows (no_grad); D forward on the 2m rows
    cat([x, G(z)]); D backward: weight gradients of every D layer, input gradients of every
    layer but the first (nothing upstream needs them).
    G step: G forward on m fresh rows; D forward on them; D backward: input gradients of
    every D layer (down to G's output), no D weight gradients (D is frozen); G backward:
    weight gradients of every G layer, input gradients of every layer but the first.
    Biases, activations, maxout, dropout and the optimizer are elementwise and not counted
    (under 1% of the total).
    """
    mc, tc = config.model, config.train
    m, k = tc.batch_size, tc.k
    g = [mc.z_dim, *mc.g_hidden, sample_dim]
    g_layers = list(itertools.pairwise(g))
    d_in = [sample_dim, *mc.d_hidden]
    d_layers = [(i, o * mc.d_pieces) for i, o in itertools.pairwise(d_in)]
    d_layers.append((mc.d_hidden[-1] if mc.d_hidden else sample_dim, 1))

    def fwd(rows: int, layers: list[tuple[int, int]]) -> int:
        return sum(2 * rows * i * o for i, o in layers)

    d_step = fwd(m, g_layers) + fwd(2 * m, d_layers)  # forwards
    d_step += fwd(2 * m, d_layers) + fwd(2 * m, d_layers[1:])  # dW all, dX all but first
    g_step = fwd(m, g_layers) + fwd(m, d_layers)  # forwards
    g_step += fwd(m, d_layers)  # D: dX of every layer, no dW
    g_step += fwd(m, g_layers) + fwd(m, g_layers[1:])  # G: dW all, dX all but first
    return {"d_step": k * d_step, "g_step": g_step, "iteration": k * d_step + g_step}


# ---------------------------------------------------------------------------- matmul peak


def _best_seconds(fn: Callable[[], Any], min_time: float = 0.25, repeats: int = 5) -> float:
    fn()  # warm up (and size the loop)
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    reps = max(1, math.ceil(min_time / once))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def matmul_gflops(dtype: torch.dtype, n: int, op: str = "mm", repeats: int = 5) -> float:
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    fn = (lambda: torch.mm(a, b)) if op == "mm" else (lambda: F.linear(a, b))
    return 2 * n**3 / _best_seconds(fn, repeats=repeats) / 1e9


# ---------------------------------------------------------------------------- gannet


class GannetLoop:
    """Runs ``Trainer.step()`` n times: one Algorithm 1 iteration with its bookkeeping
    (epoch order, EMA, schedules, the logging interval's sums), no hooks, so no files."""

    def __init__(self, config: Config, dataset: Dataset) -> None:
        start = time.perf_counter()
        self.trainer = Trainer(config, dataset)
        self.images_per_iteration = config.train.batch_size * config.train.k
        self.setup_seconds = time.perf_counter() - start

    def run(self, n: int) -> None:
        for _ in range(n):
            self.trainer.step()


# ---------------------------------------------------------------------------- plain


class Maxout(nn.Module):
    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).max(dim=2).values


class PlainLoop:
    """The paper's model and Algorithm 1 (k = 1) as a plain PyTorch tutorial-style script."""

    def __init__(self, x: torch.Tensor, batch_size: int = 100) -> None:
        self.G = nn.Sequential(
            nn.Linear(100, 1200),
            nn.ReLU(),
            nn.Linear(1200, 1200),
            nn.ReLU(),
            nn.Linear(1200, 784),
            nn.Sigmoid(),
        )
        self.D = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            Maxout(784, 240, 5),
            nn.Dropout(0.5),
            Maxout(240, 240, 5),
            nn.Dropout(0.5),
            nn.Linear(240, 1),
            nn.Sigmoid(),
        )
        for net, irange in ((self.G, 0.05), (self.D, 0.005)):  # the paper's init
            for p in net.parameters():
                nn.init.uniform_(p, -irange, irange)
        self.opt_g = torch.optim.SGD(self.G.parameters(), lr=0.1, momentum=0.5)
        self.opt_d = torch.optim.SGD(self.D.parameters(), lr=0.1, momentum=0.5)
        self.criterion = nn.BCELoss()
        self.loader = DataLoader(
            TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True
        )
        self.batches = iter(self.loader)
        self.images_per_iteration = batch_size

    def noise(self, n: int) -> torch.Tensor:
        return (torch.rand(n, 100) * 2 - 1) * math.sqrt(3)

    def run(self, n: int) -> None:
        for _ in range(n):
            try:
                (real,) = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                (real,) = next(self.batches)
            b = real.size(0)
            ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)

            # D step: ascend log D(x) + log(1 - D(G(z)))
            fake = self.G(self.noise(b))
            self.opt_d.zero_grad()
            loss_d = self.criterion(self.D(real), ones) + self.criterion(
                self.D(fake.detach()), zeros
            )
            loss_d.backward()
            self.opt_d.step()

            # G step on fresh noise: ascend log D(G(z))
            self.opt_g.zero_grad()
            loss_g = self.criterion(self.D(self.G(self.noise(b))), ones)
            loss_g.backward()
            self.opt_g.step()


# ---------------------------------------------------------------------------- main


def repeat_ratios(times: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Each gannet contender's speed relative to the plain script, repeat by repeat (the
    two timed in the same interleaved round, so under the same load): the median, min and
    max of plain seconds / gannet seconds per iteration (both consume 100 images)."""
    plain = times["plain fp32"]
    out: dict[str, dict[str, Any]] = {}
    for name, ts in times.items():
        if name == "plain fp32":
            continue
        each = sorted(p / t for p, t in zip(plain, ts, strict=True))
        mid = len(each) // 2
        median = each[mid] if len(each) % 2 else (each[mid - 1] + each[mid]) / 2
        out[name] = {"median": median, "min": each[0], "max": each[-1], "all": each}
    return out


def load_data(data_dir: str) -> tuple[Dataset, str]:
    """Real MNIST when --data-dir or $GANNET_DATA has it, else random pixels."""
    if data_dir or os.environ.get("GANNET_DATA"):
        try:
            data = load_dataset(DataConfig(name="mnist", data_dir=data_dir, download=False))
            return data, f"mnist ({data.source})"
        except GannetError as e:
            print(f"throughput: MNIST not loaded ({e}); using random data", file=sys.stderr)
    x = torch.rand(N_TRAIN, *SHAPE, generator=torch.Generator().manual_seed(0))
    return Dataset(name="random", train=x, source="synthetic"), "random pixels"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=40, help="iterations per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per contender")
    parser.add_argument(
        "--bf16-iters", type=int, default=0, help="iterations per bf16 block (0 = --iters)"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--data-dir", default="", help="folder with the MNIST idx files")
    parser.add_argument("--no-bf16", action="store_true", help="skip gannet bf16")
    parser.add_argument(
        "--precisions",
        default="fp32,bf16",
        help="gannet contenders by train.precision (comma-separated: fp32, bf16, fp16)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra gannet config override for both gannet runs (repeatable)",
    )
    parser.add_argument(
        "--fit-steps", type=int, default=0, help="also time gannet fit() over N steps (fp32)"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "throughput.json"))
    args = parser.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print_machine()
    data, data_desc = load_data(args.data_dir)
    x = data.train.contiguous()
    sample_dim = math.prod(data.sample_shape)
    tmp = Path(tempfile.mkdtemp(prefix="gannet-throughput-"))

    print(f"data: {data_desc}", flush=True)
    peaks = {
        "fp32_mm_2048": matmul_gflops(torch.float32, 2048),
        "bf16_mm_1024": matmul_gflops(torch.bfloat16, 1024, repeats=2),
        "bf16_linear_1024": matmul_gflops(torch.bfloat16, 1024, "linear", repeats=2),
    }
    peak = peaks["fp32_mm_2048"]
    print("matmul GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()), flush=True)

    overrides = ['train.progress="none"', "train.threads=0", *args.set]
    base = Config().with_overrides(overrides)
    flops = iteration_flops(base, sample_dim)
    contenders: dict[str, Any] = {}
    for precision in args.precisions.split(","):
        if precision == "bf16" and args.no_bf16:
            continue
        contenders[f"gannet {precision}"] = GannetLoop(
            base.with_overrides([f'train.precision="{precision}"']), data
        )
    torch.manual_seed(0)
    contenders["plain fp32"] = PlainLoop(x)

    # Warm up (first-call allocations, oneDNN/MKL initialisation).
    first: dict[str, float] = {}
    for name, loop in contenders.items():
        start = time.perf_counter()
        loop.run(3)
        first[name] = time.perf_counter() - start
        loop.run(5)

    iters = {name: args.iters for name in contenders}
    if "gannet bf16" in iters:
        iters["gannet bf16"] = args.bf16_iters or args.iters
    best = {name: math.inf for name in contenders}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(args.repeats):
        # Interleaved, and in a rotated order each repeat, so that neither a contender's
        # place in the block nor a burst of other jobs favours one of them.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            contenders[name].run(iters[name])
            seconds = (time.perf_counter() - start) / iters[name]
            times[name].append(seconds)
            best[name] = min(best[name], seconds)
        print(
            f"repeat {r + 1}/{args.repeats}: "
            + ", ".join(f"{n} {times[n][-1] * 1e3:.1f} ms/it" for n in contenders),
            flush=True,
        )
    ratios = repeat_ratios(times)

    rows: dict[str, dict[str, float]] = {}
    plain_ips = contenders["plain fp32"].images_per_iteration / best["plain fp32"]
    for name, loop in contenders.items():
        ips = loop.images_per_iteration / best[name]
        gflops = flops["iteration"] / best[name] / 1e9
        rows[name] = {
            "ms_per_iteration": best[name] * 1e3,
            "images_per_s": ips,
            "vs_plain": ips / plain_ips,
            "gflops": gflops,
            "fraction_of_fp32_peak": gflops / peak,
            "first_3_iterations_s": first[name],
        }

    fit: dict[str, float] = {}
    if args.fit_steps > 0:
        cfg = base.with_overrides([f"train.max_steps={args.fit_steps}", "train.epochs=1000"])
        trainer = start_run(cfg, tmp / "fit", data)
        start = time.perf_counter()
        trainer.fit()
        seconds = time.perf_counter() - start
        fit = {
            "steps": args.fit_steps,
            "seconds": seconds,
            "images_per_s": args.fit_steps * cfg.train.batch_size * cfg.train.k / seconds,
        }
        fit["vs_plain"] = fit["images_per_s"] / plain_ips

    print()
    print(f"{'':14s} {'ms/it':>8s} {'img/s':>8s} {'vs plain':>9s} {'GFLOP/s':>8s} {'% peak':>7s}")
    for name, row in rows.items():
        print(
            f"{name:14s} {row['ms_per_iteration']:8.2f} {row['images_per_s']:8.0f} "
            f"{row['vs_plain']:8.2f}x {row['gflops']:8.1f} "
            f"{100 * row['fraction_of_fp32_peak']:6.1f}%"
        )
    for name, ratio in ratios.items():
        print(
            f"{name} vs plain, per interleaved repeat: median {ratio['median']:.2f}x "
            f"(min {ratio['min']:.2f}x, max {ratio['max']:.2f}x, {len(ratio['all'])} repeats)"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other jobs on the machine)")
    if fit:
        print(
            f"{'gannet fit()':14s} {'':8s} {fit['images_per_s']:8.0f} {fit['vs_plain']:8.2f}x"
            f"   ({fit['steps']} steps with logging, checkpoints and sample grids)"
        )
    print(
        f"FLOPs per iteration: {flops['iteration'] / 1e9:.3f} G (D step "
        f"{flops['d_step'] / 1e9:.3f}, G step {flops['g_step'] / 1e9:.3f}); fp32 peak "
        f"{peak:.1f} GFLOP/s (torch.mm 2048), bf16 {peaks['bf16_linear_1024']:.1f} "
        f"(F.linear 1024), {peaks['bf16_mm_1024']:.1f} (torch.mm 1024)"
    )

    result = {
        "mkldnn_bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "data": data_desc,
        "batch_size": base.train.batch_size,
        "k": base.train.k,
        "overrides": args.set,
        "iters_per_block": iters,
        "repeats": args.repeats,
        "matmul_peak_gflops": peaks,
        "flops_per_iteration": flops,
        "results": rows,
        "ms_per_iteration_each_repeat": {n: [t * 1e3 for t in ts] for n, ts in times.items()},
        "vs_plain_per_repeat": ratios,
        "load_average": os.getloadavg(),
        "fit": fit,
    }
    out = write_results(args.out, result, script=__file__, argv=argv)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
