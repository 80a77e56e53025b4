"""Speed of the feature metrics.

Targets (issue 15), on 2 CPU cores:

* classifier FID of 10,000 MNIST samples, sampling included: <= 10 s. A paper-MLP generator
  (random weights: the speed does not depend on training) draws 10,000 samples, gannet's
  MNIST classifier (the cached one, else a freshly initialised one of the same shape) gives
  their features, and the Fréchet distance to the 10,000 test images' features (cached
  reference statistics, as ``gannet eval fid`` uses them) is computed;
* the Fréchet distance of two 2,048-d statistics: <= 1 s;
* Inception features in images per second through gannet's extractor: the real
  ``inception-2015-12-05.pt`` when it is found (``--inception-weights``,
  ``$GANNET_INCEPTION`` or the cache), else a network of the same layer layout with random
  weights (:mod:`inception_arch`; same FLOPs, so the same speed), labelled as such.

Run from the repository root::

    GANNET_DATA=/work/shared/data python benchmarks/fid_speed.py
    python benchmarks/fid_speed.py --repeats 3 --out /tmp/fid_speed.json

Prints the seconds (best of ``--repeats``) and writes them as JSON to ``--out`` (default
``benchmarks/results/fid_speed.json``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import print_machine, write_results
from gannet.config import Config, DataConfig
from gannet.data import load_dataset
from gannet.errors import GannetError
from gannet.metrics.frechet import feature_stats, frechet_distance

HERE = Path(__file__).resolve().parent


def classifier_fid_seconds(repeats: int) -> dict[str, float | str]:
    from gannet.metrics.classifier import Classifier, cached_classifier
    from gannet.models import sample_noise
    from gannet.models.build import build_generator

    try:
        model, _ = cached_classifier("mnist")
        which = "cached mnist classifier"
    except GannetError:
        model, which = Classifier().eval(), "untrained classifier of the same shape"
    test = load_dataset(DataConfig(name="mnist")).test
    assert test is not None
    mu_r, sigma_r = feature_stats(model.predict_features(test).double().numpy())
    config = Config()
    G = build_generator(config.model, (784,)).eval()
    gen = torch.Generator().manual_seed(0)
    best, value = float("inf"), float("nan")
    for _ in range(repeats):
        t = time.perf_counter()
        with torch.no_grad():
            z = sample_noise(10000, config.model.z_dim, config.model.noise, "cpu", gen)
            samples = G(z)
        feats = model.predict_features(samples).double().numpy()
        value = frechet_distance(*feature_stats(feats), mu_r, sigma_r)
        best = min(best, time.perf_counter() - t)
    return {"seconds": best, "fid": value, "extractor": which}


def frechet_2048_seconds(repeats: int) -> float:
    rng = np.random.default_rng(0)
    stats = []
    for _ in range(2):
        a = rng.normal(size=(4096, 2048))
        stats.append(feature_stats(a))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        frechet_distance(*stats[0], *stats[1])
        best = min(best, time.perf_counter() - t)
    return best


def inception_images_per_second(weights: str, n: int) -> dict[str, float | str]:
    """Images/s of gannet's Inception feature path on 32x32 images (resized to 299 inside):
    the real network when found, else :mod:`inception_arch`'s same-layout network with
    random weights, loaded through the same path (its digest passed as the expected one)."""
    from gannet.metrics.features import make_extractor
    from gannet.metrics.inception import ENV_SHA256, sha256_file

    try:
        extractor = make_extractor("inception", weights)
        network = "inception-2015-12-05.pt"
    except GannetError as e:
        print(f"Inception: {e}")
        from inception_arch import save_timing_network

        with tempfile.TemporaryDirectory() as tmp:
            path = save_timing_network(Path(tmp) / "layout.pt")
            before = os.environ.get(ENV_SHA256)
            os.environ[ENV_SHA256] = sha256_file(path)
            try:
                extractor = make_extractor("inception", str(path))
            finally:
                if before is None:
                    del os.environ[ENV_SHA256]
                else:
                    os.environ[ENV_SHA256] = before
        network = "same layer layout, random weights (timing only; the real file is absent)"
    images = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    extractor.features(images[:8])  # warm-up
    t = time.perf_counter()
    extractor.features(images)
    seconds = time.perf_counter() - t
    return {"network": network, "images": n, "seconds": seconds, "images_per_s": n / seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--inception-weights", default="")
    p.add_argument("--inception-images", type=int, default=256)
    p.add_argument("--out", default=str(HERE / "results" / "fid_speed.json"))
    args = p.parse_args(argv)
    print_machine()
    fid = classifier_fid_seconds(args.repeats)
    print(f"classifier FID of 10,000 MNIST samples, sampling included: {fid['seconds']:.2f} s "
          f"({fid['extractor']}; target <= 10 s)")  # fmt: skip
    fd = frechet_2048_seconds(args.repeats)
    print(f"Fréchet distance of 2,048-d statistics: {fd:.2f} s (target <= 1 s)")
    inc = inception_images_per_second(args.inception_weights, args.inception_images)
    print(f"Inception features: {float(inc['images_per_s']):.1f} images/s "
          f"({inc['images']} images; network: {inc['network']})")  # fmt: skip
    report = {
        "classifier_fid_10k": fid,
        "frechet_2048_seconds": fd,
        "inception": inc,
        "repeats": args.repeats,
    }
    write_results(args.out, report, script=__file__, argv=argv)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
