"""The shared LightningModule: a wrapped network, an injected optimizer and scheduler."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


class SupervisedTask(L.LightningModule):
    """Trains ``net`` on ``(x, y)`` batches; subclasses define loss, outputs and metrics.

    Args:
        net: the network (any ``nn.Module`` mapping a batch of inputs to outputs).
        optimizer: a factory taking the parameters (a Hydra ``_partial_`` optimizer).
        scheduler: ``None`` or a mapping with ``scheduler`` (a factory taking the optimizer)
            and Lightning's ``interval``/``frequency``/``monitor``. A factory that accepts
            ``total_steps`` (one-cycle) gets the trainer's estimated number of steps.
        class_names: label names, used in figures and predictions.
    """

    task: str = ""
    #: the validation metric that picks the best checkpoint, and whether higher is better
    monitor: str = "val/loss"
    monitor_mode: str = "min"
    #: feed image batches in channels-last memory format (set with ``model.channels_last``)
    channels_last: bool = False

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: Mapping[str, Any] | None = None,
        class_names: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_config = dict(scheduler) if scheduler else None
        self.class_names = tuple(class_names)
        metrics = self.make_metrics()
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    # -- what a task defines ---------------------------------------------------------------
    def make_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        raise NotImplementedError

    def metric_inputs(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """What the metrics compare (e.g. probabilities and labels)."""
        return outputs, targets

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        """Network outputs as the user reads them (probabilities, values)."""
        return outputs

    # -- Lightning hooks -------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _step(self, batch: tuple[Tensor, Tensor], stage: str, metrics: MetricCollection) -> Tensor:
        x, y = batch
        outputs = self(x)
        loss = self.loss(outputs, y)
        metrics.update(*self.metric_inputs(outputs.detach(), y))
        on_step = stage == "train"
        # validation/test losses are averaged over all DDP ranks (sync_dist); the training loss
        # is rank zero's, which saves an all-reduce per step
        self.log(
            f"{stage}/loss",
            loss,
            on_step=on_step,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(x),
            sync_dist=not on_step,
        )
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage != "train")
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train", self.train_metrics)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "val", self.val_metrics)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "test", self.test_metrics)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self.predict_outputs(self(x))

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if not self.scheduler_config:
            return optimizer
        config = dict(self.scheduler_config)
        factory = config.pop("scheduler")
        kwargs: dict[str, Any] = {}
        params = inspect.signature(factory).parameters
        given = getattr(factory, "keywords", {})
        if "total_steps" in params and not given.get("total_steps"):
            kwargs["total_steps"] = int(self.trainer.estimated_stepping_batches)
        if "cycle_momentum" in params and "cycle_momentum" not in given:
            # one-cycle also cycles momentum, which plain SGD / AdaGrad / Adadelta lack
            defaults = optimizer.defaults
            kwargs["cycle_momentum"] = "betas" in defaults or defaults.get("momentum", 0) > 0
        scheduler = factory(optimizer, **kwargs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **config}}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())
