"""The truncation trick, for generators that have it.

A generator supports truncation when it has a true ``supports_truncation`` attribute and its
``forward`` takes a ``truncation`` keyword (psi: 1 = no truncation, smaller = samples closer
to the average, less varied). :func:`check_truncation` refuses, in one line, a generator
without it; :func:`with_truncation` returns a run whose ``sample`` draws truncated samples,
so the commands that sample (``gannet augment``, ``gannet eval cas``) share one path.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch
from torch import nn

from gannet.errors import GannetError

if TYPE_CHECKING:  # pragma: no cover
    from gannet.trained.run import Run


def supports_truncation(generator: nn.Module) -> bool:
    """Whether ``generator`` (or the generator a conditional wrapper holds) takes psi."""
    return bool(getattr(generator, "supports_truncation", False))


def check_truncation(generator: nn.Module, psi: float | None, what: str = "this run") -> None:
    """None, or psi in (0, 1] for a generator that supports truncation; else one line."""
    if psi is None:
        return
    if not 0.0 < psi <= 1.0:
        raise GannetError(f"--truncation must be in (0, 1] (1 = none), got {psi}")
    if not supports_truncation(generator):
        name = type(generator).__name__
        raise GannetError(
            f"--truncation needs a generator with the truncation trick (e.g. StyleGAN); "
            f"{what}'s generator ({name}) has none, so drop --truncation"
        )


class Truncated(nn.Module):
    """``generator`` called with ``truncation=psi`` on every forward."""

    def __init__(self, generator: nn.Module, psi: float) -> None:
        super().__init__()
        self.generator = generator
        self.psi = float(psi)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            out: torch.Tensor = self.generator(z, truncation=self.psi)
        else:
            out = self.generator(z, y, truncation=self.psi)
        return out


def with_truncation(run: Run, psi: float | None) -> Run:
    """``run`` itself when psi is None; else a copy whose generator samples with psi
    (refused in one line when the run's generator has no truncation)."""
    check_truncation(run.generator, psi, f"run {str(run.path)!r}")
    if psi is None:
        return run
    return dataclasses.replace(run, generator=Truncated(run.generator, psi))
