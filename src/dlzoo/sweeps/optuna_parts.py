"""Samplers, pruners, storage and directions of an Optuna search, built from the sweeper's
config by name, with one readable error for a name or option that does not exist."""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dlzoo.errors import ConfigError
from dlzoo.sweeps.resolvers import direction as metric_direction

log = logging.getLogger("dlzoo")

SAMPLERS = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "grid": "GridSampler",
    "cmaes": "CmaEsSampler",
    "nsgaii": "NSGAIISampler",
    "qmc": "QMCSampler",
}
PRUNERS = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
}
#: names the old hydra-optuna-sweeper used, and what replaces them
RENAMED = {"motpe": "tpe (multi-objective since Optuna 3)", "nop": "none"}


def _options(cfg: Mapping[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    options = dict(cfg or {})
    name = options.pop("name", None)
    return name, {k: v for k, v in options.items() if v is not None or k == "seed"}


def _build(kind: str, table: dict[str, str], cfg: Mapping[str, Any] | None, **extra: Any) -> Any:
    import optuna
    from hydra.utils import get_class

    name, options = _options(cfg)
    target = options.pop("_target_", None)
    if target is not None:  # a config written for the old plugin: the class itself
        cls = get_class(str(target))
        name = str(target)
    else:
        name = str(name or ("none" if kind == "pruner" else "tpe")).lower()
        if name not in table:
            hint = f" (renamed: use {RENAMED[name]})" if name in RENAMED else ""
            raise ConfigError(
                f"hydra.sweeper.{kind}.name={name!r} is not a {kind}{hint}; "
                f"allowed: {', '.join(table)}"
            )
        module = optuna.samplers if kind == "sampler" else optuna.pruners
        cls = getattr(module, table[name])
    accepted = set(inspect.signature(cls).parameters) - {"self"}
    module = optuna.samplers if kind == "sampler" else optuna.pruners
    elsewhere = {  # left over from the group's config after switching, e.g. pruner=none
        p for other in table.values() for p in inspect.signature(getattr(module, other)).parameters
    }
    for key in sorted((set(options) - accepted) & elsewhere):
        if name != "none":  # no pruning: its options are moot, not a mistake
            log.warning("hydra.sweeper.%s.%s is not an option of %s: ignored", kind, key, name)
        options.pop(key)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"hydra.sweeper.{kind} {name!r} has no option {', '.join(unknown)}; "
            f"its options: {', '.join(sorted(accepted - set(extra)))}"
        )
    options = {k: v for k, v in options.items() if not (k == "seed" and v is None)}
    try:
        return cls(**options, **extra)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"hydra.sweeper.{kind} {name!r}: {err}") from None


def make_sampler(cfg: Mapping[str, Any] | None, grid: dict[str, list[Any]] | None = None) -> Any:
    """An Optuna sampler (default TPE). The grid sampler gets the choices as its grid. A
    seeded sampler draws trial ``n`` with a seed made of (seed, n) (see ``seeding``), so relaunches
    and extra workers never repeat the first launch's draws. QMC and grid keep one seed:
    QMC indexes its sequence by trial number, and grid never repeats a visited point."""
    name, options = _options(cfg)
    extra: dict[str, Any] = {}
    if str(name).lower() == "grid":
        if grid is None:
            raise ConfigError(
                "hydra.sweeper.sampler.name='grid' needs a search space of choice(...) or "
                "range(...) only (intervals have no grid)"
            )
        extra["search_space"] = grid
    seed = options.get("seed")
    sampler = _build("sampler", SAMPLERS, cfg, **extra)  # checks name and options once
    if seed is None or str(name).lower() in ("qmc", "grid") or "_target_" in options:
        return sampler
    from dlzoo.sweeps.seeding import SeedPerTrial

    def build(trial_seed: int) -> Any:
        return _build("sampler", SAMPLERS, {**dict(cfg or {}), "seed": trial_seed}, **extra)

    return SeedPerTrial(build, int(seed))


def make_pruner(cfg: Mapping[str, Any] | None) -> Any:
    """An Optuna pruner (default none: every trial runs to its end)."""
    return _build("pruner", PRUNERS, cfg)


