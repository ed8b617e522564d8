"""Stop a run as soon as its training loss stops being a finite number."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from dlzoo.errors import DlzooError


class TrainingDiverged(DlzooError):
    """The training loss became NaN or infinite."""


class StopOnDivergence(Callback):
    """Raises :class:`TrainingDiverged` at the first non-finite training loss.

    In a single run this ends with one readable message; in a sweep the run is recorded as
    failed with that message and the sweep goes on.

    Args:
        check_every_n_steps: how often to look at the loss (each look waits for the GPU).
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        self.every = max(int(check_every_n_steps), 1)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if trainer.global_step % self.every:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, Tensor):
            return
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"the training loss became {value} at epoch {trainer.current_epoch}, step "
                f"{trainer.global_step}: the run diverged (a smaller optimizer.lr often helps)"
            )
