"""Multiclass classification: softmax cross-entropy over one logit per class; accuracy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from dlzoo.data.spec import ClassificationSpec, DataSpec
from dlzoo.errors import ConfigError
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register


def mirror_averaged(forward: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The logits of ``forward`` averaged over the images and their left-right mirrors."""
    return (forward(x) + forward(x.flip(-1))) / 2


class FlipAveraged(nn.Module):
    """A network whose logits are averaged over the image and its mirror: what a run with
    ``flip_averaging`` scored, as one module an exported file can hold."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return mirror_averaged(self.net, x)


def top_k(probs: Tensor, names: tuple[str, ...], k: int) -> list[list[tuple[str, float]]]:
    """Per row, the ``k`` most probable classes as (name, probability)."""
    values, idx = probs.topk(min(k, probs.shape[1]), dim=1)

    def label(i: int) -> str:
        return names[i] if i < len(names) else str(i)

    return [
        [(label(i), float(v)) for v, i in zip(vs, ix, strict=True)]
        for vs, ix in zip(values.tolist(), idx.tolist(), strict=True)
    ]


def majority_class_baseline(train_targets: Tensor, test_targets: Tensor) -> Baseline:
    """Test accuracy of always predicting the training split's most common class."""
    majority = int(torch.mode(train_targets.flatten().long()).values)
    accuracy = float((test_targets.flatten().long() == majority).float().mean())
    return Baseline("test/acc", accuracy, "always predicting the most common class", True)


@register
class MulticlassTask(Task):
    """Logits for each of ``spec.class_names``; predictions are the top classes with their
    probabilities."""

    task = "multiclass"
    spec_type = ClassificationSpec
    monitor = "val/acc"
    monitor_mode = "max"
    supports_steps_per_call = True
    fitting_models = "softmax_regression or mlp (and the CNNs for images)"

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        assert isinstance(spec, ClassificationSpec)
        return spec.num_classes

    def __init__(
        self, *args: Any, label_smoothing: float = 0.0, flip_averaging: bool = False, **kwargs: Any
    ) -> None:
        """``label_smoothing``: of the training loss (validation and test report the plain
        cross-entropy). ``flip_averaging``: validation, test and prediction average the
        logits of each image and its left-right mirror (test-time augmentation)."""
        super().__init__(*args, **kwargs)
        number = isinstance(label_smoothing, int | float) and not isinstance(label_smoothing, bool)
        if not number or not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError(
                f"model.task_options.label_smoothing={label_smoothing!r}: a number in [0, 1)"
            )
        if not isinstance(flip_averaging, bool):
            raise ConfigError(
                f"model.task_options.flip_averaging={flip_averaging!r}: true or false"
            )
        spec = kwargs.get("spec")
        if flip_averaging and spec is not None and not getattr(spec, "is_image", False):
            raise ConfigError(
                "model.task_options.flip_averaging=true mirrors images; this data has none "
                f"(input shape {tuple(getattr(spec, 'input_shape', ()))})"
            )
        self.label_smoothing = float(label_smoothing)
        self.flip_averaging = flip_averaging

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"acc": MulticlassAccuracy(len(self.class_names), average="micro")})

    def forward(self, x: Tensor) -> Tensor:
        """The network's logits; in eval mode (validation, test, eval, predict) averaged with
        the mirror's when ``flip_averaging`` is on. Done here, in one forward call, so that
        what hooks on this module see (the prediction figures) is what was scored."""
        if self.flip_averaging and not self.training and x.ndim == 4:
            return mirror_averaged(super().forward, x)
        return super().forward(x)

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        outputs = self(x)
        smoothing = self.label_smoothing if stage == "train" else 0.0
        loss = F.cross_entropy(outputs, y, label_smoothing=smoothing)
        return StepOutput(loss, outputs.detach(), y, len(x))

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        return outputs.softmax(dim=-1)

    def exportable_net(self) -> nn.Module:
        net = super().exportable_net()
        return FlipAveraged(net) if self.flip_averaging else net

    def export_outputs(self) -> Any:
        if self.flip_averaging:
            return "logits, one per class_names entry, averaged over the image and its mirror"
        return super().export_outputs()

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        return majority_class_baseline(train_targets, test_targets)

    def readable(self, outputs: Tensor, k: int = 3) -> list[list[tuple[str, float]]]:
        return top_k(outputs, self.class_names, k)
