"""Data-parallel scaling: 1 process x 2 threads vs 2 processes x 1 thread (gloo) on this CPU,
the bytes all-reduced per iteration, and a stated model of the step time on 1-64 GPUs.

Run from the repository root (about 5 minutes on 2 loaded shared cores)::

    python benchmarks/scaling.py
    python benchmarks/scaling.py --repeats 5 --paper-steps 20 --dcgan-steps 10
    OMP_WAIT_POLICY=PASSIVE python benchmarks/scaling.py    # see docs/scaling.md
    python benchmarks/scaling.py --gpu-tflops 20 --overhead-ms 0.2 --nvlink-gbs 300

What is measured. One launch of 2 processes through ``torch.distributed.run`` (gloo) runs
this file with ``--worker``. Each process builds, for the paper's MNIST model
(``configs/mnist-paper.toml``) and DCGAN (``configs/mnist-dcgan.toml``), a
``gannet.training.Trainer`` in the 2-process world (``train.threads = 1``, each rank takes
half of every global batch); rank 0 also builds single-process ``Trainer``s of the same
config with ``train.threads = 1`` and ``2``. Then, in blocks rotating between the three
contenders (so the other jobs on this shared machine slow all alike), rank 0 times
``--paper-steps`` / ``--dcgan-steps`` iterations of:

* ``1x1`` and ``1x2``: a single-process trainer, 1 or 2 threads, while rank 1 waits in a
  barrier (its CPU time during the wait is recorded, to show it stays idle); 1x1 is the
  compute on one core, which the model divides by N;
* ``2x1``: both ranks' trainers, 1 thread each, with gannet's all-reduces: one of D's
  flattened gradients per D update, one of G's per G update, the per-iteration stop flag
  ``fit()`` all-reduces, and the logging interval's sums every ``train.log_every`` steps.

Each timed iteration is ``Trainer.step()`` (Algorithm 1 with its bookkeeping, no hooks: no
files), the same work ``gannet train`` does between its log lines; images/s = global batch
x k x iterations / wall seconds. ``--warmup`` iterations per trainer are not timed. Best and
median over ``--repeats`` blocks are both reported.

Also measured: gloo all-reduce times on this machine for an 8-byte flag and for messages of
D's and G's gradient size (the latency and bandwidth the 2x1 run paid), and the FLOPs of one
iteration (``torch.utils.flop_counter`` on a real step; matmuls and convolutions, forward
and backward).

The GPU model (see ``scaling_model.py``; every input below is an assumption, printed and
written to the JSON)::

    t(N) = compute / N + overhead + sum over the all-reduces of one iteration of
           [2 (N - 1) latency + 2 (N - 1) / N * bytes / bandwidth]

* compute: FLOPs per iteration / ``--gpu-tflops`` (the TFLOP/s one GPU is assumed to achieve
  on these small matrices; default 10, a fraction of a data-centre GPU's peak);
* overhead: ``--overhead-ms`` per iteration that does not shrink with N (kernel launches and
  Python; default 0.5 ms);
* links: NVLink ``--nvlink-gbs`` (150 GB/s), PCIe ``--pcie-gbs`` (12 GB/s) inside a host of
  ``--gpus-per-host`` (8) GPUs; InfiniBand ``--ib-gbs`` (12.5 GB/s = 100 Gb/s) between hosts;
  latency per ring hop ``--latency-us`` (10 µs). Beyond one host the ring runs at the slower
  link. The global batch stays fixed (``train.batch_size`` is the global batch), so at large
  N each GPU holds one or two images: the model shows where adding GPUs stops paying. The
  ``weak`` columns grow the global batch with N instead (each GPU keeps one GPU's batch).

``--cli-steps N`` also runs ``gannet train`` itself (``--nproc 1`` with 2 threads, ``--nproc
2`` with 1) for N iterations per model and reports its metrics.jsonl images/s after the first
logging interval. ``--remodel JSON`` measures nothing: it redoes the GPU model with the
assumptions given on the measurements of an earlier results file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODELS = {"paper": "mnist-paper.toml", "dcgan": "mnist-dcgan.toml"}
CONTENDERS = ("1x1", "1x2", "2x1")
"""processes x threads: 1x1 is the compute on one core, the model's input on this CPU."""
THREADS = {"1x1": 1, "1x2": 2, "2x1": 1}
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64)
LOADED = (
    "note: this machine is shared with other jobs and was loaded while this ran (load "
    "average above); figures are lower and noisier than on an idle machine"
)


