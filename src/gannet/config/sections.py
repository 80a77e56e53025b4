"""The five sections of a run's configuration (``data``, ``model``, ``loss``, ``optim``,
``train``): every key with its type, default (the paper's MNIST setup), range and meaning.
:class:`gannet.config.Config` holds one of each; this module only declares them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gannet.config.ranges import MAX_INT, limits, ranged


@dataclass
class DataConfig:
    """Which data to train on and where to find it."""

    name: str = "mnist"
    """Dataset registry name: mnist, fashion-mnist, cifar10, folder, gaussian-1d, mixture-2d."""
    data_dir: str = ""
    """Folder holding the files ('' = search GANNET_DATA, the cache dir and system folders)."""
    download: bool = True
    """Download missing files from the official mirrors (checksums verified) when online."""
    validation_size: int = ranged(10000, 0)
    """Rows taken from the END of the training file as the validation split (authors' code);
    image folders hold out this many images by a seeded draw (the same number per class)."""
    subset: int = ranged(0, 0)
    """Train on only the first N training rows (0 = all); for quick tests."""
    labels: int = ranged(0, 0, note="0 = off; the semi-supervised loss needs it")
    """loss.name = 'semi-supervised': keep the labels of only N training rows (N / K of each
    of the K classes, chosen by train.seed); the rest of the training set is unlabelled."""
    image_size: int = ranged(64, 1, 1024)
    """Side length images are resized to (``folder`` dataset only)."""
    resize: Literal["crop", "pad", "stretch"] = "crop"
    """``folder``: how a non-square image is made square: crop (the centred square), pad
    (the whole image letterboxed on black) or stretch (the whole image, aspect not kept)."""
    strict: bool = False
    """``folder`` dataset: refuse a folder with unreadable image files (false: skip them with
    one warning line)."""
    mixture: Literal["ring", "grid"] = "ring"
    """mixture-2d: 8 Gaussians on a ring (radius 2, std 0.02) or 25 on a 5x5 grid (std 0.05)."""
    n_samples: int = ranged(50000, 1, 10_000_000)
    """Synthetic datasets: number of training points drawn."""
    mean: float = ranged(4.0)
    """gaussian-1d: mean of the data."""
    std: float = ranged(0.5, 0, open_low=True)
    """gaussian-1d: standard deviation of the data."""


@dataclass
class ModelConfig:
    """Generator, discriminator and noise prior."""

    generator: str = "paper-mlp"
    discriminator: str = "paper-maxout"
    z_dim: int = ranged(100, 1, 10_000)
    noise: Literal["uniform", "normal"] = "uniform"
    """uniform on [-sqrt(3), sqrt(3)] (paper, unit variance) or standard normal."""
    g_hidden: list[int] = field(
        default_factory=lambda: [1200, 1200], metadata=limits(1, 16_384, length=(0, 32))
    )
    d_hidden: list[int] = field(
        default_factory=lambda: [240, 240], metadata=limits(1, 16_384, length=(0, 32))
    )
    d_pieces: int = ranged(5, 1, 64)
    """Maxout pieces per unit."""
    g_init_range: float = ranged(0.05, 0)
    """Generator weights uniform in +-g_init_range."""
    d_init_range: float = ranged(0.005, 0)
    """Discriminator weights uniform in +-d_init_range."""
    d_input_keep: float = ranged(0.8, 0, 1, open_low=True)
    """Dropout: probability of keeping a discriminator input (scaled by 1/p)."""
    d_hidden_keep: float = ranged(0.5, 0, 1, open_low=True)
    """Dropout: probability of keeping a discriminator hidden unit (scaled by 1/p)."""
    output_bias_from_data: bool = True
    """Initialise the generator's output bias from the training pixel marginals (paper-mlp)."""
    g_channels: int = ranged(64, 1, 1024)
    """dcgan-g: base width; the layer before the output has this many channels, each layer
    below it twice as many. ddpm-unet: the U-Net's width at full resolution."""
    d_channels: int = ranged(64, 1, 1024)
    """dcgan-d: base width; the first conv layer has this many channels, each one after it
    twice as many."""
    d_norm: Literal["batch", "layer", "none"] = "batch"
    """dcgan-d: normalisation after every conv layer but the first (batch: DCGAN; layer or
    none for critics with a gradient penalty, which must not use batch statistics)."""
    conditional: bool = False
    """Conditional GAN: G and D both receive the class label (needs a labelled dataset; the
    number of classes comes from the data)."""
    label_embedding: int = ranged(10, 0, 4096, note="0 = a fixed one-hot code")
    """Conditional: size of the learned label embedding fed to G (concatenated to z) and, with
    d_conditioning = 'concat', to D (0 = a fixed one-hot code, as in Mirza & Osindero 2014)."""
    d_conditioning: Literal["concat", "projection"] = "concat"
    """Conditional: how D sees the label: concat (appended to the flattened input, or label
    maps as extra channels for dcgan-d) or projection (Miyato & Koyama 2018)."""
    style_dim: int = ranged(128, 1, 4096)
    """stylegan-g: width of the mapping network and size of w (StyleGAN2: 512)."""
    mapping_layers: int = ranged(2, 1, 32)
    """stylegan-g: layers of the mapping network z -> w (StyleGAN2: 8)."""
    style_mixing: float = ranged(0.9, 0, 1, note="0 = off")
    """stylegan-g: probability that a training batch uses two w's with a random crossover
    layer (style mixing regularisation; StyleGAN2: 0.9)."""
    max_channels: int = ranged(256, 1, 4096)
    """stylegan-g/-d: cap on a layer's width (g_channels / d_channels at the image's
    resolution, doubling at each halving; StyleGAN2: 512)."""
    mbstd_group: int = ranged(4, 0, 1024, note="0 = off")
    """stylegan-d: group size of the minibatch standard-deviation layer (0 = off)."""
    d_classes: int = ranged(10, 2, 4096)
    """salimans-d (semi-supervised): class logits D outputs, one per class of the data."""
    diffusion_steps: int = ranged(1000, 2, 100_000)
    """ddpm-unet: T, the steps of the forward (noising) process (Ho et al., 2020: 1000)."""
    beta_schedule: Literal["linear", "cosine"] = "linear"
    """ddpm-unet: linear (Ho et al.: beta from 1e-4 to 0.02 at T = 1000) or cosine
    (Nichol & Dhariwal, 2021)."""
    sample_steps: int = ranged(50, 1, 100_000)
    """ddpm-unet: reverse steps per sample, evenly spaced over T (sample grids, gannet
    sample, evaluation; at most diffusion_steps; ``gannet sample --steps`` overrides it)."""
    sampler: Literal["ddim", "ancestral"] = "ddim"
    """ddpm-unet: ddim (Song et al., 2021, eta = 0: deterministic given the noise) or
    ancestral (Ho et al.'s Algorithm 2, fresh noise at every step)."""


@dataclass
class LossConfig:
    """The adversarial loss and the discriminator's regularizers (see docs/losses.md)."""

    name: str = "non-saturating"
    """Loss registry name: minimax (equation 1, saturating), non-saturating, wasserstein,
    wgan-gp, hinge or least-squares."""
    d_cost_scale: float = ranged(1.0, 0, open_low=True)
    """Multiplies the discriminator's cost (the authors' code used 0.5); penalties are added
    after scaling."""
    gp_weight: float = ranged(10.0, 0, note="the gradient penalty's lambda; the paper used 10")
    """wgan-gp: lambda of the gradient penalty lambda * (||grad D(xhat)|| - 1)^2 (paper: 10).
    Must be > 0 for wgan-gp; other losses ignore it (use r1_gamma for them)."""
    r1_gamma: float = ranged(0.0, 0, note="0 turns R1 off")
    """R1 penalty gamma/2 * E||grad_x D(x)||^2 on real data (Mescheder et al., 2018), added
    to D's cost for any loss; 0 = off."""
    r1_every: int = ranged(1, 1, note="1 = every step")
    """Lazy R1 (StyleGAN2): apply R1 only on the D steps of iterations whose index
    (generator steps done) is a multiple of this, with gamma multiplied by it (StyleGAN2: 16)."""
    clip: float = ranged(0.0, note="0 = the loss's default, < 0 = off")
    """Clip every D parameter to [-clip, clip] after each D update (and once at the start).
    0 = the loss's default (0.01 for wasserstein, off otherwise); < 0 = off."""
    spectral_norm: bool = False
    """Spectral normalisation (Miyato et al., 2018) of every Linear/Conv2d/ConvTranspose2d
    weight of D, one power iteration per forward pass."""


@dataclass
class OptimConfig:
    """Optimizer and its schedules, shared by G and D (each gets its own instance)."""

    name: Literal["paper-sgd", "adam", "rmsprop"] = "paper-sgd"
    """paper-sgd: inc = mu*inc - lr*grad with the paper's lr decay and momentum ramp;
    rmsprop: torch.optim.RMSprop defaults (alpha 0.99, eps 1e-8), WGAN's choice (lr 5e-5)."""
    lr: float = ranged(0.1, 0, open_low=True)
    lr_decay: float = ranged(
        1.000004, 1, note="lr is divided by it after every update; 1 = constant"
    )
    """paper-sgd: lr is divided by this after every update."""
    lr_min: float = ranged(1e-6, 0)
    momentum_init: float = ranged(0.5, 0, 1, open_high=True)
    momentum_final: float = ranged(0.7, 0, 1, open_high=True)
    momentum_start: int = ranged(1, 1, note="a 1-based epoch")
    """paper-sgd: momentum rises linearly from momentum_init at this epoch ..."""
    momentum_saturate: int = ranged(250, 1, note="a 1-based epoch")
    """... to momentum_final at this epoch (1-based)."""
    betas: list[float] = field(
        default_factory=lambda: [0.5, 0.999], metadata=limits(0, 1, open_high=True, length=(2, 2))
    )
    """adam: (beta1, beta2)."""
    g_lr_scale: float = ranged(1.0, 0, open_low=True)
    """Generator lr = lr * g_lr_scale."""
    lr_schedule: Literal["paper", "linear"] = "paper"
    """paper: paper-sgd divides lr by lr_decay after every update, adam and rmsprop keep it
    constant; linear (any optimizer): lr falls linearly from its initial value to 0 at the
    run's last generator step (train.max_steps, else train.epochs x iterations per epoch)."""


@dataclass
class TrainConfig:
    """Algorithm 1 and the run around it."""

    schedule: Literal["alternating", "simultaneous"] = "alternating"
    """alternating: Algorithm 1 (k D steps, then one G step); simultaneous: authors' code."""
    k: int = ranged(1, 1, 1000)
    """Discriminator steps per generator step (alternating); WGAN's n_critic (5 in the WGAN
    and WGAN-GP papers)."""
    batch_size: int = ranged(100, 1, 65_536)
    batch_gpu: int = ranged(0, 0, 65_536, note="0 = the whole batch at once")
    """Micro-batch: each update runs D and G on batch_gpu examples at a time and sums the
    gradients (accumulation) up to the same global batch_size (0 = no accumulation; must
    divide each process's share of batch_size)."""
    epochs: int = ranged(5, 1)
    """Stop after this many epochs (one epoch = one pass of D over the training data)."""
    max_steps: int = ranged(0, 0, note="0 = no limit")
    """Stop after this many generator steps (0 = no limit)."""
    max_minutes: float = ranged(0.0, 0, note="0 = no limit")
    """Stop (checkpointed, status finished) once this many minutes of training have run,
    summed over sessions (the iterations' own time: not checkpoints or evaluations); raise it
    on resume to continue. For runs compared at one time budget."""
    seed: int = ranged(0, 0, MAX_INT)
    device: str = "auto"
    """auto (CUDA when present, else CPU), cpu, cuda, cuda:N."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """bf16: autocast matmuls to bfloat16, fp32 master weights (on a CPU only where it has
    native bf16: AVX-512-BF16 or AMX); fp16: float16 autocast with a gradient scaler (CUDA)."""
    precision_g: Literal["", "fp32", "bf16", "fp16"] = ""
    """G's precision ("" = train.precision's choice for G)."""
    precision_d: Literal["", "fp32", "bf16", "fp16"] = ""
    """D's precision ("" = train.precision's choice for D: with "bf16", D runs in the
    measured default of docs/scaling.md, "Mixed precision")."""
    compile: bool = False
    """torch.compile G's and D's forward passes (a one-off compile: minutes on a small CPU)."""
    sync_bn: bool = False
    """Distributed CUDA runs: batch norm statistics over the whole global batch
    (SyncBatchNorm) instead of each process's share."""
    threads: int = ranged(0, 0, 1024, note="0 = PyTorch's default")
    """CPU threads for PyTorch (0 = leave PyTorch's default)."""
    log_every: int = ranged(100, 1)
    """Write a metrics.jsonl line every N generator steps."""
    checkpoint_every: int = ranged(1000, 1)
    """Write a checkpoint every N generator steps (and at the epoch ends that are due:
    epoch_end_steps, epoch_end_seconds)."""
    epoch_end_steps: int = ranged(500, 1)
    """An epoch end writes the checkpoint, the sample grid and curves.png only when it is
    the last epoch, or this many generator steps ran since they were last written, or ..."""
    epoch_end_seconds: float = ranged(60.0, 0, open_low=True)
    """... this many seconds of training did (so a one-step epoch of a few-shot data set
    does not pay them every step; see gannet.training.hooks.schedule)."""
    snapshot_every: int = ranged(0, 0, note="0 = never")
    """Keep G and D weights in snapshots/ every N epochs, for evaluation later (0 = never)."""
    ema: float = ranged(0.0, 0, 1, open_high=True, note="0 = off; e.g. 0.999")
    """Keep an exponential moving average of G's weights with this decay (0 = off; e.g.
    0.999). Sample grids, snapshots, ``gannet sample`` and evaluation then use the average."""
    d_ema: float = ranged(0.0, 0, 1, open_high=True, note="0 = off; e.g. 0.9999")
    """Semi-supervised runs: keep an exponential moving average of D's weights with this
    decay (Salimans et al. score the average; their code: 0.9999), ramped up as
    min(d_ema, (1 + t) / (10 + t)) at generator step t so the random start fades.
    ``gannet eval classify`` then scores the average (``--raw``: D's own weights)."""
    ema_rampup: float = ranged(0.0, 0, note="0 = off; StyleGAN2-ADA uses 0.05")
    """Ramp the average up (StyleGAN2-ADA): its half-life, in generator steps, is at most
    ema_rampup x the steps done, so early averages do not hold on to the random start."""
    n_fixed_samples: int = ranged(100, 1, 10_000)
    """Size of the fixed noise batch drawn as a sample grid after each epoch."""
    progress: Literal["auto", "bar", "lines", "none"] = "auto"
    """auto: a progress bar on a terminal, plain log lines otherwise."""
    tensorboard: bool = False
    """Also write the run as TensorBoard event files in ``RUN/tensorboard/`` (every
    metrics.jsonl scalar, the sample grids, evaluation results): ``tensorboard --logdir RUN``.
    Needs ``pip install 'gannet[tensorboard]'``."""
    mode_check: bool = True
    """mixture-2d (ring, grid): at every logging interval, draw 2,500 samples from fixed
    noise, record ``modes_covered`` and ``high_quality`` in metrics.jsonl, and warn when the
    modes covered fall 2 or more below the best so far. mnist and fashion-mnist, when gannet's
    classifier is cached (``gannet classifier train DATASET``): the same every 1,000 steps or
    more, with the classes covered by 1,000 samples (and ``class_kl``). Other data: no effect."""
    eval_every: int = ranged(0, 0, note="0 = off")
    """Generator steps between feature-metric evaluations during training (0 = off): the
    first logging interval reaching each multiple measures ``eval_metrics`` on G_eval (EMA
    when on) with 10,000 samples (fewer if the test split is smaller) against the test
    split, into metrics.jsonl and curves.png. A private seeded generator draws the noise, so
    resuming stays bit-exact."""
    eval_metrics: list[str] = field(default_factory=lambda: ["fid"])
    """Feature metrics for ``eval_every``: fid, kid or prc, optionally with an extractor
    (fid_inception, kid_mnist-classifier); bare names use the dataset's gannet classifier."""
    init_from: str = ""
    """Fine-tuning: a run folder (its checkpoint.pt) or a checkpoint or snapshot file whose
    G, D and EMA weights this run starts from ('' = random initialisation); the optimizers
    start fresh. Read once, when the run starts."""
    freeze_d: int = ranged(0, 0, 1024, note="0 = none")
    """FreezeD (Mo et al., 2020): keep the parameters of D's first N blocks (from the input)
    fixed; needs train.init_from. Blocks per model: see docs/finetuning.md."""
    augment: str = ""
    """DiffAugment (Zhao et al., 2020), images only: comma-separated policies from color,
    translation, cutout applied differentiably to every image D sees in training, real and
    generated ('' = off; see gannet.game.augment)."""
    augment_p: float | Literal["ada"] = ranged(1.0, 0, 1, note='or "ada"')
    """The probability that each train.augment policy is applied to each image (1 =
    DiffAugment: always), or "ada": adapted during training from D's overfitting (Karras et
    al., 2020; see gannet.game.ada and docs/diffaugment.md), starting at 0 and checkpointed."""
    ada_target: float = ranged(0.6, 0, 1, open_high=True)
    """ADA: the target of r_t = E[sign(D(x_real))] (the paper's 0.6)."""
    ada_interval: int = ranged(4, 1, 10_000)
    """ADA: real minibatches between adjustments of p (the paper's N = 4)."""
    ada_kimg: float = ranged(500.0, 0, open_low=True)
    """ADA: speed, in thousands of real images for p to go from 0 to 1 (the paper's 500;
    small CPU runs need far less, e.g. 20)."""
    doctor: bool = True
    """Run the doctor's record-based detectors (gannet.doctor) at every logging interval:
    one warning line with what to try when a finding turns warning or failing, and the
    findings that are not ok in metrics.jsonl (``doctor``). Never changes training."""
    on_divergence: Literal["stop", "rollback"] = "stop"
    """When a loss or weight turns NaN/Inf: stop (keeping the last finite checkpoint), or
    roll back to the last checkpoint, halve optim.lr and continue (at most
    train.max_rollbacks times; also when the logged FID/KID collapses to 3x its best),
    recorded in metrics.jsonl and run.json."""
    max_rollbacks: int = ranged(3, 1, 100)
    """train.on_divergence = "rollback": rollbacks allowed before the run stops."""
