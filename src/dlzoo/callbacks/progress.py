"""The progress display: Rich's bar on a terminal, plain lines everywhere else.

Written to a log file, a CI job or ``nohup``, Rich's bar draws nothing, and a long run sat
silent after its parameter count for minutes. There, a line every ``interval`` seconds says
where training is (epoch, step, speed, time left, loss), and one line closes each epoch.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar
from torch import Tensor

from dlzoo.lightning_internals import RichProgressCountingFromOne


def progress_bar(refresh_rate: int = 4, interval: float = 30.0) -> ProgressBar:
    """Rich's bar (epochs counted from 1) when stdout is a terminal, else plain lines."""
    if sys.stdout.isatty():
        return RichProgressCountingFromOne(refresh_rate=refresh_rate)
    return PlainProgress(interval=interval)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class PlainProgress(ProgressBar):
    """A plain progress line every ``interval`` seconds of training, and at epoch ends."""

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self._enabled = True
        self._started = self._last = 0.0
        self._first_step = 0
        self._validated = False  # whether this epoch's validation ran

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._started = self._last = time.monotonic()
        self._first_step = trainer.global_step  # a resumed run counts its own speed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._validated = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._validated = self._validated or not trainer.sanity_checking

    def _line(self, trainer: L.Trainer, batch: int, outputs: Any) -> str:
        elapsed = time.monotonic() - self._started
        done = trainer.global_step - self._first_step
        rate = done / elapsed if elapsed > 0 else 0.0
        total = trainer.estimated_stepping_batches
        left = f", {_clock((total - trainer.global_step) / rate)} left" if rate > 0 else ""
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        batches = self.total_train_batches
        step_loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        loss = f", loss {float(step_loss):.4g}" if isinstance(step_loss, Tensor) else ""
        return (f"epoch {trainer.current_epoch + 1}/{epochs}, batch {batch}/"
                f"{batches}, step {trainer.global_step}/{total}, {rate:.2f} steps/s{left}{loss}")  # fmt: skip

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        now = time.monotonic()
        if self._enabled and trainer.is_global_zero and now - self._last >= self.interval:
            self._last = now
            print(self._line(trainer, batch_idx + 1, outputs), flush=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not (self._enabled and trainer.is_global_zero):
            return
        # an epoch whose validation did not run (a max_steps stop, check_val_every_n_epoch)
        # shows no validation figures: the ones Lightning keeps are an earlier epoch's
        stages = ("train/", "val/") if self._validated else ("train/",)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith(stages) and v.numel() == 1}  # fmt: skip
        figures = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
        took = _clock(time.monotonic() - self._started)
        # a resumed run's clock starts at the resume: "in all" would hide the earlier launches
        span = "since the resume" if self._first_step else "in all"
        print(f"epoch {trainer.current_epoch + 1} done ({took} {span}): {figures}", flush=True)
        self._last = time.monotonic()
