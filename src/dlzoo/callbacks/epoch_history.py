"""One ``history.jsonl`` line per epoch: what sweep summaries and people's scripts read."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from dlzoo.records.history import HISTORY_FILE


def _scalars(metrics: dict[str, Any], prefix: str | None = None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        if prefix is not None and not key.startswith(prefix):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError, RuntimeError):  # non-scalar tensors
            continue
        out[key] = number if math.isfinite(number) else None
    return out


class EpochHistory(Callback):
    """Appends ``{"epoch", "step", <train metrics>, <val metrics>}`` after each epoch.

    Validation metrics appear only in the epochs where validation ran (see
    ``trainer.check_val_every_n_epoch``); non-finite values are written as ``null``.

    Args:
        dirpath: folder of the file (the run directory).
        filename: name of the file.
    """

    def __init__(self, dirpath: str, filename: str = HISTORY_FILE) -> None:
        self.path = Path(dirpath) / filename
        self._val: dict[str, float | None] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and trainer.ckpt_path is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")  # a fresh run starts a fresh history

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # not on_validation_epoch_end: callbacks' run before the task's, so what a task
        # logs there (BLEU, mAP) would land in the next epoch's row
        if not trainer.sanity_checking:
            self._val = _scalars(trainer.callback_metrics, "val/")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        train = _scalars(trainer.callback_metrics, "train/")
        row = {"epoch": trainer.current_epoch, "step": trainer.global_step, **train, **self._val}
        self._val = {}
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
