"""Training: compose the pieces named by the config, fit, test, record the run.

The steps live in :mod:`dlzoo.training`; this function only says their order.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from dlzoo.config.builders import (
    build_datamodule,
    build_task,
    configure_speed,
    resolve_precision,
)
from dlzoo.config.extensions import load_extensions
from dlzoo.config.validation import validate_config
from dlzoo.reliability.resume import plan_resume
from dlzoo.training.assembly import build_trainer, set_monitor
from dlzoo.training.fitting import fit, test
from dlzoo.training.outcome import close_loggers, report, run_fields
from dlzoo.training.record import RunRecorder
from dlzoo.utils.host_memory import reuse_freed_host_memory


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; returns the record written to ``metrics.json``."""
    started = time.perf_counter()
    load_extensions(cfg.get("extensions"))  # task types of your own register here
    validate_config(cfg)
    if cfg.trainer.get("precision") == "auto":  # the saved config shows the choice
        cfg.trainer.precision = resolve_precision(cfg.trainer)
    if OmegaConf.select(cfg, "speed.reuse_host_memory", default=True):
        reuse_freed_host_memory()
    plan = plan_resume(cfg)  # once, up front; may point the run at the folder it continues

    with RunRecorder(cfg, plan, started) as run:
        if cfg.get("seed") is not None:
            L.seed_everything(cfg.seed, workers=True)
        datamodule = build_datamodule(cfg.data)
        module = build_task(cfg, datamodule.spec)  # a bad model/data pair fails here
        set_monitor(cfg, module)
        configure_speed(cfg, datamodule, module)
        run.prepare_folder(cfg, module)

        parts = build_trainer(cfg, plan)
        run.running(parts)
        summary = fit(parts, module, datamodule, plan, cfg)
        run.fitted(summary)

        test_metrics: dict[str, Any] = {}
        tested = None
        if cfg.get("test", True):
            test_metrics, tested = test(parts, module, datamodule, summary, str(run.run_dir))
        fields = run_fields(cfg, module, datamodule, summary, test_metrics)
        fields["tested_checkpoint"] = tested
        record = run.completed({**fields, **run.timings()})
        close_loggers(parts.trainer, cfg, record)
        if parts.trainer.is_global_zero:
            report(record)
        return record
