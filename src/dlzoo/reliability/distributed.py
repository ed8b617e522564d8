"""Bookkeeping for spawn-based DDP (``trainer=ddp_cpu``), where training runs in child
processes and the main process only gets back what Lightning sends it."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

#: callback_metrics keys that carry the summary from the rank-zero worker to the main process
KEYS = {"epochs": "dlzoo/epochs", "global_steps": "dlzoo/global_steps", "best": "dlzoo/best"}


class FitSummary(Callback):
    """At the end of training, puts the epoch and step counts and the best monitored score in
    ``trainer.callback_metrics``, which Lightning's spawn launcher copies back to the main
    process (the loops' own counters stay at zero there)."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.callback_metrics[KEYS["epochs"]] = torch.tensor(trainer.current_epoch)
        trainer.callback_metrics[KEYS["global_steps"]] = torch.tensor(trainer.global_step)
        cb = trainer.checkpoint_callback
        if isinstance(cb, ModelCheckpoint) and cb.best_model_score is not None:
            trainer.callback_metrics[KEYS["best"]] = cb.best_model_score.detach().cpu()


def fit_summary(trainer: L.Trainer) -> dict[str, Any]:
    """Epochs, steps and best score of the finished fit, wherever it ran."""
    metrics = trainer.callback_metrics
    cb = trainer.checkpoint_callback
    best = cb.best_model_score if isinstance(cb, ModelCheckpoint) else None
    if best is None and KEYS["best"] in metrics:
        best = metrics[KEYS["best"]]
    epochs, steps = trainer.current_epoch, trainer.global_step
    if steps == 0 and KEYS["global_steps"] in metrics:  # trained in spawned workers
        epochs = int(metrics[KEYS["epochs"]])
        steps = int(metrics[KEYS["global_steps"]])
    for key in KEYS.values():
        metrics.pop(key, None)
    last = cb.last_model_path if isinstance(cb, ModelCheckpoint) else ""
    if not last and isinstance(cb, ModelCheckpoint) and cb.dirpath and cb.save_last:
        candidate = f"{cb.dirpath}/{cb.CHECKPOINT_NAME_LAST}{cb.FILE_EXTENSION}"
        last = candidate if os.path.isfile(candidate) else ""
    best_value = float(best) if best is not None else None
    if best_value is not None and not math.isfinite(best_value):
        best_value = None
    return {"epochs": epochs, "global_steps": steps, "best": best_value, "last": last or None}


def from_worker(err: BaseException) -> BaseException:
    """``ddp_spawn`` re-raises a worker's exception in the main process as a
    ``ProcessRaisedException`` holding only the traceback text; turn dlzoo's divergence and
    Ctrl-C errors back into their own types (so they get their status and exit code)."""
    from dlzoo.errors import TrainingDiverged, TrainingInterrupted

    text = str(err)
    for cls in (TrainingDiverged, TrainingInterrupted):
        marker = f"{cls.__module__}.{cls.__name__}: "
        if marker in text:
            message = text.split(marker, 1)[1].strip()
            new = cls(message)
            # the worker's step and checkpoint, which the main process's trainer lacks
            if step := re.search(r" at step (\d+) ", message):
                new.step = int(step.group(1))  # type: ignore[attr-defined]
            if "interrupted (SIGTERM)" in message:
                new.exit_code = 143  # type: ignore[attr-defined]
            if path := re.search(r"(?:kept: |checkpoint saved to )(\S+?)\.?(?:\n|$)", message):
                new.checkpoint = path.group(1)  # type: ignore[attr-defined]
            return new
    return err


@contextlib.contextmanager
def main_process_ignores_sigint(trainer: L.Trainer) -> Iterator[None]:
    """With spawned DDP workers, a Ctrl-C reaches the whole process group: the workers save a
    checkpoint and stop cleanly (``TrainingGuard``), while the main process, which only
    waits for them, must not abort on it."""
    from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher

    spawned = isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)
    if not spawned or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