def grid_of(distributions: Mapping[str, Any]) -> dict[str, list[Any]] | None:
    """The grid of a search space made only of choices and stepped ranges, else ``None``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    grid: dict[str, list[Any]] = {}
    for key, dist in distributions.items():
        if isinstance(dist, CategoricalDistribution):
            grid[key] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[key] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, FloatDistribution) and dist.step is not None:
            n = round((dist.high - dist.low) / dist.step)
            grid[key] = [round(dist.low + i * dist.step, 12) for i in range(n + 1)]
        else:
            return None
    return grid


def metrics_of(optimized_metric: Any) -> list[str]:
    """``optimized_metric`` as a list: one name, or several for a multi-objective search."""
    if optimized_metric is None:
        raise ConfigError(
            "an Optuna search needs optimized_metric: a key of metrics.json such as "
            "val/acc_best (or a list, e.g. [val/acc_best, num_parameters])"
        )
    if isinstance(optimized_metric, str):
        return [optimized_metric]
    return [str(m) for m in optimized_metric]


def directions_of(direction: Any, metrics: Sequence[str]) -> list[str]:
    """The configured direction(s), or each metric's natural one (accuracy up, loss down)."""
    if direction is None:
        return [metric_direction(m) for m in metrics]
    given = [direction] if isinstance(direction, str) else [str(d) for d in direction]
    for d in given:
        if d not in ("minimize", "maximize"):
            raise ConfigError(f"hydra.sweeper.direction={d!r}; allowed: minimize, maximize")
    if len(given) != len(metrics):
        raise ConfigError(
            f"hydra.sweeper.direction has {len(given)} entries but optimized_metric names "
            f"{len(metrics)} metrics ({', '.join(metrics)})"
        )
    return given


def storage_url(storage: str | None, log_dir: str | Path, study_name: str) -> str:
    """The study's database: ``logs/searches/<study>.db`` by default (the same path at every
    launch, so a relaunch continues the study), a file path, or any SQLAlchemy URL."""
    if storage in (None, "", "default"):
        path = Path(log_dir).resolve() / "searches" / f"{study_name}.db"
    elif "://" in str(storage):
        return str(storage)
    else:
        path = Path(str(storage)).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


#: the storage argument called for a trial whose heartbeat stopped (renamed in Optuna 4.9)
STALE_CALLBACK = "failed_trial_callback"


def _stale_callback_name() -> str:
    from optuna.storages import RDBStorage

    names = inspect.signature(RDBStorage.__init__).parameters
    return (
        "heartbeat_stale_trial_callback"
        if "heartbeat_stale_trial_callback" in names
        else STALE_CALLBACK
    )


def make_storage(url: str, heartbeat_interval: int, on_stale: Any = None) -> Any:
    """An RDB storage whose trials send heartbeats: a trial whose process died is found by
    ``optuna.storages.fail_stale_trials`` and marked failed (``on_stale`` then re-queues it)."""
    import time

    from optuna.storages import RDBStorage
    from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    for attempt in range(5):  # workers started together race to create the tables
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeats are "experimental" since Optuna 2.9
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=2 * heartbeat_interval,
                    **{_stale_callback_name(): on_stale},
                )
        except SQLAlchemyError as err:
            # a lock or a table created by another worker passes; a damaged file does not
            if attempt == 4 or not isinstance(err, OperationalError | IntegrityError):
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def open_study(url: str, heartbeat_interval: int, on_stale: Any, **create: Any) -> Any:
    """The study in its storage (created or continued); a damaged database file is one
    message naming it, not SQLAlchemy's traceback."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    try:
        storage = make_storage(url, heartbeat_interval, on_stale)
        return optuna.create_study(storage=storage, load_if_exists=True, **create), storage
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        path = url.removeprefix("sqlite:///")
        advice = (
            f"move it aside (mv {path} {path}.damaged) to start a new study, or "
            f"restore a copy; the trials' run folders are kept"
            if url.startswith("sqlite:///")
            else "check the database server"
        )
        raise ConfigError(
            f"the study database {path} cannot be read ({reason}): {advice}"
        ) from None


def check_same_space(study: Any, distributions: Mapping[str, Any]) -> None:
    """A relaunch whose search space changed a parameter the study already sampled would
    fail inside Optuna (a trial left running), and one that adds a parameter would mix
    trials of two spaces; say what changed and the ways on."""
    from optuna.distributions import check_distribution_compatibility

    for trial in study.get_trials(deepcopy=False):
        for key, old in trial.distributions.items():
            new = distributions.get(key)
            if new is None:
                continue
            try:
                check_distribution_compatibility(old, new)
            except ValueError:
                raise ConfigError(
                    f"the search space of study {study.study_name!r} changed: {key} was "
                    f"{_shown(old)} in trial {trial.number}, now {_shown(new)}. Keep the old "
                    f"space, or start a new study: hydra.sweeper.study_name="
                    f"{study.study_name}_2"
                ) from None
    sampled = {key for trial in study.get_trials(deepcopy=False) for key in trial.distributions}
    new_keys = sorted(set(distributions) - sampled)
    if sampled and new_keys:  # the earlier trials were sampled without it: not comparable
        raise ConfigError(
            f"the search space of study {study.study_name!r} changed: {new_keys[0]} is new "
            f"(its trials searched {', '.join(sorted(sampled))}). Keep the old space, or "
            f"start a new study: hydra.sweeper.study_name={study.study_name}_2"
        )


def _shown(dist: Any) -> str:
    choices = getattr(dist, "choices", None)
    if choices is not None:
        return f"choice({', '.join(map(str, choices))})"
    return f"{type(dist).__name__}({dist.low}, {dist.high})"
