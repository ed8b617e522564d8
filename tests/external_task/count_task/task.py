"""The counting task: Poisson negative log-likelihood on a log rate; exact-count accuracy
and mean absolute error; predictions read bit strings from a text file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor
from torchmetrics import MeanAbsoluteError, Metric, MetricCollection

from count_task.data import CountSpec
from dlzoo.errors import ConfigError, DataError
from dlzoo.inference.predictor import Predictor
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register


class ExactCount(Metric):
    """The share of examples whose rounded expected count is the true count."""

    def __init__(self) -> None:
        super().__init__()
        self.add_state("correct", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, rates: Tensor, counts: Tensor) -> None:
        self.correct += int((rates.round() == counts).sum())
        self.total += counts.numel()

    def compute(self) -> Tensor:
        return self.correct.float() / max(int(self.total), 1)


class CountPredictor(Predictor):
    """``inputs=<text file>``: one bit string a line -> its expected count."""

    reads: ClassVar[frozenset[str]] = frozenset({"inputs"})
    options: ClassVar[dict[str, Any]] = {"digits": 2}
    takes: ClassVar[str] = "inputs=<a text file, one bit string a line>"

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        path = Path(str(cfg.get("inputs") or ""))
        if not path.is_file():
            raise ConfigError(f"inputs={cfg.get('inputs')!r}: give {self.takes}")
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        try:
            x = torch.tensor([self.model.datamodule.bits_of(line) for line in lines])
        except ValueError as err:
            raise DataError(f"{path}: {err}") from None
        with torch.no_grad():
            rates = self.model.module.predict_outputs(self.model.module(x)).squeeze(-1)
        records = []
        for line, rate in zip(lines, rates.tolist(), strict=True):
            records.append({"input": line, "count": round(rate), "rate": rate})
            print(f"{line}: {round(rate)} (rate {rate:.{self.settings['digits']}f})")
        return records


@register
class CountTask(Task):
    task = "count"
    spec_type = CountSpec
    monitor = "val/mae"
    monitor_mode = "min"
    fitting_models = "count_net"
    predictor = CountPredictor

    @classmethod
    def num_outputs(cls, spec: Any) -> int:
        return 1

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"mae": MeanAbsoluteError(), "acc": ExactCount()})

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        log_rate = self(x).squeeze(-1)
        loss = F.poisson_nll_loss(log_rate, y, log_input=True)
        return StepOutput(loss, log_rate.detach().exp(), y, len(x))

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        return outputs.exp()

    def export_outputs(self) -> str:
        return "the log of the expected count (exp() it)"

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        guess = float(train_targets.float().mean())
        mae = float((test_targets.float() - guess).abs().mean())
        return Baseline("test/mae", mae, "predicting the training mean count", False)
