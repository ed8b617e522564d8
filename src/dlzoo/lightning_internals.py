"""Every use of Lightning's (and torchmetrics') private API, in one place.

dlzoo needs a few things Lightning has no public API for: knowing whether this step is one
the loggers write, stepping an optimizer without Lightning's per-step hooks, applying a
training loader's saved position, carrying running epoch sums across a resume, calling
only the callback hooks a callback defines. Each is a
small function here; ``tests/reliability/test_lightning_internals.py`` fails loudly when an upgrade of
Lightning removes or renames any of them (``pyproject.toml`` pins the minor versions tested).
"""

from __future__ import annotations

import time
import typing
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.profilers import PassThroughProfiler
from torch import Tensor

#: Lightning's accepted ``trainer.precision`` values, plus dlzoo's ``auto``
PRECISIONS: tuple[str, ...]
#: Lightning's accelerator names, plus its ``auto`` and ``gpu`` aliases
ACCELERATORS: tuple[str, ...]


def _precisions() -> tuple[str, ...]:
    from lightning.fabric.plugins.precision import precision as fabric_precision

    names: list[str] = []
    for alias in ("_PRECISION_INPUT_STR", "_PRECISION_INPUT_STR_ALIAS", "_PRECISION_INPUT_INT"):
        names += [str(v) for v in typing.get_args(getattr(fabric_precision, alias))]
    return (*dict.fromkeys(names), "auto")


