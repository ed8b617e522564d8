"""The Hydra side of dlzoo's Optuna sweeper: build the study from ``hydra.sweeper`` and hand
it to :class:`dlzoo.sweeps.optuna_search.OptunaSearch`. Optuna is imported only here, in
``sweep``, so plain runs never pay for it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.dlzoo_sweepers import config as _config  # noqa: F401 - registers configs

log = logging.getLogger("dlzoo")


class DlzooOptunaSweeper(Sweeper):
    """``hydra/sweeper=dlzoo_optuna``: a persistent, shareable Optuna study."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from dlzoo.errors import DlzooError
        from dlzoo.utils.failing import fail

        try:
            return self._sweep(arguments)
        except DlzooError as err:  # one readable line, like the training entry point
            fail(str(err), 2, log.name)

    def _sweep(self, arguments: list[str]) -> Any:
        try:
            import optuna
        except ImportError:
            from dlzoo.errors import ConfigError

            raise ConfigError("hparams_search needs Optuna: pip install -e '.[sweeps]'") from None
        from dlzoo.cli import config_dir
        from dlzoo.errors import ConfigError
        from dlzoo.sweeps.optuna_parts import (
            check_same_space,
            directions_of,
            grid_of,
            make_pruner,
            make_sampler,
            metrics_of,
            open_study,
            storage_url,
        )
        from dlzoo.sweeps.optuna_search import OptunaSearch, attach_sweep_dir, requeue
        from dlzoo.sweeps.search_space import check_space_keys, parse_search_space
        from dlzoo.sweeps.study_report import write_study_report

        assert self.config is not None
        cfg = self.config.hydra.sweeper
        _reject_old_options(cfg)
        metrics = metrics_of(_plain(OmegaConf.select(self.config, "optimized_metric")))
        directions = directions_of(_plain(cfg.get("direction")), metrics)
        space = parse_search_space(_plain(cfg.get("params")), list(arguments))
        check_space_keys(space, self.config, config_dir())
        if int(cfg.n_trials) < 1:
            raise ConfigError(f"hydra.sweeper.n_trials={cfg.n_trials}: a search needs 1 or more")
        sampler_cfg, pruner_cfg = _plain(cfg.get("sampler")), _plain(cfg.get("pruner"))
        grid = grid_of(space.distributions)
        sampler = make_sampler(sampler_cfg, grid)
        pruner = make_pruner(pruner_cfg)
        name = str(cfg.get("study_name") or self.config.task_name)
        url = storage_url(cfg.get("storage"), self.config.paths.log_dir, name)
        heartbeat = int(cfg.get("heartbeat_interval") or 10)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study, storage = open_study(
            url, heartbeat, requeue, sampler=sampler, pruner=pruner, study_name=name,
            directions=directions,
        )  # fmt: skip
        check_same_space(study, space.distributions)
        if not study.metric_names:  # optuna-dashboard shows "val/acc_best", not "Objective 0"
            study.set_metric_names(metrics)
        n_trials = int(cfg.n_trials)
        if sampler_cfg and str(sampler_cfg.get("name")) == "grid" and grid:
            size = 1
            for values in grid.values():
                size *= len(values)
            n_trials = min(n_trials, size)
        sweep_dir = attach_sweep_dir(self.config, study)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        about = (
            f"Storage `{url}`; sampler {type(getattr(study.sampler, 'inner', study.sampler)).__name__}, pruner "
            f"{type(study.pruner).__name__}; {', '.join(f'{d} {m}' for d, m in zip(directions, metrics, strict=True))}. "
            f"Dashboard: `optuna-dashboard {url}`."
        )
        log.info(
            "Optuna study %s in %s (%d trials so far), folder %s",
            name,
            url,
            len(study.trials),
            sweep_dir,
        )
        log.info("Directions: %s", directions)
        search = OptunaSearch(
            study=study,
            storage=storage,
            storage_url=url,
            space=space,
            sweep_dir=sweep_dir,
            launcher=self.launcher,
            n_trials=n_trials,
            n_jobs=max(int(cfg.get("n_jobs") or 1), 1),
            heartbeat_interval=heartbeat,
            metrics=metrics,
        )
        returns = search.run()
        written = write_study_report(study, Path(sweep_dir), metrics, about)
        log.info("study results: %s", ", ".join(str(p) for p in written.values()))
        return returns


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _reject_old_options(cfg: DictConfig) -> None:
    from dlzoo.errors import ConfigError

    for key in ("search_space", "custom_search_space"):
        if cfg.get(key):
            raise ConfigError(
                f"hydra.sweeper.{key} (an option of the old hydra-optuna-sweeper) is not "
                f"supported: write the search space in hydra.sweeper.params, e.g. "
                f"optimizer.lr: tag(log, interval(1e-4, 1e-1))"
            )
