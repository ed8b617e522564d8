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
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict
from torch.multiprocessing import ProcessRaisedException

from dlzoo.builders import build_datamodule, build_task, configure_speed, resolve_precision
from dlzoo.callbacks import EpochTimer
from dlzoo.checkpoints import CONFIG_KEY
from dlzoo.console import resuming
from dlzoo.errors import TrainingDiverged, TrainingInterrupted
from dlzoo.event_files import no_empty_event_files
from dlzoo.reliability.checkpoint_io import AtomicCheckpointIO
from dlzoo.reliability.csv_history import join_after_completion, set_aside_before_resume
from dlzoo.reliability.distributed import (
    FitSummary,
    fit_summary,
    from_worker,
    main_process_ignores_sigint,
)
from dlzoo.reliability.guards import (
    RestoreLoaderPosition,
    RngState,
    TrainEpochAggregates,
    TrainingGuard,
)
from dlzoo.reliability.preflight import preflight
from dlzoo.reliability.resume import (
    ResumePlan,
    after_earlier_event_files,
    check_resume_matches,
    checkpoint_dir,
    plan_resume,
    resume_command,
    with_purge_step,
)
from dlzoo.reliability.run_record import RunRecord
from dlzoo.tasks import Task
from dlzoo.utils.config_tree import print_config, save_config
from dlzoo.utils.host_memory import reuse_freed_host_memory
from dlzoo.utils.records import (
    earlier_timings,
    log_hparams_with_metrics,
    timings,
    to_float,
    write_metrics,
)
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


def set_monitor(cfg: DictConfig, module: Task) -> None:
    """Fill ``monitor.metric``/``monitor.mode`` (``auto``) from the task: checkpoints, early
    stopping and sweeps then all watch the same validation metric."""
    with open_dict(cfg):
        if cfg.monitor.metric == "auto":
            cfg.monitor.metric = module.monitor
        if cfg.monitor.mode == "auto":
            cfg.monitor.mode = module.monitor_mode