# ---------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> int:
    """One of the 2 processes (``torch.distributed.run`` sets RANK and WORLD_SIZE)."""
    import torch
    import torch.distributed as dist
    from torch.utils.flop_counter import FlopCounterMode

    from gannet.config import Config
    from gannet.training import Trainer
    from gannet.training.distributed import World
    from throughput import load_data

    world = World.from_environment(torch.device("cpu"))
    data, data_desc = load_data(args.data_dir)
    base = ['train.device="cpu"', 'train.progress="none"', 'train.precision="fp32"', *args.set]
    steps = {"paper": args.paper_steps, "dcgan": args.dcgan_steps}
    trainers: dict[str, dict[str, Any]] = {}
    info: dict[str, dict[str, Any]] = {}
    for name, file in MODELS.items():
        config = Config.load(REPO / "configs" / file, base)
        pair: dict[str, Any] = {
            "2x1": Trainer(config.with_overrides(["train.threads=1"]), data, world=world)
        }
        if world.is_main:  # single-process trainers, rank 0 only
            for who in ("1x1", "1x2"):
                threads = f"train.threads={THREADS[who]}"
                pair[who] = Trainer(config.with_overrides([threads]), data)
        trainers[name] = pair
        tc = config.train
        d = pair["2x1"].D
        g = pair["2x1"].G
        info[name] = {
            "config": f"configs/{file}",
            "batch_size": tc.batch_size,
            "k": tc.k,
            "log_every": tc.log_every,
            "images_per_iteration": tc.batch_size * tc.k,
            "d_params": sum(p.numel() for p in d.parameters() if p.requires_grad),
            "g_params": sum(p.numel() for p in g.parameters() if p.requires_grad),
        }

    def run(trainer: Any, n: int) -> None:
        for _ in range(n):
            trainer.step()
            trainer.world.any(False)  # fit()'s per-iteration stop flag

    # Warm-up (first-call allocations, oneDNN initialisation), untimed.
    for pair in trainers.values():
        torch.set_num_threads(1)
        run(pair["2x1"], args.warmup)
        world.barrier()
        if world.is_main:
            for who in ("1x1", "1x2"):
                torch.set_num_threads(THREADS[who])
                run(pair[who], args.warmup)
        world.barrier()

    seconds: dict[str, dict[str, list[float]]] = {m: {c: [] for c in CONTENDERS} for m in MODELS}
    idle_cpu: list[float] = []  # rank 1's CPU seconds while rank 0 ran 1x1 or 1x2
    idle_wall: list[float] = []
    for r in range(args.repeats):
        for name, pair in trainers.items():
            order = CONTENDERS[r % 3 :] + CONTENDERS[: r % 3]  # rotated every repeat
            for who in order:
                torch.set_num_threads(THREADS[who])
                world.barrier()
                if who == "2x1" or world.is_main:
                    start = time.perf_counter()
                    run(pair[who], steps[name])
                    seconds[name][who].append(time.perf_counter() - start)
                    world.barrier()
                else:
                    cpu, wall = time.process_time(), time.perf_counter()
                    world.barrier()
                    idle_cpu.append(time.process_time() - cpu)
                    idle_wall.append(time.perf_counter() - wall)
        if world.is_main:
            line = "; ".join(
                f"{m} "
                + ", ".join(f"{c} {min(seconds[m][c]) / steps[m] * 1e3:.0f}" for c in CONTENDERS)
                for m in MODELS
            )
            print(f"repeat {r + 1}/{args.repeats} (best ms/iteration so far): {line}", flush=True)

    # gloo all-reduce on this machine: the 8-byte flag and gradient-sized messages.
    torch.set_num_threads(1)
    sizes = {"flag": 2}
    for name in MODELS:
        sizes[f"{name} D"] = info[name]["d_params"]
        sizes[f"{name} G"] = info[name]["g_params"]
    probe: dict[str, dict[str, float]] = {}
    for label, numel in sizes.items():
        t = torch.ones(numel)
        times = []
        reps = args.probe_reps * (5 if numel < 1000 else 1)
        dist.all_reduce(t)
        for _ in range(reps):
            world.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        probe[label] = {
            "bytes": 4 * numel,
            "median_s": statistics.median(times),
            "best_s": min(times),
        }

    # FLOPs of one iteration (matmuls and convolutions, forward and backward), on rank 0.
    if world.is_main:
        for name, pair in trainers.items():
            counter = FlopCounterMode(display=False)
            with counter:
                pair["1x2"].step()
            info[name]["flops_per_iteration"] = int(counter.get_total_flops())
    idle = [None] * world.size
    dist.all_gather_object(idle, {"cpu": idle_cpu, "wall": idle_wall})
    if world.is_main:
        out = {
            "data": data_desc,
            "steps_per_block": steps,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "models": info,
            "seconds": seconds,
            "allreduce_probe": probe,
            "rank1_while_waiting": idle[1],
        }
        Path(args.worker_out).write_text(json.dumps(out))
    world.close()
    return 0


