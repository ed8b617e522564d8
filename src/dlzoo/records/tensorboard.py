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
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

#: the custom-scalars category holding the train-vs-validation charts
CATEGORY = "train vs validation"
#: tag of the learning rate (first parameter group of the first optimizer)
LR_TAG = "train/lr"


def _exact(tag: str) -> str:
    """Custom-scalars tags are regular expressions: match this tag only."""
    return f"^{re.escape(tag)}$"


def custom_scalars_layout(
    metric_names: Iterable[str], task: str | None = None
) -> dict[str, dict[str, list[Any]]]:
    """The layout for ``SummaryWriter.add_custom_scalars``: one chart for the loss and one per
    task metric (``acc``, ``mse``, ``perplexity``...), each with its train and val curve,
    then the learning rate. TensorBoard merges the layouts of every run under ``--logdir``:
    a category per task keeps a translation run's ``token_acc`` chart out of the MLP's."""
    charts: dict[str, list[Any]] = {
        "loss (train, val)": ["Multiline", [_exact("train/loss_epoch"), _exact("val/loss")]]
    }
    for name in metric_names:
        charts[f"{name} (train, val)"] = [
            "Multiline",
            [_exact(f"train/{name}"), _exact(f"val/{name}")],
        ]
    charts["learning rate"] = ["Multiline", [_exact(LR_TAG)]]
    return {f"{CATEGORY}: {task}" if task else CATEGORY: charts}


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
