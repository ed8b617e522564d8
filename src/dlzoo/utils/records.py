"""What a run leaves behind for people and programs: metrics.json and HPARAMS."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

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


def flat_hparams(cfg: DictConfig) -> dict[str, Any]:
    """The config as ``{"model.net.hidden_sizes": "[512, 256]", ...}`` for TensorBoard."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("paths", "hydra", "callbacks", "logger"):
                    continue
                walk(value, f"{prefix}{key}.")
        elif isinstance(node, bool | int | float | str):
            out[prefix[:-1]] = node
        else:
            out[prefix[:-1]] = str(node)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def log_hparams_with_metrics(
    trainer: Trainer, cfg: DictConfig, metrics: Mapping[str, float]
) -> None:
    """Record the hyperparameters with the run's final metrics in TensorBoard's HPARAMS tab.

    The metric values are read by TensorBoard from the scalars of the same names the run
    already logged, so nothing is logged twice.
    """
    from torch.utils.tensorboard.summary import hparams

    finite = {k: v for k, v in metrics.items() if v is not None}
    params = flat_hparams(cfg)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            writer = tensorboard_file_writer(logger.experiment)
            for summary in hparams(params, finite):
                writer.add_summary(summary)
            logger.experiment.flush()
        else:
            logger.log_hyperparams(params)
