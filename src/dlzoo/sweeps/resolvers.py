"""OmegaConf resolvers used by the sweep configs (registered when ``dlzoo.cli`` loads)."""

from __future__ import annotations

import hashlib
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


#: overrides that rarely tell runs apart: they go last in a run's folder name
BACKGROUND_KEYS = ("callbacks.", "logger.", "paths.", "trainer.limit_", "trainer.fast_dev_run")


def _is_background(item: str) -> bool:
    key = item.lstrip("+~")
    return key.startswith(BACKGROUND_KEYS) or key.startswith("print_config")


def _short_number(item: str) -> str:
    key, sep, value = item.partition("=")
    try:
        number = float(value)
    except ValueError:
        return item
    if "." in value and len(value) > 8:
        value = f"{number:.4g}"
    return f"{key}{sep}{value}"


def _clean(item: str) -> str:
    item = re.sub(r"\s+", "", item)
    return re.sub(r"[/\\:*?\"<>|']+", "-", item).strip("-.")


def run_name(override_dirname: str, max_length: int = 120) -> str:
    """A folder name made of a run's overrides (``optimizer=adam,seed=1``): path-safe,
    long floats shortened, switches such as ``callbacks.*`` moved to the end. A name longer
    than ``max_length`` keeps the whole overrides that fit (never half a value) and ends in
    ``etc-<hash of all overrides>``, so two runs never share a folder."""
    items = [_short_number(i) for i in re.split(r",(?![^\[]*\])", override_dirname) if i]
    items.sort(key=_is_background)  # stable: keeps Hydra's order otherwise
    items = [c for c in (_clean(i) for i in items) if c]
    name = ",".join(items)
    if len(name) <= max_length:
        return name or "run"
    tail = "etc-" + hashlib.sha1(override_dirname.encode()).hexdigest()[:8]
    kept: list[str] = []
    for item in items:
        if len(",".join([*kept, item, tail])) > max_length:
            break
        kept.append(item)
    return ",".join([*kept, tail])


#: the task name each sweep of this process was started under, by its start time
_SWEEP_TASKS: dict[str, str] = {}


def sweep_task(task_name: str, started: str) -> str:
    """The folder a multirun writes under: the task name of the sweep's own config (resolved
    first, before any job's). ``-m experiment=a,b`` gives each job its recipe's task name;
    without this the jobs would scatter over ``logs/a/`` and ``logs/b/`` and the sweep's
    summary would find none of them. Hydra resolves ``now`` once per sweep, so ``started``
    tells sweeps apart."""
    return _SWEEP_TASKS.setdefault(str(started), str(task_name))


def register_resolvers() -> None:
    resolvers = (
        ("dlzoo_direction", direction),
        ("dlzoo_run_name", run_name),
        ("dlzoo_sweep_task", sweep_task),
    )
    for name, fn in resolvers:
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
