"""The thin base of every task: a network, an optimizer and scheduler, metrics per stage.

A task type (one file in this package, registered with :func:`dlzoo.tasks.registry.register`)
declares in one place what it needs and does: its name, its data-spec family, how many
outputs a network needs, which models fit it, one shared step ``batch -> loss, predictions,
targets`` used by training, validation and test, its metrics, its monitor metric, and how an
output becomes what a user reads.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from dlzoo import lightning_internals as internals
from dlzoo.data.spec import DataSpec
from dlzoo.inference.labels import LabelPredictor
from dlzoo.inference.predictor import Predictor
from dlzoo.tasks.train_records import TrainRecords, WeightedMean

log = logging.getLogger(__name__)

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


@dataclass(frozen=True)
class Baseline:
    """What a model that learned nothing scores: ``metric`` (a test metric the task logs)
    reaches ``value`` by ``how`` (e.g. predicting the majority class)."""

    metric: str
    value: float
    how: str
    higher_is_better: bool

    def beaten_by(self, value: float) -> bool:
        return value > self.value if self.higher_is_better else value < self.value


@dataclass
class StepOutput:
    """What the shared step returns: the loss to minimise (``None`` outside training for a
    network that computes no loss there), what the metrics compare (``preds``/``targets``,
    detached; any types the metrics take, e.g. lists of dicts), and how many examples the
    batch held."""

    loss: Tensor | None
    preds: Any
    targets: Any
    size: int


class Task(L.LightningModule):
    """Trains ``net`` with an injected optimizer and scheduler; subclasses define the rest.

    Args:
        net: the network (a plain ``nn.Module``).
        optimizer: a factory taking the parameters (a Hydra ``_partial_`` optimizer).
        scheduler: ``None`` or a mapping with ``scheduler`` (a factory taking the optimizer)
            and Lightning's ``interval``/``frequency``/``monitor``. A factory that accepts
            ``total_steps`` (one-cycle) gets the number of optimizer steps of the fit.
        spec: the data spec the task was built for (class names, target scaling...).
    """

    #: the registry name (``model.tasks`` lists these)
    task: ClassVar[str] = ""
    #: the data-spec family this task trains on
    spec_type: ClassVar[type[DataSpec]] = DataSpec
    #: the validation metric that picks the best checkpoint, and whether higher is better
    monitor: ClassVar[str] = "val/loss"
    monitor_mode: ClassVar[str] = "min"
    #: the model configs that fit this task, for the "models that fit it" hint
    fitting_models: ClassVar[str] = ""
    #: whether ``speed.steps_per_call > 1`` can cut this task's batches into steps
    supports_steps_per_call: ClassVar[bool] = False
    #: whether ``metrics.json`` holds the last epoch's validation figures beside the test's
    record_final_validation: ClassVar[bool] = False
    #: how ``scripts/predict.py`` reads this task's inputs and reports its predictions
    predictor: ClassVar[type[Predictor]] = LabelPredictor

    #: feed image batches in channels-last memory format (``channels_last``)
    channels_last: bool = False
    #: update the training metrics every step (``speed.train_metrics``)
    train_metrics_enabled: bool = True

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: Mapping[str, Any] | None = None,
        spec: DataSpec | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_config = dict(scheduler) if scheduler else None
        self.spec = spec
        #: several optimizer steps per call (``speed.steps_per_call``), or ``None``
        self.multi_step: Any = None
        metrics = self.make_metrics()
        self.train_metrics = metrics.clone(prefix="train/")
        for metric in self.train_metrics.values():
            # torchmetrics checks every update's labels (``torch.unique``: a host sync on a
            # GPU, every training step); the datamodules check labels once when loading
            if hasattr(metric, "validate_args"):
                metric.validate_args = False
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        # the epoch mean of the training loss, accumulated without a host sync
        self.train_loss_mean = WeightedMean()
        # the steps' losses and predictions, applied to those two a few dozen at a time
        self.train_records = TrainRecords(self.train_loss_mean, self.train_metrics)
        self._epoch_logged = False

    # -- what a task type declares ---------------------------------------------------------
    @classmethod
    def accepts(cls, spec: DataSpec) -> bool:
        """Whether this task can train on data of this spec."""
        return isinstance(spec, cls.spec_type)

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        """How many outputs a network needs for this data."""
        raise NotImplementedError

    @classmethod
    def network_kwargs(cls, spec: DataSpec) -> dict[str, Any]:
        """Sizes beyond ``input_shape`` and ``num_outputs`` that a network of this task
        takes from the data (an encoder-decoder's source vocabulary)."""
        return {}

    def make_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline | None:
        """The test score of the simplest guess from the training targets alone, so a run
        that learned nothing can say so; ``None`` when the task has none."""
        return None

    def shared_step(self, batch: Any, stage: str) -> StepOutput:
        """One batch: loss, what the metrics compare, batch size (train, val and test)."""
        raise NotImplementedError

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        """Network outputs as the user reads them (probabilities, values in the target's
        units)."""
        return outputs

    def readable(self, outputs: Tensor, k: int = 3) -> list[Any]:
        """Per example, the prediction a person reads (``predict_outputs`` first)."""
        return outputs.tolist()

    def example_input(self, batch_size: int = 2) -> Tensor:
        """A batch of inputs of the training shape (for tracing and export)."""
        assert self.spec is not None
        return torch.zeros(batch_size, *self.spec.input_shape)

    def exportable_net(self) -> nn.Module:
        """The network as an exported file should run it: inputs in, outputs out. A task
        whose networks cannot be exported raises a :class:`ConfigError` saying why."""
        return self.net

    #: input dimensions an exported file leaves free (ONNX ``dynamic_axes``)
    export_free_dims: ClassVar[dict[int, str]] = {0: "batch"}
    #: the names of the exported file's outputs, in the network's order
    export_output_names: ClassVar[tuple[str, ...]] = ("output",)

    def export_outputs(self) -> Any:
        """What the exported file's outputs are and how to read them (the sidecar's
        ``outputs``)."""
        return "logits, one per class_names entry"

    def export_info(self, datamodule: Any) -> dict[str, Any]:
        """The exported file's JSON sidecar: its inputs and outputs, and what a user must do
        to raw inputs (the constants the training run fitted, scalers, vocabularies)."""
        assert self.spec is not None
        info: dict[str, Any] = {
            "input_shape": list(self.spec.input_shape),
            "task": self.task,
            "class_names": list(self.class_names),
            "output_names": list(self.export_output_names),
            "outputs": self.export_outputs(),
        }
        example = self.example_input()
        info["input_dtype"] = str(example.dtype).removeprefix("torch.")
        info["free_dims"] = {str(k): v for k, v in self.export_free_dims.items()}
        if self.spec.is_image:
            mean, std = getattr(datamodule, "mean", None), getattr(datamodule, "std", None)
            steps = ["float in [0, 1] (uint8 / 255)", "then resize"]
            if mean is not None and std is not None:
                steps.append("then (x - mean) / std")
            info.update(
                resize=getattr(datamodule, "resize", None),
                mean=mean,
                std=std,
                pixels=", ".join(steps),
            )
        fitted = datamodule.state_dict()
        if fitted:
            info["fitted_preprocessing"] = fitted
        return info

    # -- Lightning hooks -------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _evaluate(self, batch: Any, stage: str, metrics: MetricCollection) -> Tensor:
        out = self.shared_step(batch, stage)
        metrics.update(out.preds, out.targets)
        # validation/test losses are averaged over all DDP ranks (sync_dist); a task whose
        # network has no loss outside training (torchvision's detectors) returns None
        if out.loss is not None:
            self.log(
                f"{stage}/loss",
                out.loss,
                on_step=False,
                on_epoch=True,
                prog_bar=True,
                batch_size=out.size,
                sync_dist=True,
            )
        self.log_metrics(metrics, stage)
        return out.loss

    def log_metrics(self, metrics: MetricCollection, stage: str) -> None:
        """Hand a stage's metric objects to Lightning, which computes them at epoch end.
        A task whose metrics compute a dict (mAP) overrides this to log the values itself."""
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage != "train")

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        return self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch: Any, batch_idx: int) -> Tensor:
        return self._evaluate(batch, "test", self.test_metrics)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self.predict_outputs(self(x))

    # -- training: cheap per-step bookkeeping ----------------------------------------------
    # Lightning's ``self.log`` costs far more than a small model's step on a CPU, so the
    # training step does not call it every step: the loss and predictions are gathered and
    # applied to a running mean and the training metrics a few dozen steps at a time (tensor
    # sums, no host sync; ``flush_train_records`` before anything reads them),
    # ``train/loss_step`` is logged only on the steps the loggers write
    # (``trainer.log_every_n_steps``), and the epoch values (``train/loss_epoch``, the
    # training metrics) are logged as metric objects that Lightning computes at epoch end.
    # The training loss is rank zero's under DDP (no all-reduce per step).
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        if self.multi_step is not None:
            return self.multi_step.training_step(self, batch)
        out = self.shared_step(batch, "train")
        self.record_train(out)
        return out.loss

    def record_train(self, out: StepOutput) -> None:
        preds = out.preds if self.train_metrics_enabled else None
        self.train_records.add(out.loss, out.size, preds, out.targets)
        if not self._epoch_logged:  # once per epoch: Lightning keeps the reference
            self._epoch_logged = True
            self.log("train/loss_epoch", self.train_loss_mean, on_step=False, on_epoch=True)
            if self.train_metrics_enabled:
                self.log_metrics(self.train_metrics, "train")
        trainer = internals.attached_trainer(self)
        if trainer is not None and internals.should_update_logs(trainer):
            self.log("train/loss_step", out.loss, on_step=True, on_epoch=False, prog_bar=True)

    def flush_train_records(self) -> None:
        """Apply the gathered training steps to the epoch's metric objects: called before
        they are computed (epoch end) or saved (checkpoints)."""
        self.train_records.flush()

    def on_fit_start(self) -> None:
        # non-parametric networks (Nadaraya-Watson, nearest neighbours) keep the training
        # pairs themselves: hand them over once the datamodule has loaded them
        remember = getattr(self.net, "remember_training_data", None)
        splits = getattr(getattr(self.trainer, "datamodule", None), "splits", None)
        if remember is not None and splits and "train" in splits:
            x, y = splits["train"][:2]
            remember(x.to(self.device), y.to(self.device))

    def on_train_epoch_start(self) -> None:
        self._epoch_logged = False

    def on_train_start(self) -> None:
        self._extend_finished_schedules()

    def _extend_finished_schedules(self) -> None:
        """A run extended past its planned length (``resume=<run> trainer.max_epochs=N``
        after it completed) restores a one-cycle schedule that already ended. It gets a new
        one-cycle over the added steps: warm-up to the peak again, then annealing."""
        trainer = self.trainer
        needed = self.estimated_optimizer_steps()
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if not isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR):
                continue
            if scheduler.total_steps >= needed or self.scheduler_config is None:
                continue
            remaining = needed - trainer.global_step
            for group in scheduler.optimizer.param_groups:  # a fresh schedule sets these
                for key in ("initial_lr", "max_lr", "min_lr"):
                    group.pop(key, None)
            config.scheduler = self._make_scheduler(scheduler.optimizer, max(remaining, 1))
            log.info(
                "the run is extended past its one-cycle schedule (%d steps): a new one-cycle "
                "schedule covers the %d added steps",
                scheduler.total_steps,
                remaining,
            )

    def on_train_epoch_end(self) -> None:
        if self.multi_step is not None:
            self.multi_step.on_train_epoch_end(self)

    def configure_optimizers(self) -> Any:
        # a network may ask for parameter groups (a fine-tuned head at its own rate)
        groups = getattr(self.net, "parameter_groups", None)
        optimizer = self.optimizer_factory(groups() if groups else self.parameters())
        base = optimizer.defaults.get("lr")
        # each group's rate relative to optimizer.lr: a schedule that sets its own peak
        # (one-cycle) keeps a head's head_lr in proportion
        self._group_lr_ratios = [float(g["lr"]) / base if base else 1.0
                                 for g in optimizer.param_groups]  # fmt: skip
        if not self.scheduler_config:
            return optimizer
        config = dict(self.scheduler_config)
        config.pop("scheduler")
        scheduler = self._make_scheduler(optimizer)
        if self.multi_step is not None:
            self.multi_step.check_scheduler(scheduler)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **config}}

    def _make_scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int | None = None
    ) -> Any:
        """The configured scheduler; one that takes ``total_steps`` (one-cycle) gets the
        fit's optimizer steps (or ``total_steps``), and momentum cycling only where the
        optimizer has momentum (plain SGD, AdaGrad and Adadelta do not)."""
        assert self.scheduler_config is not None
        factory = self.scheduler_config["scheduler"]
        params = inspect.signature(factory).parameters
        given = getattr(factory, "keywords", {})
        kwargs: dict[str, Any] = {}
        if "total_steps" in params and (total_steps or not given.get("total_steps")):
            kwargs["total_steps"] = total_steps or self.estimated_optimizer_steps()
        ratios = getattr(self, "_group_lr_ratios", None)
        peak = given.get("max_lr")
        if "max_lr" in params and isinstance(peak, int | float) and ratios and len(ratios) > 1:
            kwargs["max_lr"] = [float(peak) * r for r in ratios]  # one peak per group
        if "cycle_momentum" in params and "cycle_momentum" not in given:
            defaults = optimizer.defaults
            kwargs["cycle_momentum"] = "betas" in defaults or defaults.get("momentum", 0) > 0
        if "pct_start" in params and "total_steps" in kwargs:
            pct_start = short_run_warmup(kwargs["total_steps"], given.get("pct_start", 0.3))
            if pct_start is None:
                return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
            kwargs["pct_start"] = pct_start
        return factory(optimizer, **kwargs)

    def estimated_optimizer_steps(self) -> int:
        """Optimizer steps of the whole fit (what one-cycle needs as ``total_steps``)."""
        calls = int(self.trainer.estimated_stepping_batches)
        if self.multi_step is None:
            return calls
        return self.multi_step.optimizer_steps(self.trainer, calls)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Label names (classification) or tokens (language models); empty otherwise."""
        return tuple(getattr(self.spec, "class_names", ()))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


def short_run_warmup(total_steps: int, pct_start: float) -> float | None:
    """One-cycle's warm-up share for a run of ``total_steps`` optimizer steps: as given when
    the warm-up lasts at least two steps; stretched to two steps when it would be shorter
    (torch divides by zero when it would end on step 0, as ``pct_start`` 0.25 does over 4
    steps); ``None`` for runs of 1-2 steps, which train at the peak rate throughout."""
    if total_steps <= 2:
        log.info("a %d-step run: one-cycle needs 3 or more steps, so the rate stays at its "
                 "peak (optimizer.lr)", total_steps)  # fmt: skip
        return None
    if pct_start * total_steps >= 2:
        return pct_start
    log.info("a %d-step run: one-cycle's warm-up stretched to 2 steps (pct_start %.2f)",
             total_steps, 2 / total_steps)  # fmt: skip
    return 2 / total_steps
