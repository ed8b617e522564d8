"""Training steps gathered before the metric updates: the same epoch values as one update a
step, for a fraction of the updates."""

from __future__ import annotations

import pytest
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from dlzoo.tasks import train_records
from dlzoo.tasks.train_records import TrainRecords, WeightedMean


def accuracy() -> MetricCollection:
    return MetricCollection({"acc": MulticlassAccuracy(5, average="micro")})


def test_weighted_mean_honours_its_weights() -> None:
    mean = WeightedMean()
    mean.update(torch.tensor(1.0), 3)
    mean.update(torch.tensor(4.0), 1)
    assert float(mean.compute()) == 1.75  # MeanMetric(nan_strategy="disable"): 2.5


def test_gathered_steps_give_the_per_step_epoch_values() -> None:
    gen = torch.Generator().manual_seed(0)
    records = TrainRecords(WeightedMean(), accuracy())
    reference = accuracy()
    loss_sum, examples = 0.0, 0
    sizes = [8] * 40 + [3]  # 41 steps: a flush after 32, a partial last batch
    for size in sizes:
        loss = torch.rand((), generator=gen)
        preds = torch.randn(size, 5, generator=gen)
        targets = torch.randint(0, 5, (size,), generator=gen)
        records.add(loss, size, preds, targets)
        reference.update(preds, targets)
        loss_sum, examples = loss_sum + float(loss) * size, examples + size
    assert 0 < len(records) < train_records.STEPS  # the last steps are still gathered
    records.flush()
    assert len(records) == 0
    assert float(records.loss_mean.compute()) == pytest.approx(loss_sum / examples, rel=1e-6)
    assert records.metrics.compute()["acc"] == reference.compute()["acc"]
    assert records.metrics["acc"].update_count == 2  # not 41


def test_nothing_is_applied_until_a_flush() -> None:
    records = TrainRecords(WeightedMean(), accuracy())
    for _ in range(5):
        records.add(torch.tensor(0.5), 4, torch.randn(4, 5), torch.randint(0, 5, (4,)))
    assert records.metrics["acc"].update_count == 0 and records.loss_mean.update_count == 0
    records.flush()
    assert records.metrics["acc"].update_count == 1 and records.loss_mean.update_count == 1


def test_predictions_of_another_shape_or_too_large_go_through_at_once() -> None:
    """A translation batch is cut to its longest sentence (its logits change shape from one
    step to the next); a language model's logits are too large to keep."""
    metrics = MetricCollection(
        {"acc": MulticlassAccuracy(5, average="micro", multidim_average="global")}
    )
    reference = MetricCollection(
        {"acc": MulticlassAccuracy(5, average="micro", multidim_average="global")}
    )
    records = TrainRecords(WeightedMean(), metrics)
    for length in (3, 3, 7, 2):
        preds, targets = torch.randn(4, 5, length), torch.randint(0, 5, (4, length))
        records.add(torch.tensor(1.0), 4, preds, targets)
        reference.update(preds, targets)
    records.flush()
    assert records.metrics.compute()["acc"] == reference.compute()["acc"]
    big = torch.randn(train_records.ELEMENTS // 5 + 1, 5)
    records.add(torch.tensor(1.0), len(big), big, torch.randint(0, 5, (len(big),)))
    assert metrics["acc"].update_count == 4  # (3, 3), 7, 2, then the large one at once


def test_predictions_with_targets_that_are_not_tensors_go_through_at_once() -> None:
    """A detector's targets are lists of dicts: nothing to concatenate."""
    seen: list[tuple[object, object]] = []

    class Recording(MetricCollection):
        def update(self, preds: object, targets: object) -> None:  # type: ignore[override]
            seen.append((preds, targets))

    records = TrainRecords(WeightedMean(), Recording({}))
    boxes = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    records.add(torch.tensor(1.0), 1, torch.zeros(1, 3), boxes)
    assert len(seen) == 1 and seen[0][1] is boxes
