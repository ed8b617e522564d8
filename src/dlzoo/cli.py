"""Console entry points (``dlzoo-train``, ``dlzoo-eval``); ``scripts/*.py`` call these.

Each is a thin Hydra app: compose the config, call the package function, and turn a
:class:`~dlzoo.errors.DlzooError` into one readable line and exit status 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from dlzoo.errors import DlzooError

log = logging.getLogger("dlzoo")


def config_dir() -> str:
    """The ``conf/`` folder: packaged inside ``dlzoo`` in a wheel, at the repo root otherwise."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise RuntimeError(f"dlzoo cannot find its conf/ folder near {here}")


def quiet_duplicate_logs() -> None:
    """Lightning adds its own console handlers; Hydra's root handlers already print (and
    file) everything, so without this each Lightning message appears twice."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).handlers.clear()


def run_reporting_errors(fn: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Call ``fn``; a user-facing error ends the process with its message and status 2."""
    quiet_duplicate_logs()
    try:
        return fn(cfg)
    except DlzooError as err:
        log.error("%s", err)
        print(f"\nerror: {err}", file=sys.stderr)
        sys.exit(2)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def train_main(cfg: DictConfig) -> float | None:
    """Train one configuration; returns the optimised metric (for sweepers)."""
    from dlzoo.train import train

    record = run_reporting_errors(train, cfg)
    metric = cfg.get("optimized_metric")
    return record["metrics"].get(metric) if metric else None


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval")
def eval_main(cfg: DictConfig) -> None:
    """Evaluate a checkpoint on its test split."""
    from dlzoo.evaluate import evaluate

    run_reporting_errors(evaluate, cfg)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="predict")
def predict_main(cfg: DictConfig) -> None:
    """Predict image files / folders or CSV rows with a checkpoint."""
    from dlzoo.predict import predict

    run_reporting_errors(predict, cfg)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="export")
def export_main(cfg: DictConfig) -> None:
    """Export a checkpoint's network to TorchScript or ONNX."""
    from dlzoo.export import export

    run_reporting_errors(export, cfg)
