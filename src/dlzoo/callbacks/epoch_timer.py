"""Wall-clock seconds of each training epoch, for the run record."""

from __future__ import annotations

import time

import lightning as L
from lightning.pytorch.callbacks import Callback


class EpochTimer(Callback):
    """Wall-clock seconds of each training epoch, the training loop only, recorded in
    ``metrics.json`` for benchmarks and sweep summaries.

    Lightning runs the epoch's validation (and the checkpoint saving after it) inside the
    training epoch, before ``on_train_epoch_end``; that time is measured and left out."""

    def __init__(self) -> None:
        self.epoch_times: list[float] = []
        self._started = 0.0
        self._excluded = 0.0
        self._val_started: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # a fit resumed mid-epoch gets no on_train_epoch_start for that epoch: its time
        # is then the part after the resume
        self._started = time.perf_counter()
        self._excluded = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()
        self._excluded = 0.0

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._val_started = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._val_started is not None:
            self._excluded += time.perf_counter() - self._val_started
            self._val_started = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        elapsed = time.perf_counter() - self._started - self._excluded
        self.epoch_times.append(round(elapsed, 4))
