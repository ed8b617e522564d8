"""Regression: mean squared error on (standardised) targets; MSE, RMSE, MAE and R²."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score

from dlzoo.data.spec import DataSpec, RegressionSpec
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register


@register
class RegressionTask(Task):
    """The network predicts ``num_targets`` values. When the datamodule standardises the
    targets (``spec.target_mean``/``target_std``), the loss is on the standardised scale and
    the metrics and predictions are in the target's own units."""

    task = "regression"
    spec_type = RegressionSpec
    monitor = "val/mse"
    monitor_mode = "min"
    supports_steps_per_call = True
    fitting_models = "linear_regression or mlp"

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        assert isinstance(spec, RegressionSpec)
        return spec.num_targets

    def make_metrics(self) -> MetricCollection:
        return MetricCollection(
            {
                "mse": MeanSquaredError(),
                "rmse": MeanSquaredError(squared=False),
                "mae": MeanAbsoluteError(),
                "r2": R2Score(),
            }
        )

    def _scale(self) -> tuple[float, float]:
        spec = self.spec
        if isinstance(spec, RegressionSpec):
            return spec.target_mean, spec.target_std
        return 0.0, 1.0

    def in_target_units(self, values: Tensor) -> Tensor:
        mean, std = self._scale()
        return values if (mean, std) == (0.0, 1.0) else values * std + mean

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        outputs = self(x)
        loss = F.mse_loss(outputs, y)
        preds, targets = self.in_target_units(outputs.detach()), self.in_target_units(y)
        if preds.shape[-1] == 1:
            preds, targets = preds.squeeze(-1), targets.squeeze(-1)
        return StepOutput(loss, preds, targets, len(x))

    @property
    def log_target(self) -> bool:
        return bool(getattr(self.spec, "log_target", False))

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        values = self.in_target_units(outputs)
        return values.exp() if self.log_target else values  # trained on log(target)

    def export_outputs(self) -> str:
        if self.log_target:
            return "log(target): multiply by target_std, add target_mean, then take exp"
        return "values: multiply by target_std and add target_mean"

    def export_info(self, datamodule: Any) -> dict[str, Any]:
        info = super().export_info(datamodule)
        info["target_mean"], info["target_std"] = self._scale()
        return info

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        """R² of predicting the training targets' mean for every test example (0 or a bit
        below: the test mean differs from the training mean)."""
        test = test_targets.double().reshape(len(test_targets), -1)
        guess = train_targets.double().reshape(len(train_targets), -1).mean(0)
        spread = ((test - test.mean(0)) ** 2).sum(0).clamp(min=1e-12)
        r2 = float((1 - ((test - guess) ** 2).sum(0) / spread).mean())
        return Baseline("test/r2", r2, "predicting the training mean", True)
