"""A bf16 autocast simulator for CPUs without native bf16 (benchmark-side, not a training
option).

A native bf16 matmul or convolution (oneDNN on AVX-512-BF16/AMX, cuBLAS on a GPU) reads its
operands as bfloat16, accumulates in fp32 and writes a bfloat16 result. The same numbers come
out of an fp32 matmul of operands rounded with ``.bfloat16().float()`` whose result is rounded
the same way, at fp32 speed (an AVX2 CPU emulates real bf16 about 100x slower).

:class:`SimulatedAutocast` is a ``TorchFunctionMode`` that does this for autocast's
lower-precision ops (linear, matmul, mm, addmm, bmm, baddbmm, conv*) and then follows the
"bf16-ness" of their results the way dtype promotion would: a tensor a simulated bf16 op
produced is tagged, and any other op whose floating tensor inputs are all tagged has its
result rounded and tagged too (a bf16 tensor times a bf16 tensor is bf16), except autocast's
fp32 ops (losses, softmax...), whose results stay fp32. ``.float()`` / ``.to(torch.float32)``
untags (the loop's ``d_real.float()``). The rounding is a pair of dtype casts, so autograd
rounds the gradients at the same boundaries as real autocast's casts do.

Regions: the mode is entered once and is active only inside ``region()`` and only while
no ``torch.autocast(enabled=False)`` is nested in it, like real autocast.
:func:`simulate_trainer` makes a :class:`gannet.training.Trainer`'s per-network autocast
regions (``amp.autocast("g" | "d")``) simulated instead of real, so the training code's own
policy decides what runs in bf16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

LOWER_PRECISION = {
    F.linear,
    torch.matmul,
    torch.Tensor.matmul,
    torch.Tensor.__matmul__,
    torch.mm,
    torch.Tensor.mm,
    torch.addmm,
    torch.Tensor.addmm,
    torch.bmm,
    torch.Tensor.bmm,
    torch.baddbmm,
    torch.addbmm,
    F.conv1d,
    F.conv2d,
    F.conv3d,
    F.conv_transpose1d,
    F.conv_transpose2d,
    F.conv_transpose3d,
}
"""Ops CPU and CUDA autocast run in the lower precision (a subset of autocast's list: the
ones gannet's models use)."""

FP32_OPS = {
    F.binary_cross_entropy,
    F.binary_cross_entropy_with_logits,
    F.cross_entropy,
    F.nll_loss,
    F.mse_loss,
    F.softplus,
    F.log_softmax,
    F.softmax,
    torch.logsumexp,
    torch.Tensor.logsumexp,
    torch.log_softmax,
    torch.softmax,
}
"""Ops whose result is fp32 even on bf16 inputs (autocast's fp32 list; softplus and the
softmaxes are upcast by gannet's losses, which call ``.float()`` first anyway)."""

TO_FP32 = {torch.Tensor.float, torch.Tensor.to, torch.Tensor.type_as, torch.Tensor.double}


def bf16_round(x: Tensor) -> Tensor:
    """x rounded to the nearest bfloat16 (ties to even), as float32 (differentiable: the
    gradient is rounded the same way). A real bf16 tensor (the training code's own cast of
    an input to D's dtype) comes back as the float32 of the same value."""
    return x.to(torch.bfloat16).to(torch.float32)


def _tagged(x: Any) -> bool:
    return isinstance(x, Tensor) and getattr(x, "_gannet_bf16", False)


def _tag(x: Tensor) -> Tensor:
    x._gannet_bf16 = True  # type: ignore[attr-defined]
    return x


def _float_tensors(args: Any, kwargs: Any) -> list[Tensor]:
    found: list[Tensor] = []

    def visit(a: Any) -> None:
        if isinstance(a, Tensor):
            if a.is_floating_point() and a.dim() > 0:
                found.append(a)
        elif isinstance(a, list | tuple):
            for b in a:
                visit(b)

    visit(args)
    visit(list(kwargs.values()))
    return found


def _round_all(args: Any) -> Any:
    if isinstance(args, Tensor):
        return bf16_round(args) if args.dtype in (torch.float32, torch.bfloat16) else args
    if isinstance(args, list | tuple):
        return type(args)(_round_all(a) for a in args)
    return args


def _round_out(out: Any) -> Any:
    if isinstance(out, Tensor):
        if out.is_floating_point() and out.dtype == torch.float32:
            return _tag(bf16_round(out))
        return out
    if isinstance(out, tuple) and not hasattr(out, "_fields"):
        return tuple(_round_out(o) for o in out)
    if isinstance(out, list):
        return [_round_out(o) for o in out]
    return out


class SimulatedAutocast(TorchFunctionMode):
    """bf16 autocast numerics in fp32 (module docs); active inside :meth:`region`."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.calls = 0
        """Lower-precision ops simulated so far."""

    @contextlib.contextmanager
    def region(self, enabled: bool = True) -> Iterator[None]:
        """Simulated autocast on (``enabled``) for the duration."""
        self.depth += 1 if enabled else 0
        try:
            yield
        finally:
            self.depth -= 1 if enabled else 0

    @property
    def active(self) -> bool:
        # A torch.autocast(enabled=False) nested in a region turns the simulation off, as it
        # would turn real autocast off.
        return self.depth > 0 and not _autocast_disabled()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in TO_FP32:
            return func(*args, **kwargs)  # a fresh fp32 tensor: untagged
        if self.active and func in LOWER_PRECISION:
            self.calls += 1
            out = func(*_round_all(args), **{k: _round_all(v) for k, v in kwargs.items()})
            return _round_out(out)
        out = func(*args, **kwargs)
        if func in FP32_OPS:
            return out
        floats = _float_tensors(args, kwargs)
        if floats and all(_tagged(t) for t in floats):
            return _round_out(out)  # bf16 in, bf16 out (no fp32 operand promotes it)
        return out


_AUTOCAST_OFF: list[bool] = []


def _autocast_disabled() -> bool:
    return bool(_AUTOCAST_OFF and _AUTOCAST_OFF[-1])


class _TrackedAutocast(torch.autocast):
    """torch.autocast that also tells the simulator when a nested region turns it off."""

    def __enter__(self) -> Any:
        _AUTOCAST_OFF.append(not self._enabled)
        return super().__enter__()

    def __exit__(self, *exc: Any) -> Any:
        _AUTOCAST_OFF.pop()
        return super().__exit__(*exc)


@contextlib.contextmanager
def simulate_trainer(trainer: Any) -> Iterator[SimulatedAutocast]:
    """Within this context, ``trainer``'s bf16 autocast regions are simulated (fp32 maths on
    bf16-rounded operands) rather than run as real autocast; what runs in bf16 is still what
    the trainer's precision policy says."""
    mode = SimulatedAutocast()
    amp = trainer.amp
    real, real_input_for = amp.autocast, amp.input_for

    def simulated(net: str = "both") -> contextlib.AbstractContextManager[Any]:
        return mode.region(amp.dtype_of(net) == torch.bfloat16)

    def input_for(net: str, x: Tensor) -> Tensor:
        if not x.is_floating_point():
            return x
        if net == "d":
            x = amp.shared_grid(x)  # the trainer's own rule (a real bf16 round trip)
        return _tag(bf16_round(x)) if amp.dtype_of(net) == torch.bfloat16 else x.float()

    amp.autocast = simulated
    amp.input_for = input_for
    saved = torch.autocast
    torch.autocast = _TrackedAutocast  # type: ignore[misc]
    try:
        with mode:
            yield mode
    finally:
        amp.autocast, amp.input_for = real, real_input_for
        torch.autocast = saved  # type: ignore[misc]
