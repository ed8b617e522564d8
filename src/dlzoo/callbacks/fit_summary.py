"""What a fit ended with (epochs, steps, best and last checkpoint), readable after spawned DDP workers exit."""

from __future__ import annotations

import math
import os
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from dlzoo.records.metrics_file import to_float

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
    final_val = {k: to_float(v) for k, v in metrics.items() if k.startswith("val/")}
    return {"epochs": epochs, "global_steps": steps, "best": best_value, "last": last or None,
            "final_val": final_val}  # fmt: skip
