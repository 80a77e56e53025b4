"""``gannet figure ...``: the paper's Figures 1-3 from gannet's own runs (see docs/figures.md).

The drawing lives in :mod:`gannet.figures`; these handlers only check arguments, load the run
and write files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figure",
        help="draw the paper's figures (samples + nearest neighbours, interpolation, 1-D toy)",
        description="Draw the figures of Goodfellow et al. (2014) from gannet runs: "
        "'samples' (Figure 2), 'interpolate' (Figure 3), 'toy1d' (Figure 1), and 'classes' "
        "(per-class samples of a conditional run), 'style-mixing' (stylegan-g runs).",
    )
    figures = p.add_subparsers(dest="figure", metavar="FIGURE")
    figures.required = True

    s = figures.add_parser(
        "samples",
        help="Figure 2: samples with each row's nearest training example",
        description="A grid of generator samples, ROWS x (COLS - 1), then one outlined column "
        "(yellow, as in the paper) holding, for the sample just left of it, its nearest "
        "training example: exact Euclidean distance in pixel space over the run's whole "
        "training set (the rows it was trained on). Shows whether G copies training images. "
        "Image runs only.",
    )
    s.add_argument("run", help="run folder (from 'gannet train')")
    s.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    s.add_argument("--n", type=int, default=5, metavar="ROWS", help="rows (default 5)")
    s.add_argument(
        "--cols",
        type=int,
        default=6,
        help="columns including the neighbour column (default 6: 5 samples + 1 neighbour)",
    )
    s.add_argument("--seed", type=int, default=None, help="noise seed (default: from the run)")
    s.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    s.add_argument("--data-dir", metavar="DIR", help="folder holding the run's dataset files")
    s.add_argument(
        "--batch",
        type=int,
        default=2048,
        help="training rows per block of the distance computation (bounds memory; default 2048)",
    )
    s.set_defaults(handler=_samples)

    i = figures.add_parser(
        "interpolate",
        help="Figure 3: images along paths between noise vectors",
        description="Each row shows G(z) for STEPS points from one noise vector z0 to "
        "another z1, both drawn from the run's prior: linear (the paper's Figure 3) or, "
        "with --slerp, spherical. Slerp is meant for a Gaussian prior (model.noise = "
        "'normal'), whose samples lie near a sphere the linear midpoint cuts inside; for "
        "the uniform prior its points are clamped into the cube [-sqrt 3, sqrt 3]^d G was "
        "trained on. Image runs only.",
    )
    i.add_argument("run", help="run folder (from 'gannet train')")
    i.add_argument("--out", metavar="FILE.png", help="PNG file to write")
    i.add_argument(
        "--animate",
        metavar="WALK.gif|WALK.mp4",
        help="write a looping latent walk instead: slerp through --keys seeded noise vectors "
        "(or through --through files), --steps frames a leg (MP4 needs the video extra)",
    )
    i.add_argument("--keys", type=int, default=4, help="--animate: seeded key latents (4)")
    i.add_argument(
        "--through",
        nargs="+",
        metavar="LATENT.npz",
        help="--animate: walk through these 'gannet project' latents instead of seeds",
    )
    i.add_argument("--fps", type=float, default=12.0, help="--animate: frames a second (12)")
    i.add_argument("--class", dest="label", type=int, help="--animate, conditional runs: class")
    i.add_argument("--rows", type=int, default=8, help="pairs of noise vectors (default 8)")
    i.add_argument(
        "--steps",
        type=int,
        default=None,
        help="images per row, ends included (10); with --animate, frames a leg (24)",
    )
    i.add_argument("--slerp", action="store_true", help="spherical instead of linear paths")
    i.add_argument("--seed", type=int, default=None, help="noise seed (default: from the run)")
    i.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    i.set_defaults(handler=_interpolate)

    c = figures.add_parser(
        "classes",
        help="conditional runs: a grid with one row of samples per class",
        description="Samples of a conditional run (model.conditional = true), one row per "
        "class; column j uses the same noise vector in every row, so it shows what the class "
        "alone changes. Runs on 1-D / 2-D data get a plot coloured by class instead.",
    )
    c.add_argument("run", help="run folder (from 'gannet train')")
    c.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    c.add_argument(
        "--n",
        type=int,
        default=None,
        metavar="PER_CLASS",
        help="samples per class (default 10 for images, 250 for 1-D / 2-D data)",
    )
    c.add_argument("--seed", type=int, default=None, help="noise seed (default: from the run)")
    c.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    c.set_defaults(handler=_classes)

    m = figures.add_parser(
        "style-mixing",
        help="stylegan-g runs: coarse, middle and fine styles of one sample in another",
        description="The StyleGAN paper's style-mixing figure: the top row holds COLS column "
        "sources, the left column ROWS row sources, three times (one block of rows each for "
        "the coarse, middle and fine thirds of G's layers, from 4 x 4 up); each cell is its "
        "column source with that band's styles taken from its row source. Unconditional "
        "stylegan-g runs only; noise inputs fixed (eval mode).",
    )
    m.add_argument("run", help="run folder (from 'gannet train')")
    m.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    m.add_argument("--rows", type=int, default=3, help="row sources per band (default 3)")
    m.add_argument("--cols", type=int, default=5, help="column sources (default 5)")
    m.add_argument(
        "--truncation", type=float, default=None, metavar="PSI", help="truncation psi in (0, 1]"
    )
    m.add_argument("--seed", type=int, default=None, help="noise seed (default: from the run)")
    m.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    m.set_defaults(handler=_style_mixing)

    t = figures.add_parser(
        "toy1d",
        help="Figure 1: a 1-D GAN trained now, at four moments of its run",
        description="Train a small GAN (uniform 1-D z, ReLU MLP G, LeakyReLU MLP D, "
        "non-saturating loss, Adam, k = 2) on 1-D Gaussian data with gannet's own trainer, "
        "and draw four real moments: (a) D partly accurate, (b) after D-only steps (D "
        "approaching D* = p_data / (p_data + p_g)), (c) after G steps against that D, (d) "
        "near equilibrium (p_g ~ p_data, D ~ 1/2). Data density black dotted, p_g green, D "
        "blue dashed, arrows z -> x = G(z). About 20 s on 2 CPU cores.",
    )
    t.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    t.add_argument(
        "--steps", type=int, default=None, help="generator steps to train (default 1200)"
    )
    t.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    t.add_argument(
        "--animate",
        metavar="FILE",
        help="also write the whole run, one frame per recorded moment: FILE.gif (Pillow) "
        "or FILE.mp4 (needs ffmpeg)",
    )
    t.add_argument(
        "--run-dir",
        metavar="DIR",
        help="keep the training run in this new folder (default: a temporary folder)",
    )
    t.set_defaults(handler=_toy1d)


def _png(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise GannetError(f"--out {path!r} must end in .png")
    return out


def _samples(args: argparse.Namespace) -> int:
    from gannet.figures import image_shape, png_scale, samples_with_neighbours
    from gannet.files.pictures import save_png
    from gannet.trained.run import load_run

    out = _png(args.out)
    if args.n < 1 or args.cols < 2:
        raise GannetError("--n must be at least 1 and --cols at least 2 (samples + neighbour)")
    if args.batch < 1:
        raise GannetError("--batch must be at least 1")
    run = load_run(args.run, checkpoint=args.checkpoint)
    shape = image_shape(run)
    picture = samples_with_neighbours(
        run, args.n, args.cols, args.seed, data_dir=args.data_dir, batch=args.batch
    )
    save_png(picture, out, scale=png_scale(shape[-1]))
    print(f"wrote {args.n} x {args.cols - 1} samples and their nearest neighbours to {out}")
    return 0


def _interpolate(args: argparse.Namespace) -> int:
    from gannet.figures import image_shape, interpolation_grid, png_scale
    from gannet.files.pictures import save_png
    from gannet.trained.run import load_run

    if (args.out is None) == (args.animate is None):
        raise GannetError("give --out FILE.png (a grid) or --animate WALK.gif|WALK.mp4 (a walk)")
    if args.animate is not None:
        return _animate(args)
    args.steps = 10 if args.steps is None else args.steps
    out = _png(args.out)
    if args.rows < 1 or args.steps < 2:
        raise GannetError("--rows must be at least 1 and --steps at least 2 (the endpoints)")
    run = load_run(args.run, checkpoint=args.checkpoint)
    shape = image_shape(run)
    if args.slerp and run.config.model.noise == "uniform":
        print(
            "note: slerp is meant for a Gaussian prior; this run's prior is uniform, so the "
            "path is clamped into [-sqrt 3, sqrt 3]^d"
        )
    picture = interpolation_grid(run, args.rows, args.steps, args.slerp, args.seed)
    save_png(picture, out, scale=png_scale(shape[-1]))
    kind = "spherical" if args.slerp else "linear"
    print(f"wrote {args.rows} {kind} interpolations of {args.steps} steps to {out}")
    return 0


MAX_FRAMES = 3_000
"""The most frames ``figure interpolate --animate`` writes."""


def _animate(args: argparse.Namespace) -> int:
    from gannet.figures.walk import frames_of, latent_walk, seed_walk
    from gannet.trained.projection import read_latent
    from gannet.trained.projection.files import scale_for
    from gannet.trained.run import load_run
    from gannet.trained.video import check_animation_path, count_frames, write_animation

    out = check_animation_path(args.animate)
    steps = 24 if args.steps is None else args.steps
    if not 0 < args.fps <= 100:
        raise GannetError(f"--fps must be a number in (0, 100], got {args.fps}")
    keys = len(args.through) if args.through else args.keys
    if not (2 <= keys <= 1000 and 1 <= steps <= 10_000 and keys * steps <= MAX_FRAMES):
        raise GannetError(
            f"a walk needs 2 to 1,000 key latents and 1 to 10,000 --steps a leg, "
            f"{MAX_FRAMES:,} frames at most; got {keys} keys x {steps} steps"
        )
    latents = [read_latent(p) for p in args.through] if args.through else None
    run = load_run(args.run, checkpoint=args.checkpoint)
    if latents is not None:
        images = latent_walk(run, latents, steps)
        what = f"{len(latents)} projected latents"
    else:
        images = seed_walk(run, args.keys, steps, args.seed, args.label)
        what = f"{args.keys} seeded noise vectors"
    write_animation(out, frames_of(images, scale_for(images.shape[-1])), args.fps)
    shown = count_frames(out)
    merged = f" ({len(images) - shown} still frames merged)" if shown != len(images) else ""
    print(f"wrote a {shown}-frame looping walk through {what} ({steps} a leg){merged} to {out}")
    return 0


def _classes(args: argparse.Namespace) -> int:
    from gannet.figures import class_samples, image_shape, png_scale
    from gannet.files.pictures import image_grid, save_png, save_samples
    from gannet.trained.run import load_run

    out = _png(args.out)
    if args.n is not None and args.n < 1:
        raise GannetError("--n must be at least 1")
    run = load_run(args.run, checkpoint=args.checkpoint)
    probe = run.sample(1, seed=0)
    per_class = args.n or (10 if probe.dim() == 4 else 250)
    samples, labels = class_samples(run, per_class, args.seed)
    if probe.dim() == 4:
        shape = image_shape(run)
        save_png(image_grid(samples, nrow=per_class), out, scale=png_scale(shape[-1]))
    else:
        save_samples(samples, out, labels=labels)
    print(f"wrote {run.num_classes} classes x {per_class} samples to {out}")
    return 0


def _style_mixing(args: argparse.Namespace) -> int:
    from gannet.figures import image_shape, png_scale, style_mixing_grid
    from gannet.files.pictures import save_png
    from gannet.trained.run import load_run
    from gannet.trained.truncation import check_truncation

    out = _png(args.out)
    if args.rows < 1 or args.cols < 1:
        raise GannetError("--rows and --cols must be at least 1")
    run = load_run(args.run, checkpoint=args.checkpoint)
    check_truncation(run.generator, args.truncation, f"run {str(run.path)!r}")
    shape = image_shape(run)
    picture = style_mixing_grid(run, args.rows, args.cols, args.seed, args.truncation)
    save_png(picture, out, scale=png_scale(shape[-1]))
    print(f"wrote {3 * args.rows} x {args.cols} style mixes (coarse, middle, fine) to {out}")
    return 0


def _toy1d(args: argparse.Namespace) -> int:
    from gannet.figures import (
        TOY1D_STEPS,
        animate_toy1d,
        check_animation_path,
        draw_toy1d,
        train_toy1d,
    )

    out = _png(args.out)
    if args.animate:
        check_animation_path(args.animate)  # fail before training, not after
    if args.run_dir and Path(args.run_dir).exists() and any(Path(args.run_dir).iterdir()):
        raise GannetError(f"--run-dir {args.run_dir!r} exists and is not empty; choose another")
    started = time.perf_counter()
    history = train_toy1d(args.steps or TOY1D_STEPS, args.seed, args.run_dir)
    draw_toy1d(history, out)
    end = history.frames[history.panels["d"]]
    print(
        f"wrote {out}: {end.step} generator steps in {history.seconds:.1f} s, "
        f"final JSD(p_data || p_g) = {end.jsd:.4f} nats"
    )
    if args.animate:
        frames = animate_toy1d(history, args.animate)
        print(f"wrote {args.animate}: {frames} frames")
    if history.run_dir is not None:
        print(f"run directory: {history.run_dir}")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0
