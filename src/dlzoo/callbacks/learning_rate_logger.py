"""The learning rate as a curve, written when the loggers write."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from dlzoo.lightning_internals import batches_that_stepped, should_update_logs
from dlzoo.records.tensorboard import LR_TAG


class LearningRateLogger(Callback):
    """Logs the learning rate as ``train/lr`` (Lightning's monitor names it ``lr-AdamW``, a
    top-level card TensorBoard shows before the curves). Extra parameter groups or optimizers
    get ``train/lr_<n>``. Without a logger it does nothing.

    Args:
        logging_interval: ``epoch`` (at each epoch start) or ``step`` (every
            ``trainer.log_every_n_steps`` optimizer steps).
    """

    def __init__(self, logging_interval: str = "epoch") -> None:
        if logging_interval not in ("epoch", "step"):
            raise ValueError(f"logging_interval={logging_interval!r}: use 'epoch' or 'step'")
        self.logging_interval = logging_interval

    @staticmethod
    def learning_rates(trainer: L.Trainer) -> dict[str, float]:
        rates = [float(g["lr"]) for opt in trainer.optimizers for g in opt.param_groups]
        return {LR_TAG if i == 0 else f"{LR_TAG}_{i}": lr for i, lr in enumerate(rates)}

    @staticmethod
    def logging_step(trainer: L.Trainer) -> int:
        """The step the other scalars are logged at (Lightning counts training calls, which
        differ from optimizer steps with ``speed.steps_per_call`` > 1)."""
        return batches_that_stepped(trainer)

    def _log(self, trainer: L.Trainer) -> None:
        if not trainer.loggers or not trainer.is_global_zero:
            return
        rates = self.learning_rates(trainer)
        for logger in trainer.loggers:
            logger.log_metrics(rates, step=self.logging_step(trainer))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.logging_interval == "epoch":
            self._log(trainer)

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        if self.logging_interval != "step":
            return
        if should_update_logs(trainer):
            self._log(trainer)
