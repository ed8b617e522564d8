"""The shared LightningModule: a wrapped network, an injected optimizer and scheduler."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.precision import Precision
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection

from dlzoo.errors import ConfigError

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
    #: update the training metrics (``train/acc``...) every step; ``False`` skips their
    #: per-step cost (the training loss is always logged). Set with ``speed.train_metrics``.
    train_metrics_enabled: bool = True
    #: optimizer steps per ``training_step`` call (``speed.steps_per_call``); see
    #: :meth:`set_steps_per_call`
    steps_per_call: int = 1

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
        for metric in self.train_metrics.values():
            # torchmetrics checks every update's labels (``torch.unique``: a host sync on a
            # GPU, every training step); the datamodules check labels once when loading
            if hasattr(metric, "validate_args"):
                metric.validate_args = False
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        # the epoch mean of the training loss, accumulated without a host sync (its sum
        # states are carried across a mid-epoch resume like the training metrics')
        self.train_loss_mean = MeanMetric(nan_strategy="disable")
        self._epoch_logged = False

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
        # validation/test losses are averaged over all DDP ranks (sync_dist)
        self.log(
            f"{stage}/loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(x),
            sync_dist=True,
        )
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    # -- training: cheap per-step bookkeeping ----------------------------------------------
    # Lightning's ``self.log`` costs far more than a small model's step on a CPU, so the
    # training step does not call it every step: the loss goes into a running mean (a tensor
    # sum, no host sync), ``train/loss_step`` is logged only on the steps the loggers write
    # (``trainer.log_every_n_steps``), and the epoch values (``train/loss_epoch``, the
    # training metrics) are logged as metric objects that Lightning computes at epoch end.
    # The training loss is rank zero's under DDP (no all-reduce per step).
    def _record_train(self, loss: Tensor, outputs: Tensor | None, y: Tensor, n: int) -> None:
        self.train_loss_mean.update(loss.detach(), n)
        if outputs is not None and self.train_metrics_enabled:
            self.train_metrics.update(*self.metric_inputs(outputs.detach(), y))
        if not self._epoch_logged:  # once per epoch: Lightning keeps the reference
            self._epoch_logged = True
            self.log("train/loss_epoch", self.train_loss_mean, on_step=False, on_epoch=True)
            if self.train_metrics_enabled:
                self.log_dict(self.train_metrics, on_step=False, on_epoch=True)
        if self._logging_step():
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True)

    def _logging_step(self) -> bool:
        trainer = self._trainer
        if trainer is None:
            return False
        try:
            return bool(trainer._logger_connector.should_update_logs)
        except AttributeError:  # Lightning internals changed: log every step
            return True

    def on_train_epoch_start(self) -> None:
        self._epoch_logged = False

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        if self.steps_per_call > 1:
            return self._train_steps(batch)
        x, y = batch
        outputs = self(x)
        loss = self.loss(outputs, y)
        self._record_train(loss, outputs, y, len(x))
        return loss

    # -- several optimizer steps per call (``speed.steps_per_call``) -----------------------
    def set_steps_per_call(self, steps: int) -> None:
        """Run ``steps`` optimizer steps in each ``training_step`` call (manual optimization).

        The training loader then serves groups of ``steps`` consecutive batches as one batch
        (the same examples in the same order), and this module cuts the group back into
        batches of ``step_batch_size`` (set by the datamodule). Lightning's per-call cost is
        paid once per group. Trade-offs: the per-step hooks of callbacks (``on_before_backward``,
        ``on_before_optimizer_step``...) are not called in full precision; the loggers' step axis and
        ``trainer.log_every_n_steps`` count calls, not optimizer steps (``trainer.global_step``
        and checkpoints count optimizer steps); ``trainer.max_steps`` and
        ``every_n_train_steps`` checkpoints are checked between calls; a mid-epoch resume
        restarts at a group boundary; gradient clipping, gradient accumulation and a
        scheduler stepped on a validation metric (plateau) and multi-process (DDP) training are
        not available.
        """
        if steps < 1:
            raise ConfigError(f"speed.steps_per_call={steps}: must be a positive integer")
        self.steps_per_call = int(steps)
        self.automatic_optimization = steps == 1

    def _step_batch_size(self, group: int) -> int:
        dm = getattr(self._trainer, "datamodule", None)
        size = getattr(dm, "step_batch_size", None)
        return int(size) if size else -(-group // self.steps_per_call)

    def _train_steps(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch
        trainer = self.trainer
        if trainer.world_size > 1:
            raise ConfigError(
                f"speed.steps_per_call={self.steps_per_call} runs on one process only (this "
                f"run has {trainer.world_size}): set speed.steps_per_call=1"
            )
        size = self._step_batch_size(len(x))
        optimizer = self.optimizers()
        schedulers = self._step_schedulers()
        # full precision: step the bare optimizer (no per-step Lightning hooks), keeping
        # trainer.global_step right; other precisions go through Lightning's loss scaling
        bare = type(trainer.precision_plugin) is Precision and hasattr(optimizer, "_on_after_step")
        losses, sizes, outputs_all = [], [], []
        for xb, yb in zip(x.split(size), y.split(size), strict=True):
            outputs = self(xb)
            loss = self.loss(outputs, yb)
            if bare:
                optimizer.optimizer.zero_grad()
                loss.backward()
                optimizer._on_before_step()
                optimizer.optimizer.step()
                optimizer._on_after_step()
            else:
                optimizer.zero_grad()
                self.manual_backward(loss)
                optimizer.step()
            for scheduler in schedulers:
                scheduler.step()
            losses.append(loss.detach())
            sizes.append(len(yb))
            if self.train_metrics_enabled:
                outputs_all.append(outputs.detach())
        # Python-number weights: no host-to-device copy (a wait for the GPU) per call
        shares = [loss * (n / len(x)) for loss, n in zip(losses, sizes, strict=True)]
        mean_loss = torch.stack(shares).sum()
        outputs_cat = torch.cat(outputs_all) if outputs_all else None
        self._record_train(mean_loss, outputs_cat, y, len(x))
        return mean_loss

    def _step_schedulers(self) -> list[Any]:
        """The schedulers stepped after every optimizer step (``interval: step``)."""
        configs = self._trainer.lr_scheduler_configs if self._trainer is not None else []
        return [c.scheduler for c in configs if c.interval == "step"]

    def on_train_epoch_end(self) -> None:
        if self.automatic_optimization or self._trainer is None:
            return
        for config in self._trainer.lr_scheduler_configs:  # manual optimization steps these
            if config.interval == "epoch" and (self.current_epoch + 1) % config.frequency == 0:
                config.scheduler.step()

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
            kwargs["total_steps"] = self.estimated_optimizer_steps()
        if "cycle_momentum" in params and "cycle_momentum" not in given:
            # one-cycle also cycles momentum, which plain SGD / AdaGrad / Adadelta lack
            defaults = optimizer.defaults
            kwargs["cycle_momentum"] = "betas" in defaults or defaults.get("momentum", 0) > 0
        scheduler = factory(optimizer, **kwargs)
        if self.steps_per_call > 1 and isinstance(
            scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau
        ):
            raise ConfigError(
                "speed.steps_per_call > 1 cannot step a scheduler on a validation metric "
                "(scheduler=plateau): use speed.steps_per_call=1 or another scheduler"
            )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **config}}

    def estimated_optimizer_steps(self) -> int:
        """Optimizer steps of the whole fit (what one-cycle needs as ``total_steps``)."""
        trainer = self.trainer
        calls = int(trainer.estimated_stepping_batches)
        if self.steps_per_call == 1:
            return calls
        loader = trainer.fit_loop._combined_loader  # set up by estimated_stepping_batches
        per_epoch = getattr(getattr(loader, "iterables", None), "steps_per_epoch", None)
        if per_epoch is None:
            return calls * self.steps_per_call
        steps = int(per_epoch) * max(int(trainer.max_epochs or 1), 1)
        return min(steps, trainer.max_steps) if trainer.max_steps > 0 else steps

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())
