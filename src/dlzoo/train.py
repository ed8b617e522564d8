"""Training: compose the pieces named by the config, fit, test, record the run."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf, open_dict

from dlzoo.builders import build_datamodule, build_task
from dlzoo.callbacks import EpochTimer
from dlzoo.checkpoints import CONFIG_KEY
from dlzoo.tasks import SupervisedTask
from dlzoo.utils.config_tree import print_config_tree, save_config
from dlzoo.utils.records import log_hparams_with_metrics, to_float, write_metrics
from dlzoo.utils.validation import validate_config

log = logging.getLogger(__name__)


class StoreConfigInCheckpoint(Callback):
    """Saves the resolved config (plain types only) into every checkpoint, so evaluation and
    prediction can rebuild data and model from the checkpoint alone."""

    def __init__(self, cfg: DictConfig) -> None:
        self.config = OmegaConf.to_container(cfg, resolve=True)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group; ``enabled: false`` skips one."""
    objects = []
    for name, conf in (group or {}).items():
        if not isinstance(conf, DictConfig) or "_target_" not in conf:
            continue
        conf = conf.copy()
        with open_dict(conf):
            enabled = conf.pop("enabled", True)
        if enabled:
            log.debug("instantiating %s", name)
            objects.append(hydra.utils.instantiate(conf, _convert_="all"))
    return objects


def set_monitor(cfg: DictConfig, module: SupervisedTask) -> None:
    """Fill ``monitor.metric``/``monitor.mode`` (``auto``) from the task: checkpoints, early
    stopping and sweeps then all watch the same validation metric."""
    with open_dict(cfg):
        if cfg.monitor.metric == "auto":
            cfg.monitor.metric = module.monitor
        if cfg.monitor.mode == "auto":
            cfg.monitor.mode = module.monitor_mode


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; returns the record written to ``metrics.json``."""
    started = time.perf_counter()
    validate_config(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    datamodule = build_datamodule(cfg.data)
    spec = datamodule.spec
    module = build_task(cfg, spec)  # fails here, before any data is loaded, on a bad pair
    set_monitor(cfg, module)
    run_dir = Path(cfg.paths.output_dir)
    save_config(cfg, run_dir / "config.yaml")
    if cfg.get("print_config", True):
        print_config_tree(cfg)

    callbacks: list[Callback] = instantiate_group(cfg.get("callbacks"))
    timer = EpochTimer()
    callbacks += [StoreConfigInCheckpoint(cfg), timer]
    loggers: list[Logger] = instantiate_group(cfg.get("logger"))
    if not loggers:  # the learning-rate monitor has nowhere to write
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer: L.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False
    )

    fit_started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    train_time = time.perf_counter() - fit_started

    checkpoint = trainer.checkpoint_callback
    best_path = checkpoint.best_model_path if isinstance(checkpoint, ModelCheckpoint) else ""
    test_metrics: dict[str, Any] = {}
    if cfg.get("test", True):
        # without a separate validation split the "best" checkpoint was chosen on test data
        test_ckpt = None if datamodule.validates_on_test else best_path or None
        results = trainer.test(module, datamodule=datamodule, ckpt_path=test_ckpt)
        test_metrics = {k: to_float(v) for k, v in (results[0] if results else {}).items()}

    best_val = to_float(checkpoint.best_model_score) if best_path else None
    monitor = cfg.monitor.metric
    final = {**test_metrics, f"{monitor}_best": best_val}
    record = {
        "status": "completed",
        "model": cfg.model.get("name"),
        "data": cfg.data.get("name"),
        "task": module.task,
        "monitor": monitor,
        "mode": cfg.monitor.mode,
        "metrics": final,
        "best_val": best_val,
        "epochs": trainer.current_epoch,
        "global_steps": trainer.global_step,
        "num_parameters": module.num_parameters(),
        "train_time_s": round(train_time, 3),
        "epoch_times_s": timer.epoch_times,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "seed": cfg.get("seed"),
        "best_checkpoint": best_path or None,
        "last_checkpoint": getattr(checkpoint, "last_model_path", None) or None,
        "run_dir": str(run_dir),
    }
    if trainer.is_global_zero:
        if best_val is not None:
            for logger in trainer.loggers:
                logger.log_metrics({f"{monitor}_best": best_val}, step=trainer.global_step)
        log_hparams_with_metrics(trainer, cfg, final)
        write_metrics(run_dir, record)
        report(record)
    return record


def report(record: dict[str, Any]) -> None:
    """The last lines a run prints: where it is, its best checkpoint, its test metrics."""
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in record["metrics"].items() if v is not None)
    log.info("run directory: %s", record["run_dir"])
    log.info("best checkpoint: %s", record["best_checkpoint"])
    log.info("metrics: %s", metrics)
