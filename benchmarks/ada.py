"""ADA against fixed DiffAugment and no augmentation on a small-data run (issue 28).

Three arms train the same DCGAN (narrowed to ``--width`` channels) on the first ``--n``
MNIST training digits for ``--steps`` generator steps each, from the same seed:

* ``none``: ``train.augment = ""``;
* ``diffaugment``: ``train.augment = "color,translation,cutout"``, p = 1 (every policy on
  every image D sees);
* ``ada``: the same policies with ``train.augment_p = "ada"`` (target 0.6, N = 4, speed
  ``--ada-kimg`` thousand images for p to go from 0 to 1: the paper's 500 scaled for a
  run of ``--steps`` x 64 images).

Each arm reports, at every ``--every`` steps, ADA's p and r_t (ADA arm) and, at the end,
FID with gannet's MNIST classifier features (``fid_mnist-classifier``: ``gannet classifier
train mnist`` once) of ``--samples`` samples of G (no EMA) against the 10,000 test
digits, and D's mean sign on its training digits and on ``--n`` held-out validation digits
(un-augmented: the gap is how much D has memorised). With ``--classifier-subset N`` and no
classifier cached, one is first trained for 1 epoch on the first N digits and cached (what
docs/diffaugment.md's table used: N = 10,000). One arm at a time; every finished arm
is written to ``--out`` at once and a rerun skips it (``--fresh`` starts over)::

    GANNET_DATA=/work/shared/data OMP_NUM_THREADS=1 nice -n 10 \\
        python benchmarks/ada.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results
from gannet.config import Config
from gannet.data import load_dataset
from gannet.data.base import as_float
from gannet.metrics.scores import classifier_fid
from gannet.training import Trainer

HERE = Path(__file__).resolve().parent
POLICIES = "color,translation,cutout"
ARMS = {
    "none": ["train.augment=''"],
    "diffaugment": [f"train.augment='{POLICIES}'"],
    "ada": [f"train.augment='{POLICIES}'", "train.augment_p='ada'"],
}


def arm_config(arm: str, args: argparse.Namespace) -> Config:
    """The DCGAN config of one arm."""
    return Config.load(
        HERE.parent / "configs" / "mnist-dcgan.toml",
        [
            f"data.subset={args.n}",
            f"model.g_channels={args.width}",
            f"model.d_channels={args.width}",
            "train.epochs=100000",
            f"train.max_steps={args.steps}",
            "train.ema=0",  # at a few hundred steps an EMA of 0.999 is mostly the initial G
            f"train.threads={args.threads}",
            f"train.seed={args.seed}",
            "train.progress='none'",
            "train.mode_check=false",
            f"train.ada_kimg={args.ada_kimg}",
            *ARMS[arm],
        ],
    )


@torch.no_grad()
def mean_sign(trainer: Trainer, x: torch.Tensor) -> float:
    """E[sign(D(x))] on un-augmented images, D in eval mode (then back to training)."""
    trainer.D.eval()
    try:
        return float(torch.sign(trainer.D(x).float()).mean())
    finally:
        trainer.D.train()


def ensure_classifier(subset: int, threads: int) -> None:
    """Train and cache gannet's MNIST classifier (1 epoch on the first ``subset`` training
    digits) when none is cached and ``subset`` > 0; the full one (``gannet classifier train
    mnist``, 3 epochs on 50,000) is better but took over an hour on the loaded machine."""
    from gannet.metrics.classifier import classifier_path
    from gannet.metrics.classifier.store import save_classifier, train_classifier

    if subset > 0 and not classifier_path("mnist").is_file():
        model, info = train_classifier("mnist", epochs=1, subset=subset, threads=threads)
        save_classifier(model, info)
        print(info.summary(), flush=True)


def wait_for_classifier(minutes: float = 60) -> None:
    """Wait (up to ``minutes``) for gannet's MNIST classifier to be cached, so a benchmark
    started beside ``gannet classifier train mnist`` still gets its FID."""
    from gannet.metrics.classifier import classifier_path

    deadline = time.time() + minutes * 60
    while not classifier_path("mnist").is_file() and time.time() < deadline:
        time.sleep(20)


def run_arm(arm: str, args: argparse.Namespace, test: torch.Tensor) -> dict[str, Any]:
    config = arm_config(arm, args)
    trainer = Trainer(config)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    while not trainer.done:
        trainer.step()
        step = trainer.progress.step
        if step % args.every == 0 or trainer.done:
            point = {"step": step, "p": trainer.augment_strength if arm != "none" else 0.0}
            if trainer.ada is not None and trainer.ada.last_rt is not None:
                point["rt"] = trainer.ada.last_rt
            curve.append(point)
            print(f"  {arm} step {step}: {point}", flush=True)
    seconds = time.perf_counter() - start
    data = trainer.data
    train_x = as_float(trainer.batches.x)
    val = data.as_float("validation")[: args.n].to(train_x.device)
    gen = torch.Generator().manual_seed(12345)
    z = torch.rand(args.samples, config.model.z_dim, generator=gen) * 2 * 3**0.5 - 3**0.5
    trainer.G_eval.eval()
    with torch.no_grad():
        samples = torch.cat([trainer.G_eval(c) for c in z.split(500)])
    wait_for_classifier()
    fid = classifier_fid(samples, test, "mnist")
    return {
        "arm": arm,
        "steps": trainer.progress.step,
        "train_seconds": seconds,
        "final_p": trainer.augment_strength if arm != "none" else 0.0,
        "d_sign_train": mean_sign(trainer, train_x),
        "d_sign_validation": mean_sign(trainer, val),
        **fid,
        "curve": curve,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="training digits")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--ada-kimg", type=float, default=20.0)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--out", default=str(HERE / "results" / "ada.json"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--classifier-subset",
        type=int,
        default=10_000,
        help="no MNIST classifier cached: train one for 1 epoch on this many digits first "
        "(default 10,000; 0 = wait for 'gannet classifier train mnist' instead)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = print_machine()
    out = Path(args.out)
    done: dict[str, Any] = {}
    if out.is_file() and not args.fresh:
        done = {r["arm"]: r for r in json.loads(out.read_text()).get("arms", [])}
    ensure_classifier(args.classifier_subset, args.threads)
    cfg = arm_config("none", args).data
    test = load_dataset(cfg).as_float("test")
    for arm in args.arms:
        if arm in done:
            print(f"{arm}: already in {out}, skipped", flush=True)
            continue
        done[arm] = run_arm(arm, args, test)
        write_results(out, {"settings": vars(args), "arms": list(done.values())}, script=__file__)
    print(
        f"\n{'arm':12} {'FID(clf)':>9} {'final p':>8} {'sign train':>11} {'sign val':>9} {'s':>6}"
    )
    for r in done.values():
        fid = r.get("fid_mnist-classifier", float("nan"))
        print(
            f"{r['arm']:12} {fid:9.2f} {r['final_p']:8.3f} {r['d_sign_train']:11.3f} "
            f"{r['d_sign_validation']:9.3f} {r['train_seconds']:6.0f}"
        )
    print(f"machine: {machine.get('load_average', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
