"""One job of a multirun: a crash or divergence is recorded, and the sweep goes on."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from dlzoo.errors import ConfigError, DlzooError, TrainingInterrupted
from dlzoo.records.metrics_file import write_metrics
from dlzoo.sweeps.trial_reporting import TrialPruned

log = logging.getLogger("dlzoo")


def in_multirun() -> bool:
    """Whether this process runs one job of a Hydra multirun (``-m`` or a sweep config)."""
    if not HydraConfig.initialized():
        return False
    return HydraConfig.get().mode == RunMode.MULTIRUN


def sweeper_is_optuna() -> bool:
    target = str(HydraConfig.get().sweeper.get("_target_", "")) if HydraConfig.initialized() else ""
    return "optuna" in target.lower()


def objective(record: dict[str, Any], metric: Any) -> float | list[float] | None:
    """The value a sweeper optimises, read from a run's record: one metric, or a list of
    them for a multi-objective search (a key of ``metrics`` or a number of the record itself,
    such as ``num_parameters``)."""
    if not metric:
        return None
    if isinstance(metric, str):
        return _metric_value(record, metric)
    values = [_metric_value(record, str(m)) for m in metric]
    return values if len(values) > 1 else values[0]


def _metric_value(record: dict[str, Any], metric: str) -> float:
    metrics = record.get("metrics", {})
    if metric in metrics:
        value = metrics[metric]
    elif isinstance(record.get(metric), int | float):
        value = record[metric]
    else:
        raise ConfigError(
            f"optimized_metric={metric!r} is not among this run's metrics {sorted(metrics)}"
        )
    if value is None or not math.isfinite(float(value)):
        raise DlzooError(f"{metric} is {value}: the run produced no finite value to optimise")
    return float(value)


def warn_on_direction_mismatch(record: dict[str, Any], metric: str | None) -> None:
    """Optuna's direction should agree with the task's: maximise accuracy, minimise errors."""
    if not metric or not isinstance(metric, str) or not sweeper_is_optuna():
        return
    configured = str(HydraConfig.get().sweeper.get("direction", ""))
    monitor, mode = record.get("monitor"), record.get("mode")
    if metric == f"{monitor}_best" and mode and configured in ("maximize", "minimize"):
        expected = "maximize" if mode == "max" else "minimize"
        if configured != expected:
            log.warning(
                "hydra.sweeper.direction=%s but the task wants to %s %s",
                configured,
                expected,
                metric,
            )


def failure_reason(err: BaseException) -> str:
    """One line saying why a run failed: the dlzoo error inside wrappers such as Hydra's
    ``InstantiationException`` when there is one, else the exception itself."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, DlzooError):
            err = seen
            break
        seen = seen.__cause__ or seen.__context__
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0] if lines else ''}".strip()[:500]


def failure_record(cfg: DictConfig, err: BaseException, wall_time: float) -> dict[str, Any]:
    return {
        "status": getattr(err, "status", "failed"),  # e.g. "diverged"
        "reason": failure_reason(err),
        "traceback": traceback.format_exception(type(err), err, err.__traceback__)[-3:],
        "model": cfg.get("model", {}).get("name"),
        "data": cfg.get("data", {}).get("name"),
        "metrics": {},
        "wall_time_s": round(wall_time, 3),
        "seed": cfg.get("seed"),
        "run_dir": str(cfg.paths.output_dir),
    }


def run_sweep_job(train: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> float | None:
    """Train one job of a sweep and return its ``optimized_metric``.

    Any exception (a bad value, a crash, a diverged loss) is written to the run's
    ``metrics.json`` as ``status: failed`` with its reason. Under the Optuna sweeper the
    exception is then re-raised, so Optuna records the trial as failed with that reason (the
    sweep configs set ``max_failure_rate: 1.0`` so it goes on); other sweepers get ``None``
    and go on to the next job.
    """
    started = time.perf_counter()
    record: dict[str, Any] | None = None
    try:
        record = train(cfg)
        warn_on_direction_mismatch(record, cfg.get("optimized_metric"))
        return objective(record, cfg.get("optimized_metric"))
    except TrainingInterrupted:  # Ctrl-C or SIGTERM ends the whole sweep, not just this job
        raise
    except Exception as err:
        failed = failure_record(cfg, err, time.perf_counter() - started)
        if isinstance(err, TrialPruned):  # stopped by the study's pruner: keep its last metric
            failed = {**failed, "metrics": err.metrics, "epochs": err.epoch + 1}
            write_metrics(cfg.paths.output_dir, failed)
            log.info("trial %s", err)
            raise
        if record is not None:  # trained, but its objective is unusable: keep its metrics
            failed = {**record, "status": failed["status"], "reason": failed["reason"]}
        write_metrics(cfg.paths.output_dir, failed)
        log.error("run failed, the sweep goes on: %s", failed["reason"])
        if sweeper_is_optuna():
            raise
        return None
