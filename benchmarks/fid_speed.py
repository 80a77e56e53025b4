"""Speed of the feature metrics.

Targets (issue 15), on 2 CPU cores:

* classifier FID of 10,000 MNIST samples, sampling included: <= 10 s. A paper-MLP generator
  (random weights: the speed does not depend on training) draws 10,000 samples, gannet's
  MNIST classifier (the shipped one, else a freshly initialised one of the same shape) gives
  their features, and the Fréchet distance to the 10,000 test images' features (cached
  reference statistics, as ``gannet eval fid`` uses them) is computed;
* the Fréchet distance of two 2,048-d statistics: <= 1 s (float64). Wall time and CPU time
  of the process are both reported: on a machine shared with other jobs the wall time
  says little, while the CPU time of a 1-thread run (``--threads 1``) is what one idle core
  takes. ``--frechet-variants`` also times the other ways of computing it (the
  eigenvalue solver's LAPACK driver, PyTorch's MKL, the eigenvalues of S1 S2 or of
  sqrt(S1) S2 sqrt(S1), scipy's ``sqrtm``);
* Inception features in images per second through gannet's extractor: the real
  ``inception-2015-12-05.pt`` when it is found (``--inception-weights``,
  ``$GANNET_INCEPTION`` or the cache), else a network of the same layer layout with random
  weights (:mod:`inception_arch`; same FLOPs, so the same speed), labelled as such.

Run from the repository root::

    GANNET_DATA=/work/shared/data python benchmarks/fid_speed.py
    python benchmarks/fid_speed.py --repeats 3 --out /tmp/fid_speed.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/fid_speed.py --threads 1 --frechet-variants \
        --skip-classifier --skip-inception

Prints the machine (CPU, its features, threads), the load average before and after, the
seconds (best of ``--repeats``) and writes them as JSON to ``--out`` (default
``benchmarks/results/fid_speed.json``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
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
    from gannet.metrics.classifier import Classifier, dataset_classifier
    from gannet.models import sample_noise
    from gannet.models.build import build_generator

    try:
        found = dataset_classifier("mnist")
        model, which = found.model, found.name
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


def _stats_2048() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [feature_stats(rng.normal(size=(4096, 2048))) for _ in range(2)]


def _best(fn: Callable[[], float], repeats: int) -> dict[str, float]:
    """Best wall and CPU seconds of ``repeats`` calls, and the value returned."""
    wall, cpu, value = float("inf"), float("inf"), float("nan")
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return {"seconds": wall, "cpu_seconds": cpu, "value": value}


def frechet_2048(repeats: int) -> dict[str, float]:
    (mu1, s1), (mu2, s2) = _stats_2048()
    return _best(lambda: frechet_distance(mu1, s1, mu2, s2), repeats)


def frechet_variants(repeats: int) -> dict[str, dict[str, float]]:
    """tr((S1 S2)^1/2) of the 2,048-d pair computed the other ways there are (the rest of
    the Fréchet distance is a few ms), each with its value to compare accuracy."""
    import scipy.linalg

    from gannet.metrics import frechet

    (_, s1), (_, s2) = _stats_2048()
    out: dict[str, dict[str, float]] = {}

    def driver(name: str) -> Callable[[], float]:
        def run() -> float:
            before = frechet.EIGEN_DRIVER
            frechet.EIGEN_DRIVER = name
            try:
                return frechet.trace_sqrt_product(s1, s2)
            finally:
                frechet.EIGEN_DRIVER = before

        return run

    for name in ("evr", "evd", "ev", "evx"):
        out[f"gannet's route, eigvalsh driver {name}"] = _best(driver(name), repeats)

    def sym_sqrt() -> float:  # eigvalsh of sqrt(S1) S2 sqrt(S1)
        w, v = scipy.linalg.eigh(s1, check_finite=False, driver="evd")
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        m = root @ s2 @ root
        return float(np.sqrt(np.clip(scipy.linalg.eigvalsh(m, check_finite=False), 0, None)).sum())

    def general() -> float:  # eigenvalues of the non-symmetric S1 S2
        w = scipy.linalg.eigvals(s1 @ s2, check_finite=False, overwrite_a=True)
        return float(np.sqrt(np.clip(w.real, 0, None)).sum())

    def two_factors() -> float:  # eigvalsh of P^T P, P = L1^T L2 (gannet before issue 24)
        l1 = scipy.linalg.cholesky(s1, lower=True, check_finite=False)
        l2 = scipy.linalg.cholesky(s2, lower=True, check_finite=False)
        p = scipy.linalg.blas.dtrmm(1.0, l1, l2, trans_a=True, lower=True)
        w = scipy.linalg.eigvalsh(p.T @ p, check_finite=False, overwrite_a=True, driver="evr")
        return float(np.sqrt(np.clip(w, 0, None)).sum())

    def mkl() -> float:  # PyTorch's LAPACK (MKL on x86), float64
        t1, t2 = torch.from_numpy(s1), torch.from_numpy(s2)
        l1, l2 = torch.linalg.cholesky(t1), torch.linalg.cholesky(t2)
        p = l1.T @ l2
        return float(torch.linalg.eigvalsh(p.T @ p).clamp(min=0).sqrt().sum())

    def sqrtm() -> float:  # pytorch-fid's formula
        return float(np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)

    out["eigvalsh of P^T P, P = L1^T L2 (two Cholesky factors)"] = _best(two_factors, repeats)
    out["torch.linalg (MKL) cholesky + eigvalsh"] = _best(mkl, repeats)
    out["eigvalsh of sqrt(S1) S2 sqrt(S1)"] = _best(sym_sqrt, repeats)
    out["eigvals of S1 S2 (non-symmetric)"] = _best(general, 1)
    out["scipy.linalg.sqrtm(S1 S2) (pytorch-fid)"] = _best(sqrtm, 1)
    return out


def inception_images_per_second(weights: str, n: int) -> dict[str, float | str]:
    """Images/s of gannet's Inception feature path on 32x32 images (resized to 299 inside):
    the real network when found, else :mod:`inception_arch`'s same-layout network with
    random weights, loaded through the same path (its digest passed as the expected one)."""
    from gannet.metrics.features import make_extractor
    from gannet.metrics.inception import ENV_SHA256, sha256_file

    try:
        extractor = make_extractor("inception", weights, offline=True)
        network = "inception-2015-12-05.pt"
    except GannetError as e:
        print(f"Inception: {e}")
        from inception_arch import save_timing_network

        with tempfile.TemporaryDirectory() as tmp:
            path = save_timing_network(Path(tmp) / "layout.pt")
            before = os.environ.get(ENV_SHA256)
            os.environ[ENV_SHA256] = sha256_file(path)
            try:
                extractor = make_extractor("inception", str(path), offline=True)
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
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    p.add_argument("--inception-weights", default="")
    p.add_argument("--inception-images", type=int, default=256)
    p.add_argument("--frechet-variants", action="store_true", help="time the other ways too")
    p.add_argument("--skip-classifier", action="store_true")
    p.add_argument("--skip-inception", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "fid_speed.json"))
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print_machine()
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    report: dict[str, object] = {"repeats": args.repeats, "load_average_before": load_before}
    if not args.skip_classifier:
        fid = classifier_fid_seconds(args.repeats)
        report["classifier_fid_10k"] = fid
        print(f"classifier FID of 10,000 MNIST samples, sampling included: {fid['seconds']:.2f} s "
              f"({fid['extractor']}; target <= 10 s)")  # fmt: skip
    fd = frechet_2048(args.repeats)
    report["frechet_2048"] = fd
    print(f"Fréchet distance of 2,048-d statistics: {fd['seconds']:.3f} s wall, "
          f"{fd['cpu_seconds']:.3f} s CPU (target <= 1 s)")  # fmt: skip
    if args.frechet_variants:
        variants = frechet_variants(args.repeats)
        report["frechet_2048_variants"] = variants
        for name, r in variants.items():
            print(f"  tr sqrt term, {name}: {r['seconds']:.3f} s wall, "
                  f"{r['cpu_seconds']:.3f} s CPU, value {r['value']:.10g}")  # fmt: skip
    if not args.skip_inception:
        inc = inception_images_per_second(args.inception_weights, args.inception_images)
        report["inception"] = inc
        print(f"Inception features: {float(inc['images_per_s']):.1f} images/s "
              f"({inc['images']} images; network: {inc['network']})")  # fmt: skip
    load_after = os.getloadavg()
    report["load_average_after"] = load_after
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    write_results(args.out, report, script=__file__, argv=argv)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
