"""Hydra's sweep syntax (``interval``, ``choice``, ``range``, ``tag(log, ...)``) as Optuna
distributions, so search spaces read like the lightning-hydra-template's."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlzoo.errors import ConfigError

log = logging.getLogger("dlzoo")

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

SYNTAX = (
    "interval(low, high), tag(log, interval(low, high)), int(interval(low, high)), "
    "range(start, stop[, step]), choice(a, b, ...) or a, b, ..."
)


@dataclass
class SearchSpace:
    """The distributions to search and the overrides every trial gets unchanged."""

    distributions: dict[str, BaseDistribution]
    fixed: list[str]


def _primitive(value: Any) -> Any:
    """Optuna's categorical choices must be None, bool, int, float or str; lists become the
    text Hydra parses back into the same list."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _distribution(key: str, text: str, sweep: Any) -> BaseDistribution:
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    log = "log" in getattr(sweep, "tags", set())
    try:
        if isinstance(sweep, ChoiceSweep):
            if log:
                raise ValueError("tag(log, ...) applies to interval and range, not choice")
            return CategoricalDistribution([_primitive(v) for v in sweep.list])
        if isinstance(sweep, IntervalSweep):
            if isinstance(sweep.start, int) and isinstance(sweep.end, int):
                return IntDistribution(sweep.start, sweep.end, log=log)
            return FloatDistribution(float(sweep.start), float(sweep.end), log=log)
        if isinstance(sweep, RangeSweep):
            values = list(_range_values(sweep.start, sweep.stop, sweep.step))
            if not values:
                raise ValueError("the range is empty")
            if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
                return IntDistribution(values[0], values[-1], step=int(sweep.step), log=log)
            return FloatDistribution(values[0], values[-1], step=float(sweep.step), log=log)
    except ValueError as err:
        raise ConfigError(f"search space {key}={text}: {err}") from None
    raise ConfigError(
        f"search space {key}={text}: {type(sweep).__name__} is not supported; use {SYNTAX}"
    )


def _range_values(start: float, stop: float, step: float) -> list[float]:
    values, v = [], start
    while (step > 0 and v < stop - 1e-12) or (step < 0 and v > stop + 1e-12):
        values.append(v)
        v = round(v + step, 12) if isinstance(v, float) else v + step
    return values


def parse_search_space(params: dict[str, Any] | None, arguments: list[str]) -> SearchSpace:
    """Distributions from ``hydra.sweeper.params`` and the command line (the command line
    wins: a sweep expression replaces the config's, a plain value fixes that key)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    space: dict[str, tuple[str, Any]] = {}
    fixed: list[str] = []
    lines = [f"{k}={v}" for k, v in (params or {}).items()]
    for i, line in enumerate([*lines, *arguments]):
        try:
            override = parser.parse_overrides([line])[0]
        except HydraException as err:
            first = str(err).splitlines()[0]
            raise ConfigError(
                f"search space {line!r} cannot be parsed ({first}); use {SYNTAX}"
            ) from None
        key = override.get_key_element()
        from_config = i < len(lines)
        if override.is_sweep_override():
            space[key] = (line.partition("=")[2], override.value())
        elif from_config:
            raise ConfigError(
                f"hydra.sweeper.params.{line}: a search space needs a sweep expression; use {SYNTAX}"
            )
        else:
            if space.pop(key.lstrip("+~"), None) is not None:
                log.warning("%s on the command line fixes %s: no longer searched", line, key)
            fixed.append(line)
    distributions = {k: _distribution(k, text, sweep) for k, (text, sweep) in space.items()}
    return SearchSpace(distributions, fixed)


def override_value(value: Any) -> str:
    """A sampled value as override text (``repr`` keeps every digit of a float)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def check_space_keys(space: SearchSpace, config: Any, conf_dir: str) -> None:
    """A key the composed config does not have (``optimizer.lrr``) would fail every trial,
    and a relaunch would re-queue them for ever: refuse it before the first trial. Keys
    under a config group the search itself chooses (``model=choice(mlp, lenet)``) are
    left to the trials; ``+key`` adds a new key on purpose."""
    from pathlib import Path

    from omegaconf import DictConfig, OmegaConf

    groups = [k for k in space.distributions if (Path(conf_dir) / k).is_dir()]
    for key in space.distributions:
        if key in groups or key.startswith(("+", "~")):
            continue
        if any(key.startswith(f"{group}.") for group in groups):
            continue
        if OmegaConf.select(config, key, default=_ABSENT, throw_on_missing=False) is _ABSENT:
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(config, parent) if parent else config
            names = [str(k) for k in node] if isinstance(node, DictConfig) else []
            close = difflib.get_close_matches(leaf, names, n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(f'{parent}.{c}'.lstrip('.') for c in close)}? "
            raise ConfigError(
                f"search space key {key} is not in the config; {hint if close else ''}"
                f"(+{key} adds a new key)"
            )


_ABSENT = object()
