"""Mixed precision: bf16 or fp16 autocast with fp32 master weights, and fp16's gradient
scaler; and the checks that keep a run off precisions its hardware only emulates.

* ``fp32``: nothing changes.
* ``bf16``: matmuls and convolutions autocast to bfloat16. On a CPU only where it has native
  bf16 (AVX-512-BF16 or AMX, as oneDNN reports): elsewhere bf16 is emulated, 10-100x slower
  than fp32, and the run is refused in one line rather than slowed down silently.
* ``fp16``: float16 autocast and one gradient scaler per network (D and G), whose state is
  checkpointed; for CUDA (a CPU has no fast float16).

Per network: ``train.precision_g`` and ``train.precision_d`` ("" = follow ``train.precision``)
choose each network's precision; :func:`resolve_policy` turns the three keys into one policy,
``{"g": ..., "d": ...}``. ``train.precision = "bf16"`` alone runs G in bf16 and D in
:data:`BF16_DEFAULT_D` (chosen by measurement: docs/scaling.md, "Mixed precision"). Each
update has its own autocast region per network (G's forward, then D's), so autocast's weight
cache casts each weight once per update and nothing else. When G computes in a lower precision
than D, D reads the real images rounded to G's dtype (:meth:`Precision.shared_grid`), so that
reals and fakes lie on one grid.

``GANNET_ALLOW_EMULATED_PRECISION=1`` lifts the refusals, for tests of the logic on any
machine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gannet.errors import GannetError

ALLOW_EMULATED = "GANNET_ALLOW_EMULATED_PRECISION"


def native_bf16_cpu() -> bool:
    """True when this CPU computes bf16 natively (AVX-512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a precision this device would only emulate (one line saying why)."""
    if os.environ.get(ALLOW_EMULATED) == "1":
        return
    if precision == "fp16" and device.type != "cuda":
        raise GannetError(
            "train.precision = 'fp16' needs a CUDA GPU: a CPU has no fast float16; use fp32, "
            "or bf16 on a CPU with AVX-512-BF16 or AMX"
        )
    if precision == "bf16" and device.type == "cpu" and not native_bf16_cpu():
        raise GannetError(
            "train.precision = 'bf16' would run 10-100x slower than fp32 on this CPU: it has "
            "no native bf16 (AVX-512-BF16 or AMX) and emulates it; use fp32 (or set "
            f"{ALLOW_EMULATED}=1 to run it anyway)"
        )


BF16_DEFAULT_D = "fp32"
"""D's precision when only ``train.precision = "bf16"`` is set (G then runs in bf16): the
policy that measured best on quality (docs/scaling.md, "Mixed precision")."""

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_policy(precision: str, precision_g: str = "", precision_d: str = "") -> dict[str, str]:
    """Each network's precision, ``{"g": ..., "d": ...}``: ``precision_g`` / ``precision_d``
    where set, else ``precision`` (with D in :data:`BF16_DEFAULT_D` for ``"bf16"``)."""
    default_d = BF16_DEFAULT_D if precision == "bf16" else precision
    return {"g": precision_g or precision, "d": precision_d or default_d}


class Precision:
    """Autocast and (fp16) gradient scaling for one run's D and G updates, per network."""

    def __init__(self, precision: str | dict[str, str], device: torch.device) -> None:
        policy = resolve_policy(precision) if isinstance(precision, str) else dict(precision)
        for value in set(policy.values()):
            check_precision(value, device)
        self.policy, self.device = policy, device
        self.scalers: dict[str, torch.amp.GradScaler] = {
            net: torch.amp.GradScaler(device.type) for net, p in policy.items() if p == "fp16"
        }

    def dtype_of(self, net: str = "both") -> torch.dtype | None:
        """The autocast dtype of ``net`` ("g" or "d"; None for fp32). "both": the common
        dtype when G and D share one, else None (fp32), for code that runs both in one pass."""
        if net == "both":
            g, d = (DTYPES[self.policy[n]] for n in ("g", "d"))
            return g if g == d else None
        return DTYPES[self.policy[net]]

    def autocast(self, net: str = "both") -> contextlib.AbstractContextManager[Any]:
        """The autocast context of ``net``'s forward passes (nothing for fp32)."""
        dtype = self.dtype_of(net)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def input_for(self, net: str, x: Tensor) -> Tensor:
        """``x`` in the dtype ``net``'s first layer reads: fp32 for an fp32 network (a bf16
        G output would not reach an fp32 D otherwise), the autocast dtype for a low-precision
        one (cast once here, so that a real batch and a fake one are joined in bf16 instead of
        promoted to fp32 and cast back). D's inputs are first put on G's grid
        (:meth:`shared_grid`)."""
        if not x.is_floating_point():
            return x
        if net == "d":
            x = self.shared_grid(x)
        return x.to(self.dtype_of(net) or torch.float32)

    @property
    def join_dtype(self) -> torch.dtype:
        """The dtype a real and a fake batch are joined in for one pass of D: D's autocast
        dtype when D computes in low precision (the real batch cast once, the fake one
        already there), else G's when G does (the fake's own dtype; the real batch is then
        on G's grid, :meth:`shared_grid`), else fp32."""
        return self.dtype_of("d") or self.dtype_of("g") or torch.float32

    def shared_grid(self, x: Tensor) -> Tensor:
        """``x`` (an input of D) on the grid of G's outputs: when G computes in a lower
        precision than D (G bf16, D fp32), a real image is rounded to G's dtype, so that D
        compares reals and fakes on one grid instead of two distributions that differ in a
        way G cannot remove. Measured on the paper's MNIST model (simulated bf16, three seeds),
        G bf16 / D fp32 scored 159.3, 159.0 and 169.4 at epoch 30 without it and 168.8, 173.2
        and 168.4 with it (fp32: 169.2, 168.5, 169.5; docs/scaling.md, "Mixed precision").
        ``x`` itself otherwise (and for a fake, already in G's dtype)."""
        g = self.dtype_of("g")
        if g is None or g == self.dtype_of("d") or not x.is_floating_point() or x.dtype == g:
            return x
        return x.to(g)

    def scale(self, cost: Tensor, net: str) -> Tensor:
        """``cost`` times the loss scale of ``net`` ("d" or "g"); ``cost`` without fp16."""
        scaler = self.scalers.get(net)
        return scaler.scale(cost) if scaler is not None else cost

    def step(self, optimizer: torch.optim.Optimizer, net: str) -> None:
        """The optimizer step (skipped by fp16's scaler when a gradient is not finite)."""
        scaler = self.scalers.get(net)
        if scaler is None:
            optimizer.step()
            return
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict[str, Any] | None:
        """The scalers' state, for the checkpoint (None without fp16)."""
        if not self.scalers:
            return None
        return {net: s.state_dict() for net, s in self.scalers.items()}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        for net, scaler in self.scalers.items():
            if net in state:
                scaler.load_state_dict(state[net])


def count_casts(step: Callable[[], Any], steps: int = 3) -> dict[str, float]:
    """Mean dtype casts and copies per call of ``step`` (e.g. ``trainer.step``), as
    ``torch.profiler`` counts them: ``aten::_to_copy`` (a cast: ``.to(dtype)``, autocast's
    weight and activation casts, the casts of gradients back to fp32) and ``aten::copy_``.
    Hardware-independent: an emulated bf16 casts exactly as a native one. One unprofiled call
    first (warm-up)."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    counts = {e.key: e.count for e in prof.key_averages()}
    return {
        "casts": counts.get("aten::_to_copy", 0) / steps,
        "copies": counts.get("aten::copy_", 0) / steps,
    }
