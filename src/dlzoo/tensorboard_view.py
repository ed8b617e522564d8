"""What TensorBoard opens on: train and validation curves on one chart, the learning rate
under ``train/``, no stray ``epoch`` staircase.

TensorBoard cannot overlay two tags in one chart by itself; its custom-scalars plugin can,
from a layout written into the run's event file. Tags are those the tasks log:
``train/loss_epoch`` and ``val/loss``, ``train/<metric>`` and ``val/<metric>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from dlzoo.lightning_internals import should_update_logs

#: the custom-scalars category holding the train-vs-validation charts
CATEGORY = "train vs validation"
#: tag of the learning rate (first parameter group of the first optimizer)
LR_TAG = "train/lr"


def _exact(tag: str) -> str:
    """Custom-scalars tags are regular expressions: match this tag only."""
    return f"^{re.escape(tag)}$"


def custom_scalars_layout(metric_names: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """The layout for ``SummaryWriter.add_custom_scalars``: one chart for the loss and one per
    task metric (``acc``, ``mse``, ``perplexity``...), each with its train and val curve,
    then the learning rate."""
    charts: dict[str, list[Any]] = {
        "loss (train, val)": ["Multiline", [_exact("train/loss_epoch"), _exact("val/loss")]]
    }
    for name in metric_names:
        charts[f"{name} (train, val)"] = [
            "Multiline",
            [_exact(f"train/{name}"), _exact(f"val/{name}")],
        ]
    charts["learning rate"] = ["Multiline", [_exact(LR_TAG)]]
    return {CATEGORY: charts}


def task_metric_names(pl_module: L.LightningModule) -> list[str]:
    """The task's metric names without their stage prefix (``val/acc`` -> ``acc``)."""
    metrics = getattr(pl_module, "val_metrics", None)
    keys = list(metrics.keys()) if metrics is not None else []
    return [k.split("/", 1)[-1] for k in keys]


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's TensorBoard logger without the ``epoch`` scalar Lightning adds to every
    epoch-level log call (a staircase that TensorBoard would show first; ``history.jsonl``
    and the CSV logger keep the epoch)."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        metrics = {k: v for k, v in metrics.items() if k != "epoch"}
        if metrics:
            super().log_metrics(metrics, step)


def tensorboard_loggers(trainer: L.Trainer) -> list[LightningTensorBoardLogger]:
    return [lg for lg in trainer.loggers if isinstance(lg, LightningTensorBoardLogger)]


class TensorBoardLayout(Callback):
    """Writes the custom-scalars layout (train and val on one chart) at the start of fitting,
    once per run (a resumed run's earlier event files already hold it)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.ckpt_path is not None:
            return
        layout = custom_scalars_layout(task_metric_names(pl_module))
        for logger in tensorboard_loggers(trainer):
            logger.experiment.add_custom_scalars(layout)


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
        loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
        return int(getattr(loop, "_batches_that_stepped", trainer.global_step))

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
