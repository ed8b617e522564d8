"""The training epoch's running averages: complete when read, carried across a mid-epoch
resume."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from dlzoo import lightning_internals as internals

log = logging.getLogger(__name__)


class TrainEpochAggregates(Callback):
    """Carries the running epoch averages of the training metrics across a mid-epoch resume.

    Lightning checkpoints neither its running ``self.log(..., on_epoch=True)`` sums nor the
    states of torchmetrics objects, so without this the interrupted epoch's ``train/loss_epoch``
    and ``train/acc`` would average only the batches after the resume. Saved: the sum and count
    of every mean-reduced training log, and the sum-reduced states of the module's training
    metrics (``train_metrics``); added back after the first batch of the resumed epoch.

    The task gathers its training steps before updating those metrics
    (``Task.flush_train_records``): this callback has them applied before a checkpoint saves
    the states and at the epoch's end, before any callback reads the epoch's values; it must
    come first among the callbacks.

    Uses Lightning internals (2.6); if they change, it logs a warning and the averages fall
    back to the post-resume batches. Under DDP the saved part is rank zero's.
    """

    def __init__(self) -> None:
        self.fit_trainer: L.Trainer | None = None
        self.fit_module: L.LightningModule | None = None
        self._pending: dict[str, Any] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.fit_trainer, self.fit_module = trainer, pl_module

    def _train_metrics(self) -> dict[str, Any]:
        from torchmetrics import Metric

        if self.fit_module is None:
            return {}
        return {
            name: m
            for name, m in self.fit_module.named_modules()
            if isinstance(m, Metric) and name.startswith("train")
        }

    def _flush(self) -> None:
        flush = getattr(self.fit_module, "flush_train_records", None)
        if flush is not None:
            flush()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush()

    def state_dict(self) -> dict[str, Any]:
        if self.fit_trainer is None:
            return {}
        self._flush()
        try:
            logged = {
                key: {
                    "value": rm.value.detach().cpu().clone(),
                    "count": rm.cumulated_batch_size.detach().cpu().clone(),
                }
                for key, rm in internals.running_epoch_means(self.fit_trainer).items()
            }
            metrics = {
                name: {
                    "updates": internals.metric_update_count(m),
                    "states": {
                        s: getattr(m, s).detach().cpu().clone()
                        for s in internals.metric_sum_states(m)
                    },
                }
                for name, m in self._train_metrics().items()
            }
            return {"logged": logged, "metrics": metrics}
        except Exception as err:  # internals changed: resume still works, averages do not
            log.warning("cannot save the running training averages (%s)", err)
            return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict or None

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        pending, self._pending = self._pending, None
        if not pending or batch_idx == 0:  # resumed at an epoch start: nothing to carry
            return
        try:
            results = internals.running_epoch_means(trainer)
            for key, saved in pending.get("logged", {}).items():
                rm = results.get(key)
                if rm is None:
                    continue
                rm.value = rm.value + saved["value"].to(rm.value.device, rm.value.dtype)
                rm.cumulated_batch_size = rm.cumulated_batch_size + saved["count"].to(
                    rm.cumulated_batch_size.device
                )
            current = self._train_metrics()
            for name, saved in pending.get("metrics", {}).items():
                metric = current.get(name)
                if metric is None:
                    continue
                for s, value in saved["states"].items():
                    now = getattr(metric, s)
                    setattr(metric, s, now + value.to(now.device, now.dtype))
                internals.add_metric_updates(metric, saved["updates"])
        except Exception as err:
            log.warning("cannot restore the running training averages (%s)", err)
