"""The sweepers' configs, registered in Hydra's ConfigStore when Hydra scans its plugins.

Nothing here imports Optuna: every Hydra app start scans plugins, and the ``sweeps`` extra
is optional. No ``from __future__ import annotations``: Hydra executes plugin modules
outside ``sys.modules`` and OmegaConf reads these annotations at run time.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

PACKAGE = "hydra_plugins.dlzoo_sweepers"


@dataclass
class OptunaSweeperConf:
    """``hydra.sweeper`` of an Optuna search (see docs/experiments.md)."""

    _target_: str = f"{PACKAGE}.optuna_sweeper.DlzooOptunaSweeper"
    defaults: list[Any] = field(
        default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "none"}, "_self_"]
    )
    #: ``name`` (tpe, random, grid, cmaes, nsgaii, qmc) and that sampler's options (seed, ...)
    sampler: dict[str, Any] = field(default_factory=dict)
    #: ``name`` (none, median, percentile, successive_halving, hyperband) and its options
    pruner: dict[str, Any] = field(default_factory=dict)
    #: minimize / maximize, a list of them, or null: from optimized_metric's name(s)
    direction: Any = None
    #: null: the task name
    study_name: str | None = None
    #: null: sqlite at <paths.log_dir>/searches/<study_name>.db; a file path; any SQLAlchemy URL
    storage: str | None = None
    #: trials of the whole study (all launches and workers together)
    n_trials: int = 20
    #: trials launched at once (a SLURM array of that size with hydra/launcher=slurm)
    n_jobs: int = 1
    #: seconds between heartbeats; a trial silent for twice as long is failed and re-queued
    heartbeat_interval: int = 10
    #: the search space: key -> interval(...), choice(...), range(...), tag(log, ...)
    params: dict[str, str] | None = None
    #: accepted for configs of the old plugin; failed trials never stop a search here
    max_failure_rate: float = 1.0
    #: options of the old plugin that have no meaning here (a clear error if set)
    search_space: dict[str, Any] | None = None
    custom_search_space: str | None = None


@dataclass
class GridSweeperConf:
    """Hydra's basic sweeper (``-m a=1,2 b=x,y``), resumable: see ``grid_sweeper``."""

    _target_: str = f"{PACKAGE}.grid_sweeper.DlzooGridSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {
    "tpe": {"seed": None, "n_startup_trials": 10},
    "random": {"seed": None},
    "grid": {"seed": None},
    "cmaes": {"seed": None, "n_startup_trials": 1},
    "nsgaii": {"seed": None, "population_size": 50},
    "qmc": {"seed": None},
}
PRUNER_DEFAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "median": {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1},
    "percentile": {"percentile": 25.0, "n_startup_trials": 5, "n_warmup_steps": 0},
    "successive_halving": {"min_resource": "auto", "reduction_factor": 4},
    "hyperband": {"min_resource": 1, "max_resource": "auto", "reduction_factor": 3},
}


def register() -> None:
    cs = ConfigStore.instance()
    for name in ("dlzoo_optuna", "optuna"):  # `optuna`: configs written for the old plugin
        cs.store(group="hydra/sweeper", name=name, node=OptunaSweeperConf, provider="dlzoo")
    cs.store(group="hydra/sweeper", name="dlzoo_grid", node=GridSweeperConf, provider="dlzoo")
    for name, options in SAMPLER_DEFAULTS.items():
        cs.store(
            group="hydra/sweeper/sampler",
            name=name,
            node={"name": name, **options},
            provider="dlzoo",
        )
    for name, options in PRUNER_DEFAULTS.items():
        cs.store(
            group="hydra/sweeper/pruner",
            name=name,
            node={"name": name, **options},
            provider="dlzoo",
        )


register()
