"""The Inception network the field's FID uses, loaded offline from a verified file.

``inception-2015-12-05.pt`` is NVIDIA's TorchScript translation of the 2015 TensorFlow
Inception graph used by StyleGAN2-ADA, StyleGAN3 and EDM (and clean-fid). It loads with
``torch.jit.load`` and needs no torchvision. gannet looks for it, in this order, at

1. ``--inception-weights FILE`` (the ``path`` argument),
2. the ``GANNET_INCEPTION`` environment variable,
3. ``<gannet cache>/inception/inception-2015-12-05.pt``.

When 1 and 2 are not given and the cache has no copy, gannet downloads it, as it downloads
datasets (:func:`gannet.data.locate.download`): from :data:`SOURCE_URL` into a temporary
file beside the cache path, with a progress bar, its SHA-256 checked before it is renamed
into place. Not when offline (``offline=True``, ``--offline`` or ``GANNET_OFFLINE=1``): then
a missing file is one GannetError line saying where to put it.

Before loading, the file's SHA-256 is compared with :data:`INCEPTION_SHA256` (the digest of
the file published at ``nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/``,
95,607,719 bytes, as pinned by e.g. k-diffusion's ``evaluation.py``); a different file is
refused. For tests only: ``GANNET_INCEPTION_SHA256`` replaces the expected digest (a
stand-in network; an FID measured so is not comparable with published ones) and
``GANNET_INCEPTION_URL`` the address it is downloaded from (a local test server).

Images are fed as StyleGAN2-ADA's metrics feed them: uint8 (N, 3, H, W) in [0, 255] at
their own resolution (the network resizes to 299x299 inside), a grayscale image repeated to
three channels, called as ``net(images, return_features=True)`` for the 2,048 pool features.
gannet's images in [0, 1] become uint8 as ``floor(255 x + 0.5)``, the same rounding as
their ``x * 127.5 + 128`` for images in [-1, 1].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gannet.errors import GannetError

FILENAME = "inception-2015-12-05.pt"
INCEPTION_SHA256 = "f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4"
SOURCE_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/" + FILENAME
ENV_PATH = "GANNET_INCEPTION"
ENV_SHA256 = "GANNET_INCEPTION_SHA256"
ENV_URL = "GANNET_INCEPTION_URL"
"""Test-only: the address the file is downloaded from instead of :data:`SOURCE_URL`."""


def default_path() -> Path:
    """Where gannet looks last: the cache folder."""
    from gannet.data.locate import cache_dir

    return cache_dir("inception") / FILENAME


def expected_sha256() -> str:
    return os.environ.get(ENV_SHA256, "").strip().lower() or INCEPTION_SHA256


def source_url() -> str:
    """:data:`SOURCE_URL`, or ``$GANNET_INCEPTION_URL`` (test-only)."""
    return os.environ.get(ENV_URL, "").strip() or SOURCE_URL


def _how_to_bring_it() -> str:
    return (
        f"copy it from {SOURCE_URL} onto this machine and put it at {default_path()}, or "
        f"name it with --inception-weights FILE or ${ENV_PATH} (see docs/evaluation.md)"
    )


def resolve_path(
    path: str | Path | None = None, offline: bool = False, progress: str = "auto"
) -> Path:
    """The file to load: ``path``, else ``$GANNET_INCEPTION``, else the cache, downloaded
    there when missing unless ``offline`` (or ``GANNET_OFFLINE=1``). A file named by
    ``path`` or ``$GANNET_INCEPTION`` that does not exist, a missing file offline, or a
    failed download is one GannetError line naming the file, its SHA-256 and what to do."""
    from gannet.data.locate import download, offline_requested

    if path:
        chosen, how = Path(path).expanduser(), "--inception-weights"
    elif os.environ.get(ENV_PATH):
        chosen, how = Path(os.environ[ENV_PATH]).expanduser(), f"${ENV_PATH}"
    else:
        chosen, how = default_path(), "the cache"
    if chosen.is_file():
        return chosen
    where = f"the Inception network {FILENAME} (SHA-256 {INCEPTION_SHA256}) is not at {chosen}"
    if how != "the cache":
        raise GannetError(f"{where} (from {how}); {_how_to_bring_it()}")
    if offline or offline_requested():
        raise GannetError(
            f"{where} and gannet is offline (--offline or GANNET_OFFLINE=1), so it was not "
            f"downloaded; {_how_to_bring_it()}"
        )
    url = source_url()
    try:
        download([url], chosen, None, sha256=expected_sha256(), progress=progress)
    except GannetError as e:
        raise GannetError(
            f"{where}, and downloading it failed ({e}); check the network, or {_how_to_bring_it()}"
        ) from None
    return chosen


def sha256_file(path: Path) -> str:
    """The file's SHA-256 (:func:`gannet.data.locate.sha256_file`)."""
    from gannet.data.locate import sha256_file as digest

    return digest(path)


def load_inception(
    path: str | Path | None = None, device: str | torch.device = "cpu", offline: bool = False
) -> tuple[Any, str]:
    """(the TorchScript network in eval mode on ``device``, its SHA-256), after checking the
    digest (downloading the file first when :func:`resolve_path` says so); a wrong or
    unloadable file is one GannetError line."""
    chosen = resolve_path(path, offline)
    digest = sha256_file(chosen)
    want = expected_sha256()
    if digest != want:
        raise GannetError(
            f"{chosen} is not {FILENAME}: its SHA-256 is {digest}, expected {want}; replace "
            f"it with the file from {SOURCE_URL}"
        )
    try:
        net = torch.jit.load(str(chosen), map_location=torch.device(device))
    except (RuntimeError, ValueError, OSError) as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GannetError(f"cannot load {chosen} as TorchScript ({text[:160]})") from None
    return net.eval(), digest


def to_uint8(images: Tensor) -> Tensor:
    """Images in [0, 1] (N, C, H, W) -> uint8 (N, 3, H, W): floor(255 x + 0.5), gray x3."""
    if images.dtype != torch.uint8:
        images = (images.float() * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return images


@torch.no_grad()
def inception_features(
    net: Any, images: Tensor, batch_size: int = 64, device: str | torch.device = "cpu"
) -> Tensor:
    """The pool features (N, 2048) of images in [0, 1] or uint8, in batches, float64 on
    the CPU."""
    out = []
    for start in range(0, len(images), batch_size):
        batch = to_uint8(images[start : start + batch_size]).to(device)
        out.append(net(batch, return_features=True).double().cpu())
    if not out:
        raise GannetError("no images to compute Inception features of")
    return torch.cat(out)
