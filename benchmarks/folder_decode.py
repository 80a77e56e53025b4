"""Decoding an image folder, and loading it again from gannet's decoded-image cache.

Target (issue 16): a second run on an unchanged folder starts in seconds. For each thread
count, a fresh child process loads the folder with an empty cache (the first run: list, decode,
write the cache), then another fresh child loads it again (the second run: list, stat, read
the cache). Each child reports its wall seconds, images per second, and its peak resident
memory (``ru_maxrss``) minus what it held after its imports, i.e. what the load itself
added; the uint8 images' size is printed beside it (a float32 copy would be four times it).

The folder's files are read through the OS page cache (they were read before), so the first
run measures decoding, not the disk. The CPU seconds (user + system, all threads) are printed
beside the wall seconds: on a shared machine the wall time depends on the other processes.

Run from the repository root (10,000 CIFAR-10 JPEGs, 1,000 per class, copied from the JPEG
folder of its training images)::

    python benchmarks/folder_decode.py --folder /work/runs/F-folder/cifar10k
    python benchmarks/folder_decode.py --folder DIR --size 64 --threads 1,2 --out /tmp/f.json

Writes ``benchmarks/results/folder_decode.json`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(folder: str, size: int, threads: int) -> None:
    """One load in this process; prints one JSON line."""
    import torch

    from gannet.config import DataConfig
    from gannet.data import load_dataset
    from gannet.data.folder import image_files

    torch.set_num_threads(1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = time.process_time()
    start = time.perf_counter()
    data = load_dataset(
        DataConfig(name="folder", data_dir=folder, image_size=size, validation_size=0),
        progress="none",
        threads=threads,
    )
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = len(data.train)
    print(json.dumps({
        "images": n,
        "files": len(image_files(Path(folder))),
        "shape": list(data.train.shape),
        "dtype": str(data.train.dtype),
        "seconds": seconds,
        "images_per_second": n / seconds,
        "cpu_seconds": cpu_seconds,
        "images_per_cpu_second": n / cpu_seconds,
        "load_peak_rss_mb": (peak - base) / 1024,
        "process_peak_rss_mb": peak / 1024,
        "uint8_images_mb": data.train.numel() / 2**20,
    }))  # fmt: skip


def measure(folder: str, size: int, threads: int, cache: Path) -> dict[str, float]:
    env = {**os.environ, "GANNET_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, __file__, "--child", "--folder", folder, "--size", str(size),
            "--threads", str(threads)]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"the child load failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", required=True, help="a folder of images (class subfolders ok)")
    p.add_argument("--size", type=int, default=32, help="data.image_size (default 32)")
    p.add_argument("--threads", default="1,2", help="thread counts to measure (default 1,2)")
    p.add_argument("--out", default=str(HERE / "results" / "folder_decode.json"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.folder, args.size, int(args.threads))
        return

    from common import print_machine, write_results

    print_machine()
    print(f"folder {args.folder}, image_size {args.size}; load average {os.getloadavg()}")
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        with tempfile.TemporaryDirectory(prefix="gannet-folder-cache-") as cache:
            first = measure(args.folder, args.size, threads, Path(cache))
            second = measure(args.folder, args.size, threads, Path(cache))
            cache_mb = sum(f.stat().st_size for f in Path(cache).rglob("*.npz")) / 2**20
        row = {"threads": threads, "first": first, "second": second, "cache_file_mb": cache_mb,
               "load_average": list(os.getloadavg())}  # fmt: skip
        rows.append(row)
        for name, r in (("first (decode + write cache)", first), ("second (from cache)", second)):
            print(
                f"threads={threads} {name}: {r['images']} images {r['shape']} {r['dtype']} in "
                f"{r['seconds']:.2f} s = {r['images_per_second']:.0f} images/s (CPU "
                f"{r['cpu_seconds']:.2f} s = {r['images_per_cpu_second']:.0f} images per CPU "
                f"second); peak RSS "
                f"+{r['load_peak_rss_mb']:.0f} MB over imports ({r['process_peak_rss_mb']:.0f} "
                f"MB in all; the images are {r['uint8_images_mb']:.1f} MB as uint8)"
            )
        print(f"threads={threads} cache file: {cache_mb:.1f} MB")
    write_results(
        args.out,
        {"folder": args.folder, "image_size": args.size, "runs": rows},
        script=__file__,
        argv=argv,
    )


if __name__ == "__main__":
    main()
