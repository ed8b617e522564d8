"""Binary classification: one logit, sigmoid + binary cross-entropy; accuracy at 0.5."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAccuracy

from dlzoo.data.spec import ClassificationSpec, DataSpec
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.multiclass import majority_class_baseline, top_k
from dlzoo.tasks.registry import register


@register
class BinaryTask(Task):
    """Any 2-class dataset; the logit is the evidence for its second class."""

    task = "binary"
    spec_type = ClassificationSpec
    monitor = "val/acc"
    monitor_mode = "max"
    supports_steps_per_call = True
    fitting_models = "logistic_regression or mlp"

    @classmethod
    def accepts(cls, spec: DataSpec) -> bool:
        return isinstance(spec, ClassificationSpec) and spec.num_classes == 2

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        return 1

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"acc": BinaryAccuracy()})

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        logits = self(x).squeeze(-1)
        loss = F.binary_cross_entropy_with_logits(logits, y.float())
        return StepOutput(loss, logits.detach().sigmoid(), y.long(), len(x))

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        """P(class 1) as a two-column table of both classes' probabilities."""
        p = outputs.sigmoid()
        return torch.cat([1 - p, p], dim=-1)

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        return majority_class_baseline(train_targets, test_targets)

    def readable(self, outputs: Tensor, k: int = 3) -> list[list[tuple[str, float]]]:
        return top_k(outputs, self.class_names, k)
