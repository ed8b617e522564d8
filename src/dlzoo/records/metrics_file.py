"""What a run leaves behind for people and programs: metrics.json and HPARAMS."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from dlzoo.lightning_internals import tensorboard_file_writer

METRICS_FILE = "metrics.json"


def to_float(value: Any) -> float | None:
    """A metric value as a JSON-safe float (NaN and inf become ``None``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def write_metrics(run_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``metrics.json`` atomically (a crash never leaves half a file)."""
    path = Path(run_dir) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / METRICS_FILE).read_text())


def earlier_timings(run_dir: str | Path) -> dict[str, Any]:
    """The fitting time and epoch times a run's record holds before it is resumed, so the
    resumed record adds to them instead of replacing them (empty if there is no record)."""
    try:
        record = read_metrics(run_dir)
    except (OSError, ValueError):
        return {}
    return {
        "train_time_s": float(record.get("train_time_s") or 0.0),
        "epoch_times_s": list(record.get("epoch_times_s") or []),
    }


def timings(earlier: Mapping[str, Any], train_time: float, epoch_times: list[float]) -> dict:
    """``train_time_s`` and ``epoch_times_s`` of a record: this fit's after the earlier ones."""
    return {
        "train_time_s": round(float(earlier.get("train_time_s", 0.0)) + train_time, 3),
        "epoch_times_s": [*earlier.get("epoch_times_s", []), *epoch_times],
    }


def log_hparams_with_metrics(
    trainer: Trainer, cfg: DictConfig, metrics: Mapping[str, float]
) -> None:
    """Record the compared hyperparameters (:func:`dlzoo.records.hparams.compared_hparams`) in
    TensorBoard's HPARAMS tab, under the run folder's short name.

    TensorBoard reads the metric columns (``metrics``: ``test/acc``, ``val/acc_best``...) from
    the scalars of the same names the run already logged, so nothing is logged twice; other
    loggers get the same hyperparameters.
    """
    from dlzoo.records.hparams import compared_hparams, hparams_summaries, run_name

    params = compared_hparams(cfg)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            writer = tensorboard_file_writer(logger.experiment)
            for summary in hparams_summaries(params, run_name(cfg)):
                writer.add_summary(summary)
            logger.experiment.flush()
        else:
            logger.log_hyperparams(params)
