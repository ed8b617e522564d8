"""Evaluation: rebuild data and model from a checkpoint and test it."""

from __future__ import annotations

import logging
from typing import Any

import hydra
import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from dlzoo.callbacks.progress import progress_bar
from dlzoo.config.builders import resolve_precision
from dlzoo.config.restore import restore
from dlzoo.errors import DataError
from dlzoo.inference.restored import Restored
from dlzoo.records.data_fingerprint import changes, fingerprint
from dlzoo.records.metrics_file import to_float, write_metrics

log = logging.getLogger(__name__)


def training_precision(model: Restored) -> str | None:
    """The precision the run trained and tested in (its saved config shows the choice), so
    that eval reproduces the run's own test figures (a bf16 run tested in 32-bit differs in
    the fourth digit); ``None`` where it cannot be repeated here (16-bit without a GPU)."""
    saved = str(OmegaConf.select(model.config, "trainer.precision") or "")
    if not saved or saved == "auto" or (saved.startswith("16") and not torch.cuda.is_available()):
        return None
    return saved


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test ``cfg.ckpt_path`` on the test split of the data it was trained on.

    Only this machine's data directory replaces the training run's; every other setting
    (data split, normalisation, model) comes from the checkpoint.
    """
    model = restore(
        cfg.ckpt_path,
        data_dir=cfg.paths.data_dir,
        data_overrides=cfg.get("data_overrides"),
        trust=cfg.get("trust_checkpoint", False),
    )
    files = check_data_files(model, cfg.get("allow_changed_data", False))
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    if cfg.trainer.get("precision") == "auto":
        cfg.trainer.precision = training_precision(model) or resolve_precision(cfg.trainer)
    # a bar on a terminal; redirected to a file, no bar drawn into it
    bar = [progress_bar()] if cfg.trainer.get("enable_progress_bar", True) is not False else []
    trainer: L.Trainer = hydra.utils.instantiate(
        cfg.trainer, logger=loggers or False, callbacks=bar
    )
    results = trainer.test(model.module, datamodule=model.datamodule)
    metrics = {k: to_float(v) for k, v in (results[0] if results else {}).items()}
    record = {
        "status": "completed",
        "checkpoint": str(model.checkpoint_path.resolve()),
        "model": model.config.model.get("name"),
        "data": model.config.data.get("name"),
        "precision": str(trainer.precision),  # the run's unless trainer.precision= said
        "metrics": metrics,
    }
    if files:  # the user's files it evaluated on, and whether they changed since training
        record["data_files"] = files
    if trainer.is_global_zero:
        written = write_metrics(cfg.paths.output_dir, record)
        log.info("checkpoint: %s", record["checkpoint"])
        log.info(
            "metrics: %s", ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if v is not None)
        )
        log.info("record: %s", written)
    return record


def check_data_files(model: Restored, allow_changed: bool) -> dict[str, Any]:
    """The user's data files as they are now; edited since training, they would give test
    figures for a split the model was not trained against: refused, unless allowed."""
    now = fingerprint(model.config.data)
    changed = changes(model.data_fingerprint, now)
    if changed and not allow_changed:
        raise DataError(
            f"{'; '.join(changed)}: the test split is not the one this model was trained "
            f"against. allow_changed_data=true evaluates on the files as they are now"
        )
    for change in changed:
        log.warning("%s: evaluating on the files as they are now", change)
    return {"files": now, "changed_since_training": changed} if now else {}
