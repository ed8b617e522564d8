"""Callbacks that train() always adds (not user options)."""

from __future__ import annotations

import time

import lightning as L
from lightning.pytorch.callbacks import Callback


class EpochTimer(Callback):
    """Wall-clock seconds of each training epoch (the training loop only, validation
    excluded), recorded in ``metrics.json`` for benchmarks and sweep summaries."""

    def __init__(self) -> None:
        self.epoch_times: list[float] = []
        self._started = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epoch_times.append(round(time.perf_counter() - self._started, 4))
