"""Evaluation: rebuild data and model from a checkpoint and test it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig, open_dict

from dlzoo.builders import build_datamodule, build_task, resolve_precision
from dlzoo.checkpoints import config_from_checkpoint, load_checkpoint
from dlzoo.utils.records import to_float, write_metrics

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test ``cfg.ckpt_path`` on the test split of the data it was trained on.

    Only this machine's data directory replaces the training run's; every other setting
    (data split, normalisation, model) comes from the checkpoint.
    """
    checkpoint = load_checkpoint(cfg.ckpt_path, trust=cfg.get("trust_checkpoint", False))
    train_cfg = config_from_checkpoint(checkpoint, cfg.ckpt_path)
    with open_dict(train_cfg):
        if "data_dir" in train_cfg.data:
            train_cfg.data.data_dir = cfg.paths.data_dir
        for key, value in (cfg.get("data_overrides") or {}).items():
            train_cfg.data[key] = value
        for key in ("weights", "weights_file"):  # pretrained starting points: the
            if train_cfg.model.net.get(key) is not None:  # checkpoint's weights replace them
                train_cfg.model.net[key] = None
    datamodule = build_datamodule(train_cfg.data)
    module = build_task(train_cfg, datamodule.spec)
    module.load_state_dict(checkpoint["state_dict"])

    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    if cfg.trainer.get("precision") == "auto":
        cfg.trainer.precision = resolve_precision(cfg.trainer)
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, logger=loggers or False)
    results = trainer.test(module, datamodule=datamodule)
    metrics = {k: to_float(v) for k, v in (results[0] if results else {}).items()}
    record = {
        "status": "completed",
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "model": train_cfg.model.get("name"),
        "data": train_cfg.data.get("name"),
        "metrics": metrics,
    }
    if trainer.is_global_zero:
        written = write_metrics(cfg.paths.output_dir, record)
        log.info("checkpoint: %s", record["checkpoint"])
        log.info(
            "metrics: %s", ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if v is not None)
        )
        log.info("record: %s", written)
    return record
