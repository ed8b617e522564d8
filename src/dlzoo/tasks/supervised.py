"""The three supervised tasks of the curriculum: regression, multiclass and binary."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import BinaryAccuracy, MulticlassAccuracy

from dlzoo.tasks.base import SupervisedTask


class RegressionTask(SupervisedTask):
    """Mean squared error; metrics MSE, RMSE, MAE and R²."""

    task = "regression"
    monitor = "val/mse"
    monitor_mode = "min"

    def make_metrics(self) -> MetricCollection:
        return MetricCollection(
            {
                "mse": MeanSquaredError(),
                "rmse": MeanSquaredError(squared=False),
                "mae": MeanAbsoluteError(),
                "r2": R2Score(),
            }
        )

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.mse_loss(outputs, targets)

    def metric_inputs(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if outputs.shape[-1] == 1:
            return outputs.squeeze(-1), targets.squeeze(-1)
        return outputs, targets


class MulticlassTask(SupervisedTask):
    """Softmax cross-entropy over ``num_classes`` logits; metric accuracy."""

    task = "multiclass"
    monitor = "val/acc"
    monitor_mode = "max"

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"acc": MulticlassAccuracy(len(self.class_names), average="micro")})

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(outputs, targets)

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        return outputs.softmax(dim=-1)


class BinaryTask(SupervisedTask):
    """One logit, sigmoid + binary cross-entropy; metric accuracy at threshold 0.5."""

    task = "binary"
    monitor = "val/acc"
    monitor_mode = "max"

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"acc": BinaryAccuracy()})

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(outputs.squeeze(-1), targets.float())

    def metric_inputs(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        return outputs.squeeze(-1).sigmoid(), targets.long()

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        return outputs.sigmoid()


TASK_CLASSES: dict[str, type[SupervisedTask]] = {
    cls.task: cls for cls in (RegressionTask, MulticlassTask, BinaryTask)
}
