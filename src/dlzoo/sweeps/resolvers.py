"""OmegaConf resolvers used by the sweep configs (registered when ``dlzoo.cli`` loads)."""

from __future__ import annotations

import re

from omegaconf import OmegaConf

#: metric name endings where larger is better; everything else (loss, mse, mae, ...) is minimised
HIGHER_IS_BETTER = ("acc", "accuracy", "r2", "f1", "auroc", "precision", "recall")


def metric_mode(metric: str) -> str:
    """``max`` or ``min`` for a metric name such as ``val/acc_best`` or ``test/mse``."""
    name = metric.rsplit("/", 1)[-1].removesuffix("_best").removesuffix("_epoch")
    return "max" if name.lower() in HIGHER_IS_BETTER else "min"


def direction(metric: str) -> str:
    """Optuna's direction for a metric: ``maximize`` or ``minimize``."""
    return "maximize" if metric_mode(metric) == "max" else "minimize"


def run_name(override_dirname: str, max_length: int = 120) -> str:
    """A folder name made of a run's overrides (``optimizer=adam,seed=1``), path-safe."""
    name = re.sub(r"[/\\\s:*?\"<>|']+", "-", override_dirname).strip("-.")
    return name[:max_length] or "run"


def register_resolvers() -> None:
    for name, fn in (("dlzoo_direction", direction), ("dlzoo_run_name", run_name)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