# ---------------------------------------------------------------------------- parent


def launch_worker(args: argparse.Namespace, out: Path) -> None:
    """The 2-process run of this file's worker, through torch.distributed.run."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "--monitor-interval=0.5",
        str(Path(__file__).resolve()),
        "--worker",
        "--worker-out",
        str(out),
        "--repeats",
        str(args.repeats),
        "--warmup",
        str(args.warmup),
        "--paper-steps",
        str(args.paper_steps),
        "--dcgan-steps",
        str(args.dcgan_steps),
        "--probe-reps",
        str(args.probe_reps),
        "--data-dir",
        args.data_dir,
    ]
    for item in args.set:
        cmd += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOGLEVEL": "ERROR", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(cmd, env=env, cwd=REPO)
    if done.returncode != 0:
        raise BadInput(
            f"the 2-process measurement failed (exit code {done.returncode}; its messages are "
            "above); check that torch.distributed with gloo works here (python -m "
            "torch.distributed.run --standalone --nproc-per-node 2 ...)"
        )


def cli_check(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, Any]]:
    """``gannet train`` itself, as a user runs it: 1x2 (``--nproc 1``, train.threads=2) and
    2x1 (``--nproc 2``, train.threads=1) of each model for ``--cli-steps`` iterations; the
    images/s of its metrics.jsonl lines after the first (warm-up) interval, median."""
    log_every = max(1, args.cli_steps // 4)
    out: dict[str, dict[str, Any]] = {}
    for name, file in MODELS.items():
        out[name] = {}
        for who, nproc, threads in (("1x2", 1, 2), ("2x1", 2, 1)):
            run = folder / f"{name}-{who}"
            cmd = [sys.executable, "-m", "gannet", "train", f"configs/{file}", "--out", str(run)]
            cmd += ["--nproc", str(nproc)]
            sets = [
                f"train.threads={threads}",
                f"train.max_steps={args.cli_steps}",
                f"train.log_every={log_every}",
                f"data.subset={args.cli_subset}",
                'train.progress="none"',
                'train.device="cpu"',
                *args.set,
            ]
            for item in sets:
                cmd += ["--set", item]
            if args.data_dir:
                cmd += ["--data-dir", args.data_dir]
            env = {**os.environ, "LOGLEVEL": "ERROR"}
            done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
            if done.returncode != 0:
                said = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise BadInput(f"gannet train {name} {who} failed: {said}")
            lines = (run / "metrics.jsonl").read_text().splitlines()
            rates = [json.loads(x)["images_per_s"] for x in lines[1:]]
            out[name][who] = {
                "command": " ".join(cmd[1:]),
                "images_per_s_per_interval": rates,
                "images_per_s_median": statistics.median(rates),
            }
            print(f"gannet train {name} {who}: {statistics.median(rates):.0f} img/s", flush=True)
    return out


def summarise(raw: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Images/s (best and median block) and ms/iteration per model and contender."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, per in raw["seconds"].items():
        steps = raw["steps_per_block"][name]
        images = raw["models"][name]["images_per_iteration"]
        out[name] = {}
        for who, secs in per.items():
            best, median = min(secs), statistics.median(secs)
            out[name][who] = {
                "ms_per_iteration_best": 1e3 * best / steps,
                "ms_per_iteration_median": 1e3 * median / steps,
                "images_per_s_best": images * steps / best,
                "images_per_s_median": images * steps / median,
            }
        for who in out[name]:
            for stat in ("best", "median"):
                ips = out[name][who][f"images_per_s_{stat}"]
                out[name][who][f"vs_1x1_{stat}"] = ips / out[name]["1x1"][f"images_per_s_{stat}"]
    return out


class BadInput(Exception):
    """A wrong option or file: one line on stderr, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except BadInput as e:
        print(f"scaling: {e}", file=sys.stderr)
        return 2


