"""The training steps' losses and predictions, gathered and applied to the epoch's metric
objects a few dozen steps at a time.

A torchmetrics update costs tens of microseconds of Python whatever the batch holds: on a
small model that is a sizeable part of a CPU training step. Applied to a run of batches at
once, the same states come out (the training metrics are sums over examples) for one update's
cost. Whatever reads or saves the metrics (epoch end, checkpoints) calls :meth:`flush` first.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

#: steps gathered before one update
STEPS = 32
#: predictions gathered at most (elements): a language model's logits go straight through
ELEMENTS = 1 << 20


class WeightedMean(MeanMetric):
    """torchmetrics' ``MeanMetric`` (same states) that honours its weights without a NaN
    check: ``nan_strategy="disable"``, the one without a host sync, drops the weights
    (torchmetrics 1.9), which would count a run of 3 steps like a run of 1."""

    def update(self, value: Tensor, weight: float = 1.0) -> None:  # type: ignore[override]
        self.mean_value += value.detach().to(self.mean_value.dtype).sum() * weight
        self.weight += weight * value.numel()


class TrainRecords:
    """Gathers ``(loss, size)`` for the epoch's mean loss and ``(preds, targets)`` for the
    training metrics; :meth:`flush` applies them. Predictions that cannot be concatenated
    with those gathered (another shape, not tensors) first flush those."""

    def __init__(self, loss_mean: WeightedMean, metrics: MetricCollection) -> None:
        self.loss_mean = loss_mean
        self.metrics = metrics
        self._losses: list[Tensor] = []
        self._sizes: list[int] = []
        self._preds: list[Tensor] = []
        self._targets: list[Tensor] = []
        self._elements = 0

    def add(self, loss: Tensor, size: int, preds: Any = None, targets: Any = None) -> None:
        self._losses.append(loss.detach())
        self._sizes.append(size)
        if preds is not None:
            if not self._joins(preds, targets):
                self._flush_predictions()
            tensors = isinstance(preds, Tensor) and isinstance(targets, Tensor)
            if tensors and preds.numel() < ELEMENTS:
                self._preds.append(preds)
                self._targets.append(targets)
                self._elements += preds.numel()
            else:
                self.metrics.update(preds, targets)
        if len(self._losses) >= STEPS or self._elements >= ELEMENTS:
            self.flush()

    def _joins(self, preds: Any, targets: Any) -> bool:
        """Whether ``preds``/``targets`` concatenate with those gathered (or none are)."""
        if not self._preds:
            return True
        first_preds, first_targets = self._preds[0], self._targets[0]
        return (
            isinstance(preds, Tensor)
            and isinstance(targets, Tensor)
            and preds.shape[1:] == first_preds.shape[1:]
            and targets.shape[1:] == first_targets.shape[1:]
            and preds.dtype == first_preds.dtype
            and targets.dtype == first_targets.dtype
        )

    def flush(self) -> None:
        """Apply everything gathered to the metric objects."""
        if self._losses:
            total = sum(self._sizes)
            if len(set(self._sizes)) == 1:
                mean = torch.stack(self._losses).mean()
            else:  # Python-number weights: no host-to-device copy (a wait for a GPU)
                weights = [n / total for n in self._sizes]
                mean = torch.stack(
                    [x * w for x, w in zip(self._losses, weights, strict=True)]
                ).sum()
            self.loss_mean.update(mean, total)
            self._losses, self._sizes = [], []
        self._flush_predictions()

    def _flush_predictions(self) -> None:
        if not self._preds:
            return
        preds, targets = self._preds, self._targets
        self._preds, self._targets, self._elements = [], [], 0
        if len(preds) == 1:
            self.metrics.update(preds[0], targets[0])
        else:
            self.metrics.update(torch.cat(preds), torch.cat(targets))

    def __len__(self) -> int:
        """Steps gathered and not applied yet."""
        return len(self._losses)
