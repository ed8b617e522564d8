"""The trainer of a run, with the callbacks it always needs and the ones the config names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf, open_dict

from dlzoo import lightning_internals as internals
from dlzoo.callbacks.epoch_timer import EpochTimer
from dlzoo.callbacks.fit_summary import FitSummary
from dlzoo.callbacks.restore_loader_position import RestoreLoaderPosition
from dlzoo.callbacks.rng_state import RngState
from dlzoo.callbacks.store_config import StoreConfigInCheckpoint
from dlzoo.callbacks.train_epoch_aggregates import TrainEpochAggregates
from dlzoo.callbacks.training_guard import TrainingGuard
from dlzoo.reliability.checkpoint_io import AtomicCheckpointIO
from dlzoo.reliability.resume import ResumePlan, after_earlier_event_files, with_purge_step
from dlzoo.tasks import Task

log = logging.getLogger(__name__)


@dataclass
class TrainerParts:
    """The trainer and the always-on callbacks the run reads back from."""

    trainer: L.Trainer
    guard: TrainingGuard
    timer: EpochTimer
    loggers: list[Logger]


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


def set_monitor(cfg: DictConfig, module: Task) -> None:
    """Fill ``monitor.metric``/``monitor.mode`` (``auto``) from the task: checkpoints, early
    stopping and sweeps then all watch the same validation metric."""
    with open_dict(cfg):
        if cfg.monitor.metric == "auto":
            cfg.monitor.metric = module.monitor
        if cfg.monitor.mode == "auto":
            cfg.monitor.mode = module.monitor_mode


def build_trainer(cfg: DictConfig, plan: ResumePlan) -> TrainerParts:
    """Lightning's Trainer from ``cfg.trainer`` with the config's callbacks and loggers, the
    callbacks every run needs (config in checkpoints, divergence and Ctrl-C guard, random
    states, loader position, timings) and atomic checkpoint writes."""
    guard = TrainingGuard(
        plan.checkpoint_dir,
        resume_hint=plan.resume_hint,
        check_every_n_steps=OmegaConf.select(cfg, "speed.loss_check_every_n_steps"),
    )
    timer = EpochTimer()
    # first: it completes the epoch's training metrics before other callbacks read them
    callbacks: list[Callback] = [TrainEpochAggregates()]
    callbacks += instantiate_group(cfg.get("callbacks"))
    callbacks += [StoreConfigInCheckpoint(cfg), guard, RngState(), RestoreLoaderPosition()]
    callbacks += [FitSummary(), timer]
    if plan.checkpoint and rank_zero_only.rank == 0:
        after_earlier_event_files(plan.run_dir)  # the continued curves' file must sort last
    loggers: list[Logger] = instantiate_group(with_purge_step(cfg.get("logger"), plan))
    if not loggers:  # the learning-rate monitor has nowhere to write
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    # no checkpoint callback configured: no checkpoints at all (not Lightning's default one)
    checkpointing = any(isinstance(c, ModelCheckpoint) for c in callbacks)
    trainer: L.Trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
        enable_checkpointing=checkpointing and cfg.trainer.get("enable_checkpointing", True),
    )
    internals.skip_inherited_callback_hooks(trainer)  # ~100 empty calls a step fewer
    return TrainerParts(trainer, guard, timer, loggers)