def run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations per trainer")
    parser.add_argument("--paper-steps", type=int, default=6, help="iterations per paper block")
    parser.add_argument("--dcgan-steps", type=int, default=4, help="iterations per DCGAN block")
    parser.add_argument("--probe-reps", type=int, default=10, help="timed gloo all-reduces")
    parser.add_argument(
        "--cli-steps",
        type=int,
        default=0,
        help="also time gannet train itself (1x2 and 2x1) for N iterations per model (0 = no)",
    )
    parser.add_argument("--cli-subset", type=int, default=10000, help="data.subset for those")
    parser.add_argument("--data-dir", default="", help="folder with the MNIST idx files")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    parser.add_argument("--gpu-tflops", type=float, default=10.0, help="assumed TFLOP/s per GPU")
    parser.add_argument("--overhead-ms", type=float, default=0.5, help="assumed ms/iteration")
    parser.add_argument("--nvlink-gbs", type=float, default=150.0, help="GB/s inside a host")
    parser.add_argument("--pcie-gbs", type=float, default=12.0, help="GB/s inside a host")
    parser.add_argument("--ib-gbs", type=float, default=12.5, help="GB/s between hosts")
    parser.add_argument("--latency-us", type=float, default=10.0, help="µs per ring hop")
    parser.add_argument("--gpus-per-host", type=int, default=8)
    parser.add_argument(
        "--remodel",
        metavar="JSON",
        default="",
        help="no measuring: the GPU model with these assumptions on an earlier run's results",
    )
    parser.add_argument("--out", default=str(HERE / "results" / "scaling.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    for key in ("repeats", "warmup", "paper_steps", "dcgan_steps", "probe_reps", "gpus_per_host"):
        minimum = 0 if key == "warmup" else 1
        if getattr(args, key) < minimum:
            raise BadInput(f"--{key.replace('_', '-')} must be at least {minimum}")
    for key in ("gpu_tflops", "nvlink_gbs", "pcie_gbs", "ib_gbs"):
        if not getattr(args, key) > 0:
            raise BadInput(f"--{key.replace('_', '-')} must be > 0")
    if args.cli_steps and (args.cli_steps < 8 or args.cli_subset < 1000):
        raise BadInput("--cli-steps must be 0 or at least 8, --cli-subset at least 1000")
    if args.overhead_ms < 0 or args.latency_us < 0:
        raise BadInput("--overhead-ms and --latency-us must be >= 0")

    import torch

    from common import print_machine, write_results
    from gannet.errors import GannetError
    from scaling_model import Cluster, Link, bytes_per_iteration, gannet_messages, scaling_rows

    torch.set_num_threads(2)
    print_machine()
    started = time.perf_counter()
    previous: dict[str, Any] = {}
    if args.remodel:  # the measurements of an earlier run, the model's assumptions from here
        try:
            previous = json.loads(Path(args.remodel).read_text())
            raw = previous["raw"]
            load_before, load_after = (
                previous["load_average"]["before"],
                previous["load_average"]["after"],
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BadInput(
                f"--remodel {args.remodel}: not a results file of this benchmark ({e})"
            ) from None
        omp = previous.get("omp_wait_policy")
        print(
            f"re-modelling the measurements of {previous.get('created')}: {previous.get('command')}"
        )
    else:
        load_before = os.getloadavg()
        print(f"load average before: {load_before[0]:.1f} (1 min), {load_before[1]:.1f} (5 min)")
        with tempfile.TemporaryDirectory(prefix="gannet-scaling-") as tmp:
            raw_path = Path(tmp) / "raw.json"
            launch_worker(args, raw_path)
            raw = json.loads(raw_path.read_text())
        load_after = os.getloadavg()
        omp = os.environ.get("OMP_WAIT_POLICY")
    measured = summarise(raw)
    cli: dict[str, Any] = previous.get("gannet_train", {})
    if args.cli_steps and not args.remodel:
        with tempfile.TemporaryDirectory(prefix="gannet-scaling-cli-") as tmp:
            cli = cli_check(args, Path(tmp))

    print(
        f"\ndata: {raw['data']}; {raw['repeats']} blocks per contender after "
        f"{raw['warmup']} warm-up iterations; load average (1 min) "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(f"OMP_WAIT_POLICY={omp or '(unset)'}")
    print(
        f"{'model':7s} {'run':4s} {'ms/it best':>10s} {'median':>7s} {'img/s best':>10s} "
        f"{'median':>7s} {'vs 1x1 best':>11s} {'median':>7s}"
    )
    for name, per in measured.items():
        for who in CONTENDERS:
            row = per[who]
            print(
                f"{name:7s} {who:4s} {row['ms_per_iteration_best']:10.1f} "
                f"{row['ms_per_iteration_median']:7.1f} {row['images_per_s_best']:10.0f} "
                f"{row['images_per_s_median']:7.0f} {row['vs_1x1_best']:10.2f}x "
                f"{row['vs_1x1_median']:6.2f}x"
            )
    idle = raw["rank1_while_waiting"]
    print(
        f"rank 1 while rank 0 ran 1x1 and 1x2: {sum(idle['cpu']):.2f} CPU s in "
        f"{sum(idle['wall']):.1f} s (idle)"
    )

    print("\ngloo all-reduce on this machine (2 processes, 1 thread each):")
    for label, p in raw["allreduce_probe"].items():
        print(
            f"  {label:9s} {p['bytes'] / 1e6:8.3f} MB  best {p['best_s'] * 1e3:7.2f} ms  "
            f"median {p['median_s'] * 1e3:7.2f} ms"
        )

    latency = args.latency_us * 1e-6
    clusters = [
        Cluster(
            "NVLink hosts",
            Link("NVLink", args.nvlink_gbs * 1e9, latency),
            Link("IB", args.ib_gbs * 1e9, latency),
            args.gpus_per_host,
        ),
        Cluster(
            "PCIe hosts",
            Link("PCIe", args.pcie_gbs * 1e9, latency),
            Link("IB", args.ib_gbs * 1e9, latency),
            args.gpus_per_host,
        ),
    ]
    models: dict[str, Any] = {}
    for name, m in raw["models"].items():
        messages = gannet_messages(m["d_params"], m["g_params"], m["k"], m["log_every"])
        compute = m["flops_per_iteration"] / (args.gpu_tflops * 1e12)
        per_step = bytes_per_iteration(messages)
        models[name] = {
            **m,
            "bytes_allreduced_per_iteration": per_step,
            "allreduces_per_iteration": {
                msg.name: [msg.nbytes, msg.per_iteration] for msg in messages
            },
            "assumed_gpu_compute_ms": compute * 1e3,
            "gpu_model": {
                c.name: scaling_rows(
                    compute,
                    args.overhead_ms * 1e-3,
                    messages,
                    c,
                    GPU_COUNTS,
                    m["images_per_iteration"],
                )
                for c in clusters
            },
        }
        # The model on this CPU (N = 2): 1x1 / 2 + the measured gloo all-reduces vs 2x1.
        probe = raw["allreduce_probe"]
        gloo = (
            m["k"] * probe[f"{name} D"]["median_s"]
            + probe[f"{name} G"]["median_s"]
            + probe["flag"]["median_s"] * (1 + 2 / m["log_every"])
        )
        models[name]["cpu_check"] = {
            "gloo_allreduce_ms_per_iteration": gloo * 1e3,
            "predicted_2x1_ms": measured[name]["1x1"]["ms_per_iteration_median"] / 2 + gloo * 1e3,
            "measured_2x1_ms": measured[name]["2x1"]["ms_per_iteration_median"],
        }

    print(
        f"\nGPU model (assumptions: {args.gpu_tflops:g} TFLOP/s achieved per GPU, "
        f"{args.overhead_ms:g} ms/iteration overhead, NVLink {args.nvlink_gbs:g} GB/s, PCIe "
        f"{args.pcie_gbs:g} GB/s, {args.gpus_per_host} GPUs per host, InfiniBand "
        f"{args.ib_gbs:g} GB/s between hosts, {args.latency_us:g} µs per ring hop; "
        "global batch fixed)"
    )
    for name, m in models.items():
        print(
            f"\n{name}: D {m['d_params']:,} + G {m['g_params']:,} parameters; "
            f"{m['bytes_allreduced_per_iteration'] / 1e6:.2f} MB all-reduced per iteration "
            f"(k={m['k']}); {m['flops_per_iteration'] / 1e9:.3f} GFLOP per iteration -> "
            f"{m['assumed_gpu_compute_ms']:.3f} ms compute on one GPU (assumed); "
            f"this CPU: 1x1 / 2 + gloo all-reduces predicts 2x1 at "
            f"{m['cpu_check']['predicted_2x1_ms']:.1f} ms, measured "
            f"{m['cpu_check']['measured_2x1_ms']:.1f} ms (medians)"
        )
        header = f"{'ms/it':>8s} {'comm ms':>8s} {'img/s':>7s} {'eff':>5s} "
        header += f"{'weak img/s':>10s} {'eff':>5s}"
        print(f"  {'N':>3s}  " + "  ".join(f"{c.name:>47s}" for c in clusters))
        print(f"  {'':3s}  " + "  ".join(header for _ in clusters))
        for i, n in enumerate(GPU_COUNTS):
            cells = []
            for c in clusters:
                row = m["gpu_model"][c.name][i]
                cells.append(
                    f"{row['step_ms']:8.3f} {row['allreduce_ms']:8.3f} "
                    f"{row['images_per_s']:7.0f} {row['efficiency']:5.2f} "
                    f"{row['weak_images_per_s']:10.0f} {row['weak_efficiency']:5.2f}"
                )
            print(f"  {n:3d}  " + "  ".join(cells))
    print(
        "(eff = speedup / N with the global batch fixed, as train.batch_size is; weak = the "
        "global batch grown N times, each GPU keeping one GPU's batch)"
    )
    print(f"\n{LOADED}; took {time.perf_counter() - started:.0f} s")

    result = {
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "omp_wait_policy": omp,
        "measured_on": previous.get("machine"),
        "remodelled_from": previous.get("command"),
        "note": LOADED,
        "data": raw["data"],
        "steps_per_block": raw["steps_per_block"],
        "warmup": raw["warmup"],
        "repeats": raw["repeats"],
        "measured": measured,
        "rank1_while_waiting": raw["rank1_while_waiting"],
        "allreduce_probe": raw["allreduce_probe"],
        "assumptions": {
            "gpu_tflops": args.gpu_tflops,
            "overhead_ms": args.overhead_ms,
            "nvlink_gbs": args.nvlink_gbs,
            "pcie_gbs": args.pcie_gbs,
            "ib_gbs": args.ib_gbs,
            "latency_us_per_hop": args.latency_us,
            "gpus_per_host": args.gpus_per_host,
            "global_batch": "fixed",
        },
        "models": models,
        "gannet_train": cli,
        "raw": raw,
    }
    try:
        out = write_results(args.out, result, script=__file__, argv=argv)
    except GannetError as e:  # atomic_write_bytes names the path and the OS error
        raise BadInput(str(e)) from None
    except OSError as e:
        raise BadInput(f"cannot write {args.out}: {e.strerror}; choose another --out") from None
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
