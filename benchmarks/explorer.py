"""Time per frame of the playground's latent explorer (``gannet playground --runs DIR``).

Run from the repository root::

    python benchmarks/explorer.py                  # three generators, 20 frames of each kind
    python benchmarks/explorer.py --quick          # 3 frames of each kind (a smoke test)
    python benchmarks/explorer.py --runs DIR       # the runs in DIR instead (their ids)

Generators (``--runs`` absent): G of the shapes of the bundled configs (speed does not depend
on the weights), each trained one step on random images in a temporary runs folder: the
paper's MLP (``mnist-paper``), DCGAN for MNIST (``mnist-dcgan``) and for CIFAR-10
(``cifar10-dcgan``).

Each frame is one HTTP request to a real playground server on 127.0.0.1, as the page makes it
while the user drags: ``plane 5x5`` (25 images), ``plane 10x10`` (100, the most a frame may
hold), ``paths 4x8`` (Figure 3, 32 images), ``point`` (one image, the sliders). Figures: the
median over ``--repeats`` frames of G's time, the server's time (G, the grid and its PNG) and
the round trip the client sees (the JSON and base64 included). Printed, and written as JSON
to ``--out`` (default ``benchmarks/results/explorer.json``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results
from gannet.config import Config
from gannet.config.presets import find_config
from gannet.data import Dataset
from gannet.playground import serve
from gannet.training import start_run
from gannet.training.hooks import Checkpoints, StatusFile

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "paper-mlp": "mnist-paper",
    "dcgan-mnist": "mnist-dcgan",
    "dcgan-cifar10": "cifar10-dcgan",
}
SHAPES = {"mnist-paper": (1, 28, 28), "mnist-dcgan": (1, 28, 28), "cifar10-dcgan": (3, 32, 32)}
FRAMES = {
    "plane 5x5": ("/api/explorer/plane", {"size": 5, "u": 0.3, "v": 0.6}),
    "plane 10x10": ("/api/explorer/plane", {"size": 10, "u": 0.3, "v": 0.6}),
    "paths 4x8": ("/api/explorer/path", {"pairs": [[0, 1], [2, 3], [4, 5], [6, 7]], "steps": 8}),
    "point": ("/api/explorer/point", {"index": 3}),
}


def make_runs(root: Path) -> None:
    """One run per generator, trained one step on random images (files the explorer reads)."""
    for name, config_name in CONFIGS.items():
        config = Config.load(find_config(config_name)).with_overrides(
            ["train.max_steps=1", "train.progress='none'", "train.batch_size=32"]
        )
        x = torch.rand(64, *SHAPES[config_name], generator=torch.Generator().manual_seed(0))
        out = root / name
        start_run(config, out, Dataset("random", x), [Checkpoints(out), StatusFile(out)]).fit()


def post(port: int, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    import http.client
    import json

    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        payload = json.loads(resp.read())
    finally:
        conn.close()
    if resp.status != 200:
        raise SystemExit(f"{path}: HTTP {resp.status}: {payload.get('error')}")
    return payload, (time.perf_counter() - start) * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, help="a runs folder (default: fresh generators)")
    p.add_argument("--repeats", type=int, default=20, help="frames of each kind (default 20)")
    p.add_argument("--quick", action="store_true", help="3 frames of each kind")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument(
        "--backend",
        action="append",
        help="what draws the frames: eager, pt2, onnx (repeatable; default eager)",
    )
    p.add_argument("--out", type=Path, default=HERE / "results" / "explorer.json")
    args = p.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.runs
        if root is None:
            root = Path(tmp) / "runs"
            make_runs(root)
        results: dict[str, Any] = {}
        for backend in args.backend or ["eager"]:
            results[backend] = measure(root, backend, repeats)
    out = write_results(
        args.out, {"repeats": repeats, "results": results}, script=__file__, argv=argv
    )
    print(f"wrote {out}")
    return 0


def measure(root: Path, backend: str, repeats: int) -> dict[str, Any]:
    """Median times of each kind of frame of each run, frames drawn by ``backend``."""
    server = serve("127.0.0.1", 0, runs=root, backend=backend)
    server.start()
    results: dict[str, Any] = {}
    try:
        for run in server.explorer.runs():
            info, _ = post(server.port, "/api/explorer/open", {"run": run["id"]})
            extra = {"class": 0} if info["num_classes"] else {}
            rows: dict[str, Any] = {}
            for kind, (path, body) in FRAMES.items():
                times: dict[str, list[float]] = {"generate": [], "server": [], "round": []}
                for _ in range(repeats + 1):  # the first is a warm-up
                    r, ms = post(server.port, path, {"run": run["id"], **extra, **body})
                    times["generate"].append(r["ms"]["generate"])
                    times["server"].append(r["ms"]["server"])
                    times["round"].append(ms)
                rows[kind] = {
                    "images": r["count"],
                    **{f"{k}_ms": statistics.median(v[1:]) for k, v in times.items()},
                }
                row = rows[kind]
                print(
                    f"{backend:6s} {run['id']:14s} {kind:12s} {row['images']:4d} images  "
                    f"G {row['generate_ms']:7.2f} ms  server {row['server_ms']:7.2f} ms  "
                    f"round trip {row['round_ms']:7.2f} ms  "
                    f"({1000 / row['round_ms']:.0f} frames/s)"
                )
            results[run["id"]] = rows
    finally:
        server.close()
    return results


if __name__ == "__main__":
    sys.exit(main())