def terminated(where: str) -> TrainingInterrupted:
    """A SIGTERM (kill, a scheduler's preemption) outside the training steps, where
    Lightning stops with its own exception: the same clean stop as in them."""
    err = TrainingInterrupted(f"interrupted (SIGTERM) {where}")
    err.exit_code = 143  # 128 + SIGTERM, the shell's convention
    return err


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; returns the record written to ``metrics.json``."""
    started = time.perf_counter()
    validate_config(cfg)
    if cfg.trainer.get("precision") == "auto":  # the saved config shows the choice
        cfg.trainer.precision = resolve_precision(cfg.trainer)
    if OmegaConf.select(cfg, "speed.reuse_host_memory", default=True):
        reuse_freed_host_memory()
    plan = plan_resume(cfg)  # may point the run at the folder of the run it continues
    record = RunRecord(cfg.paths.output_dir)
    state: dict[str, Any] = {}
    try:
        return _train(cfg, plan, started, state)
    except (TrainingDiverged, TrainingInterrupted):
        raise  # recorded with their own status
    except BaseException as err:
        if rank_zero_only.rank != 0:
            raise
        trainer = state.get("trainer")
        progressed = trainer is not None and trainer.global_step > plan.step
        last = state["guard"].last_checkpoint(trainer) if trainer is not None else None
        fields = {"run_dir": str(cfg.paths.output_dir), "resumed_from": plan.checkpoint}
        raise_as = record.failed(err, fields, progressed, last)
        if raise_as is err:
            raise
        raise raise_as from err


def _train(
    cfg: DictConfig, plan: ResumePlan, started: float, state: dict[str, Any]
) -> dict[str, Any]:
    if plan.checkpoint:
        check_resume_matches(cfg, plan.checkpoint)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    datamodule = build_datamodule(cfg.data)
    spec = datamodule.spec
    module = build_task(cfg, spec)  # fails here, before any data is loaded, on a bad pair
    set_monitor(cfg, module)
    configure_speed(cfg, datamodule, module)
    run_dir = Path(cfg.paths.output_dir)
    if rank_zero_only.rank == 0:  # fail now, not after an hour, on an unwritable/full disk
        kept = int(OmegaConf.select(cfg, "callbacks.model_checkpoint.save_top_k", default=1))
        preflight(run_dir, module.num_parameters(), checkpoints_kept=max(kept, 0) + 2)
        save_config(cfg, run_dir / "config.yaml")
        print_config(cfg, cfg.get("print_config", True), run_dir / "config.yaml")

    callbacks: list[Callback] = instantiate_group(cfg.get("callbacks"))
    guard = TrainingGuard(
        checkpoint_dir(cfg),
        resume_hint=resume_command(run_dir),
        check_every_n_steps=OmegaConf.select(cfg, "speed.loss_check_every_n_steps"),
    )
    state["guard"] = guard
    timer = EpochTimer()
    callbacks += [StoreConfigInCheckpoint(cfg), guard, RngState(), RestoreLoaderPosition()]
    callbacks += [FitSummary(), TrainEpochAggregates(), timer]
    if plan.checkpoint and rank_zero_only.rank == 0:
        after_earlier_event_files(run_dir)  # the continued curves' file must sort last
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
    state["trainer"] = trainer

    earlier = earlier_timings(run_dir) if plan.checkpoint else {}
    status = {
        "status": "running",
        "run_dir": str(run_dir),
        "resumed_from": plan.checkpoint,
        **earlier,
    }
    if rank_zero_only.rank == 0:
        write_metrics(run_dir, status)
        if plan.checkpoint:
            set_aside_before_resume(loggers, purge_step=plan.step + 1)
    fit_started = time.perf_counter()
    try:
        with (
            main_process_ignores_sigint(trainer),
            resuming(plan.checkpoint is not None),
            no_empty_event_files(loggers if rank_zero_only.rank == 0 else []),
        ):
            try:
                trainer.fit(
                    module,
                    datamodule=datamodule,
                    ckpt_path=plan.checkpoint,
                    weights_only=not cfg.get("trust_checkpoint", False),
                )
            except ProcessRaisedException as err:  # a spawned DDP worker failed
                raise from_worker(err) from None
            except SIGTERMException:  # Lightning's, during validation
                checkpoint = guard.last_checkpoint(trainer)
                raise terminated(
                    f"at step {trainer.global_step} (epoch {trainer.current_epoch}, while "
                    f"validating); the newest checkpoint is {checkpoint}.\n"
                    f"Resume with: {guard.resume_hint}"
                ) from None
    except (TrainingDiverged, TrainingInterrupted) as err:
        if trainer.is_global_zero:
            write_metrics(
                run_dir,
                {
                    **status,
                    "status": err.status,
                    "message": str(err),
                    "global_steps": getattr(err, "step", trainer.global_step),
                    "last_checkpoint": getattr(err, "checkpoint", None)
                    or guard.last_checkpoint(trainer),
                    **timings(earlier, time.perf_counter() - fit_started, timer.epoch_times),
                },
            )
        raise
    train_time = time.perf_counter() - fit_started
    summary = fit_summary(trainer)  # also right when training ran in spawned DDP workers

    checkpoint = trainer.checkpoint_callback
    best_path = checkpoint.best_model_path if isinstance(checkpoint, ModelCheckpoint) else ""
    test_metrics: dict[str, Any] = {}
    if cfg.get("test", True):
        # without a separate validation split the "best" checkpoint was chosen on test data
        test_ckpt = None if datamodule.validates_on_test else best_path or None
        try:
            results = trainer.test(module, datamodule=datamodule, ckpt_path=test_ckpt)
        except SIGTERMException:
            err = terminated(
                f"while testing, after training finished; the best checkpoint is "
                f"{best_path or summary['last']}. Test it with: python scripts/eval.py "
                f"ckpt_path={run_dir}"
            )
            if trainer.is_global_zero:
                write_metrics(
                    run_dir,
                    {
                        **status,
                        "status": err.status,
                        "message": str(err),
                        "global_steps": summary["global_steps"],
                        "best_checkpoint": best_path or None,
                        "last_checkpoint": summary["last"],
                        **timings(earlier, train_time, timer.epoch_times),
                    },
                )
            raise err from None
        test_metrics = {k: to_float(v) for k, v in (results[0] if results else {}).items()}

    best_val = to_float(summary["best"]) if best_path else None
    monitor = cfg.monitor.metric
    final = {**test_metrics, f"{monitor}_best": best_val}
    baseline = compare_with_baseline(module, datamodule, test_metrics)
    record = {
        "status": "completed",
        "model": cfg.model.get("name"),
        "data": cfg.data.get("name"),
        "task": module.task,
        "monitor": monitor,
        "mode": cfg.monitor.mode,
        "metrics": final,
        "best_val": best_val,
        "epochs": summary["epochs"],
        "global_steps": summary["global_steps"],
        "num_parameters": module.num_parameters(),
        **timings(earlier, train_time, timer.epoch_times),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "seed": cfg.get("seed"),
        "best_checkpoint": best_path or None,
        "last_checkpoint": summary["last"],
        "run_dir": str(run_dir),
        "resumed_from": plan.checkpoint,
        "baseline": baseline,
    }
    if getattr(datamodule, "source_info", None):  # where the data came from, if it says
        record["data_source"] = datamodule.source_info
    if trainer.is_global_zero:
        if best_val is not None:
            for logger in trainer.loggers:
                logger.log_metrics({f"{monitor}_best": best_val}, step=summary["global_steps"])
        log_hparams_with_metrics(trainer, cfg, final)
        for logger in trainer.loggers:
            logger.save()
        join_after_completion(trainer.loggers)
        write_metrics(run_dir, record)
        report(record)
    return record


def compare_with_baseline(
    module: Task, datamodule: Any, test_metrics: dict[str, Any]
) -> dict[str, Any] | None:
    """The task's trivial baseline next to the run's test score (``None`` without one)."""
    targets = getattr(datamodule, "split_targets", None)
    if targets is None or not test_metrics:
        return None
    found = module.trivial_baseline(targets("train"), targets("test"))
    if found is None or test_metrics.get(found.metric) is None:
        return None
    score = float(test_metrics[found.metric])
    return {
        "metric": found.metric,
        "value": round(found.value, 6),
        "how": found.how,
        "learned": found.beaten_by(score),
    }


def report(record: dict[str, Any]) -> None:
    """The last lines a run prints: where it is, its best checkpoint, its test metrics, and
    whether it did better than a trivial guess."""
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in record["metrics"].items() if v is not None)
    log.info("run directory: %s", record["run_dir"])
    log.info("best checkpoint: %s", record["best_checkpoint"])
    log.info("metrics: %s", metrics)
    baseline = record.get("baseline")
    if baseline and not baseline["learned"]:
        log.warning(
            "the model learned nothing useful: %s=%.4f is no better than %s (%.4f)",
            baseline["metric"],
            record["metrics"][baseline["metric"]],
            baseline["how"],
            baseline["value"],
        )
