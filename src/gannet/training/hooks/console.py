"""The console: a progress bar or plain lines per logging interval, and the run's messages.

``train.progress``: ``bar`` (tqdm), ``lines`` (one line per interval), ``none`` (silent), or
``auto`` (a bar on a terminal, lines otherwise).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class Console(Hook):
    """Prints progress and messages (:meth:`Trainer.say`) to the terminal."""

    def __init__(self) -> None:
        self.mode = "lines"
        self.bar: Any = None

    def on_attach(self, trainer: TrainerView) -> None:
        mode = trainer.config.train.progress
        self.mode = ("bar" if sys.stderr.isatty() else "lines") if mode == "auto" else mode

    def on_fit_start(self, trainer: TrainerView) -> None:
        tc = trainer.config.train
        if self.mode == "bar":
            from tqdm import tqdm

            total = tc.epochs * trainer.iterations_per_epoch
            if tc.max_steps:
                total = min(total, tc.max_steps)
            self.bar = tqdm(
                total=total, initial=trainer.progress.step, unit="step", dynamic_ncols=True
            )
        world = trainer.world
        where = f"{world.size} processes ({world.backend})" if world.distributed else ""
        self.on_message(
            trainer,
            f"gannet: training {trainer.config.data.name} ({len(trainer.batches)} examples, "
            f"{tc.schedule}, k={tc.k}, batch {tc.batch_size}) on {trainer.device}"
            f"{' x ' + where if where else ''}; run: {trainer.run_dir}",
        )

    def on_log(self, trainer: TrainerView, r: dict[str, Any]) -> None:
        modes = f"modes {r['modes_covered']}/{r['n_modes']} " if "modes_covered" in r else ""
        if self.mode == "bar" and self.bar is not None:
            self.bar.n = trainer.progress.step
            self.bar.set_postfix_str(
                f"ep {r['epoch']} D {r['d_loss']:.3f} G {r['g_loss']:.3f} "
                f"{outputs(trainer, r, 2)} {modes}{r['images_per_s']:.0f} img/s"
            )
        elif self.mode == "lines":
            print(
                f"epoch {r['epoch']:4d} step {r['step']:7d} | D {r['d_loss']:.4f} "
                f"G {r['g_loss']:.4f} V {r['value']:.4f} | {outputs(trainer, r, 3)} | "
                f"{modes and modes + '| '}{r['images_per_s']:.0f} img/s",
                flush=True,
            )

    def on_message(self, trainer: TrainerView, text: str) -> None:
        if self.mode == "none":
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        self.close(trainer)
        p = trainer.progress
        if status == "interrupted":
            text = (
                f"gannet: interrupted at step {p.step}; checkpoint saved. "
                f"Resume with: gannet train --resume {trainer.run_dir}"
            )
        else:
            text = f"gannet: finished at epoch {p.epoch - 1}, step {p.step}: {trainer.run_dir}"
        self.on_message(trainer, text)

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        self.close(trainer)

    def close(self, trainer: TrainerView) -> None:
        """Close the progress bar (if any) at the current step."""
        if self.bar is not None:
            self.bar.n = trainer.progress.step
            self.bar.close()
            self.bar = None


def outputs(trainer: TrainerView, r: dict[str, Any], digits: int) -> str:
    """Mean D(x), D(G(z)) for the 2014 losses; mean raw outputs f(x), f(G(z)) otherwise."""
    if trainer.loss.probabilistic:
        return f"D(x) {r['d_real']:.{digits}f} D(G(z)) {r['d_fake']:.{digits}f}"
    return f"f(x) {r['d_real_raw']:.{digits}f} f(G(z)) {r['d_fake_raw']:.{digits}f}"
