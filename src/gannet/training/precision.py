"""Mixed precision: bf16 or fp16 autocast with fp32 master weights, and fp16's gradient
scaler; and the checks that keep a run off precisions its hardware only emulates.

* ``fp32``: nothing changes.
* ``bf16``: matmuls and convolutions autocast to bfloat16. On a CPU only where it has native
  bf16 (AVX-512-BF16 or AMX, as oneDNN reports): elsewhere bf16 is emulated, 10-100x slower
  than fp32, and the run is refused in one line rather than slowed down silently.
* ``fp16``: float16 autocast and one gradient scaler per network (D and G), whose state is
  checkpointed; for CUDA (a CPU has no fast float16).

``GANNET_ALLOW_EMULATED_PRECISION=1`` lifts the refusals, for tests of the logic on any
machine.
"""

from __future__ import annotations

import contextlib
import os
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


class Precision:
    """Autocast and (fp16) gradient scaling for one run's D and G updates."""

    def __init__(self, precision: str, device: torch.device) -> None:
        check_precision(precision, device)
        self.precision, self.device = precision, device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        if precision == "fp16":
            self.scalers = {net: torch.amp.GradScaler(device.type) for net in ("d", "g")}

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The autocast context of the forward passes (nothing for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

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
