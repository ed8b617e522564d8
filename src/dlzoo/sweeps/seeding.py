"""Seeded samplers that stay seeded across relaunches and workers.

A sampler seeded once per process would, after a relaunch or in a second worker, replay the
first launch's random draws: the same parameters twice. Here trial ``n`` is sampled by a
fresh sampler seeded from ``(seed, n)`` (numpy's SeedSequence, so studies of neighbouring
seeds do not share draws shifted by one trial): a study's trials are reproducible whoever runs them, and
no two trials share a random state. The samplers dlzoo offers keep no state between trials
other than their random generator (TPE, CMA-ES and NSGA-II re-read the study's history),
so a fresh instance per trial samples exactly as one long-lived instance would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optuna.samplers import BaseSampler


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` in a study seeded ``seed``."""
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class SeedPerTrial(BaseSampler):
    """Delegates trial ``n`` to ``build(trial_seed(seed, n))``."""

    def __init__(self, build: Callable[[int], BaseSampler], seed: int) -> None:
        self._build = build
        self._seed = seed
        self._by_trial: dict[int, BaseSampler] = {}
        self.inner = build(seed)  # the kind of sampler, for reports

    def _for(self, trial: Any) -> BaseSampler:
        if trial.number not in self._by_trial:
            self._by_trial[trial.number] = self._build(trial_seed(self._seed, trial.number))
        return self._by_trial[trial.number]

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Any, trial: Any, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Any, trial: Any, param_name: str, param_distribution: Any
    ) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        sampler = self._for(trial)
        self._by_trial.pop(trial.number)
        sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:  # the seeds are fixed by trial number
        pass