def _accelerators() -> tuple[str, ...]:
    from lightning.pytorch.accelerators import AcceleratorRegistry

    return ("auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators()))


PRECISIONS = _precisions()
ACCELERATORS = _accelerators()


# -- the module's trainer ----------------------------------------------------------------
def attached_trainer(module: L.LightningModule) -> L.Trainer | None:
    """The trainer ``module`` is attached to, or ``None`` (``module.trainer`` raises then)."""
    return module._trainer


def batches_that_stepped(trainer: L.Trainer) -> int:
    """The step the loggers use (Lightning counts training calls; they differ from optimizer
    steps when several optimizer steps run per call)."""
    loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
    return int(getattr(loop, "_batches_that_stepped", trainer.global_step))


# -- logging -----------------------------------------------------------------------------
def should_update_logs(trainer: L.Trainer) -> bool:
    """True on the steps whose logged values the loggers write (``log_every_n_steps``)."""
    return bool(trainer._logger_connector.should_update_logs)


def flush_step_logs(trainer: L.Trainer) -> None:
    """Send this step's logged values to the loggers now, as Lightning does right after
    ``on_train_batch_end`` (for a run about to stop inside that hook)."""
    trainer._logger_connector.on_batch_end()
    trainer._logger_connector.update_train_step_metrics()


def tensorboard_file_writer(experiment: Any) -> Any:
    """The ``FileWriter`` behind a ``SummaryWriter`` (to write raw summaries: HPARAMS)."""
    return experiment._get_file_writer()


# -- optimizer steps -----------------------------------------------------------------------
def is_full_precision(trainer: L.Trainer) -> bool:
    return type(trainer.precision_plugin) is Precision


def can_step_bare(optimizer: Any) -> bool:
    return hasattr(optimizer, "_on_before_step") and hasattr(optimizer, "_on_after_step")


def bare_optimizer_step(optimizer: Any, loss: Tensor) -> None:
    """zero_grad, backward and step on a ``LightningOptimizer``'s inner optimizer, keeping
    ``trainer.global_step`` counting (its before/after hooks) without the per-step hooks."""
    optimizer.optimizer.zero_grad()
    loss.backward()
    optimizer._on_before_step()
    optimizer.optimizer.step()
    optimizer._on_after_step()


# -- the training loader -----------------------------------------------------------------
def train_loader_steps_per_epoch(trainer: L.Trainer) -> int | None:
    """``steps_per_epoch`` of the training loader Lightning set up, if it has one."""
    loader = trainer.fit_loop._combined_loader
    value = getattr(getattr(loader, "iterables", None), "steps_per_epoch", None)
    return None if value is None else int(value)


def apply_pending_loader_state(trainer: L.Trainer) -> None:
    """Apply a resumed training loader's saved position if Lightning has not yet."""
    fit_loop = trainer.fit_loop
    if fit_loop._combined_loader_states_to_load:
        fit_loop._load_combined_loader_states()


# -- running epoch sums ------------------------------------------------------------------
def running_epoch_means(trainer: L.Trainer) -> dict[str, Any]:
    """The running ``self.log(..., on_epoch=True)`` means of the training epoch, by key."""
    from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultMetric

    return {
        key: rm
        for key, rm in trainer.fit_loop.epoch_loop._results.items()
        if isinstance(rm, _ResultMetric)
        and rm.is_tensor
        and rm.meta.on_epoch
        and rm.meta.is_mean_reduction
    }


def metric_sum_states(metric: Any) -> list[str]:
    """Names of a torchmetrics ``Metric``'s tensor states reduced by summing."""
    import torch
    from torchmetrics.utilities.data import dim_zero_sum

    return [
        s
        for s, fx in metric._reductions.items()
        if fx in (dim_zero_sum, torch.sum) and isinstance(getattr(metric, s), Tensor)
    ]


def metric_update_count(metric: Any) -> int:
    return int(metric._update_count)


def add_metric_updates(metric: Any, updates: int) -> None:
    """Count ``updates`` more updates and drop the cached result (after adding states)."""
    metric._update_count += updates
    metric._computed = None


# -- callback dispatch -------------------------------------------------------------------
def _dispatch_to_overriding_callbacks(
    trainer: L.Trainer,
    hook_name: str,
    *args: Any,
    monitoring_callbacks: bool | None = None,
    **kwargs: Any,
) -> None:
    """Lightning's ``call._call_callback_hooks`` without calling the hooks a callback only
    inherits from ``Callback`` (they do nothing). Lightning calls every callback at every
    hook, each call in a profiler section named after the callback's ``state_key``: with
    16 callbacks and six hooks a step, about 100 empty calls an optimizer step."""
    module = trainer.lightning_module
    if module is not None:
        previous = module._current_fx_name
        module._current_fx_name = hook_name
    callbacks = trainer.callbacks
    if monitoring_callbacks is not None:
        monitors = (EarlyStopping, Checkpoint)
        callbacks = [c for c in callbacks if isinstance(c, monitors) == monitoring_callbacks]
    inherited = getattr(Callback, hook_name, None)
    for callback in callbacks:
        fn = getattr(callback, hook_name)
        if callable(fn) and getattr(fn, "__func__", None) is not inherited:
            fn(trainer, module, *args, **kwargs)
    if module is not None:
        module._current_fx_name = previous


def skip_inherited_callback_hooks(trainer: L.Trainer) -> None:
    """Make ``trainer`` call only the callback hooks a callback defines (same calls, same
    order). Other trainers in the process, and this one when a profiler is set
    (``trainer.profiler=simple``: its report names every hook), keep Lightning's dispatch."""
    from lightning.pytorch.trainer import call

    lightning_dispatch = call._call_callback_hooks
    if not getattr(lightning_dispatch, "skips_inherited_hooks", False):

        def dispatch(trainer: L.Trainer, hook_name: str, *args: Any, **kwargs: Any) -> None:
            fast = getattr(trainer, "_dlzoo_skip_inherited_hooks", False)
            if fast and isinstance(trainer.profiler, PassThroughProfiler):
                _dispatch_to_overriding_callbacks(trainer, hook_name, *args, **kwargs)
            else:
                lightning_dispatch(trainer, hook_name, *args, **kwargs)

        dispatch.skips_inherited_hooks = True  # type: ignore[attr-defined]
        call._call_callback_hooks = dispatch
    trainer._dlzoo_skip_inherited_hooks = True  # type: ignore[attr-defined]


# -- checkpoints ---------------------------------------------------------------------------
def completed_epochs(checkpoint: Mapping[str, Any]) -> int | None:
    """Epochs whose training a saved fit loop had finished (``processed``: an epoch-end
    checkpoint is written before Lightning counts the epoch ``completed``); None for a
    checkpoint without loop state."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {})
    done = progress.get("current", {}).get("processed")
    return int(done) if isinstance(done, int) else None


class ModelCheckpointWithLast(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` whose ``last.ckpt`` holds the last state, always.

    Since Lightning 2.6, ``save_last`` writes ``last.ckpt`` only when a top-k checkpoint was
    written at the same step, so after the best epoch ``last.ckpt`` stops moving: a resume
    or an extension then restarts at the best epoch. This writes it at every checkpoint
    event that did not already write it.

    ``every_n_train_steps`` and ``train_time_interval`` (for long epochs and preemptible
    jobs) refresh ``last.ckpt`` during the epoch, on top of the epoch-end saves. In
    Lightning they replace the epoch-end saves, and the best checkpoint is then chosen only
    at those steps, by a validation metric that may not exist yet (no best checkpoint at
    all when the run is shorter than the interval).
    """

    _last_written_step: int | None = None
    #: the tie-breaking metric's value at the kept best checkpoint
    _best_tiebreak: float | None = None

    def __init__(
        self,
        *args: Any,
        every_n_train_steps: int | None = None,
        train_time_interval: timedelta | float | None = None,
        tiebreak: str | None = "val/loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        #: an epoch that equals the best monitored value replaces it when this metric is
        #: lower: on 15 validation rows, accuracy ties are common, and the first epoch to
        #: reach the best accuracy is seldom the best model
        self.tiebreak = tiebreak if tiebreak != self.monitor else None
        self.last_every_n_train_steps = every_n_train_steps or 0
        if train_time_interval is not None and not isinstance(train_time_interval, timedelta):
            train_time_interval = timedelta(seconds=float(train_time_interval))  # seconds
        self.last_time_interval = train_time_interval
        self._last_written_at = time.monotonic()

    def check_monitor_top_k(self, trainer: L.Trainer, current: Tensor | None = None) -> bool:
        if super().check_monitor_top_k(trainer, current):
            return True
        if current is None or self.save_top_k != 1 or not self.tiebreak or not self.best_k_models:
            return False
        kept = self.best_k_models[self.kth_best_model_path]
        loss = trainer.callback_metrics.get(self.tiebreak)
        better = (
            bool(current == kept)
            and loss is not None
            and self._best_tiebreak is not None
            and float(loss) < self._best_tiebreak
        )
        return trainer.strategy.reduce_boolean_decision(better)

    def _update_best_and_save(
        self, current: Tensor, trainer: L.Trainer, monitor_candidates: dict[str, Tensor]
    ) -> None:
        super()._update_best_and_save(current, trainer, monitor_candidates)
        loss = monitor_candidates.get(self.tiebreak) if self.tiebreak else None
        self._best_tiebreak = None if loss is None else float(loss)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "best_tiebreak": self._best_tiebreak}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._best_tiebreak = state_dict.get("best_tiebreak")

    def _mid_epoch_due(self, trainer: L.Trainer) -> bool:
        every = self.last_every_n_train_steps
        previous = self._last_written_step or 0  # none yet: the fit's start (0 or resumed)
        due = bool(every) and trainer.global_step // every > previous // every
        if self.last_time_interval is not None:
            elapsed = time.monotonic() - self._last_written_at
            # every rank must take the same decision: a save is collective
            due = due or trainer.strategy.broadcast(
                elapsed >= self.last_time_interval.total_seconds()
            )
        return due

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        if self._last_written_step is None:
            self._last_written_step = trainer.global_step  # a resumed fit's step: on disk
        self._last_written_at = time.monotonic()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        if self._mid_epoch_due(trainer):
            saved_step = self._last_global_step_saved
            self._write_last(trainer)
            # Lightning skips every save at a step it already saved: on an epoch's last
            # step that would skip the validation's best-checkpoint save
            self._last_global_step_saved = saved_step

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: Any) -> None:
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_written_step = trainer.global_step
        self._last_written_at = time.monotonic()

    def _write_last(self, trainer: L.Trainer) -> None:
        if (
            self.save_last
            and trainer.global_step != self._last_written_step
            and not trainer.sanity_checking
            and not trainer.fast_dev_run
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._write_last(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._write_last(trainer)


class RichProgressCountingFromOne(RichProgressBar):
    """Lightning's rich bar with its epochs counted from 1 ("Epoch 1/3" for the first of
    three; Lightning writes "Epoch 0/2"), like dlzoo's plain progress lines and messages."""

    def _get_train_description(self, current_epoch: int) -> str:
        text = f"Epoch {current_epoch + 1}"
        if self.trainer.max_epochs is not None and self.trainer.max_epochs > 0:
            text += f"/{self.trainer.max_epochs}"
        width = len(self.validation_description)  # as Lightning pads: no flicker
        return f"{text:{width}}" if width > len(text) else text
