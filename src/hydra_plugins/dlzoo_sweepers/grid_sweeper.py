"""Hydra's basic (grid) sweeper, made resumable.

Relaunching a killed ``-m`` sweep with ``resume=auto`` added reuses the newest sweep folder
launched with the same overrides, skips the jobs whose ``metrics.json`` says ``completed``,
and launches the others under their old job numbers, so each lands in its old folder and
continues its ``last.ckpt`` (``resume=auto`` of a single run). Without ``resume`` it is
Hydra's basic sweeper unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.dlzoo_sweepers import config as _config  # noqa: F401 - registers configs

log = logging.getLogger("dlzoo")


class _SkippingLauncher:
    """Wraps the real launcher: jobs already completed in the sweep folder are not run."""

    def __init__(self, launcher: Any, done: set[tuple[str, ...]]) -> None:
        self.launcher = launcher
        self.done = done

    def __getattr__(self, name: str) -> Any:
        return getattr(self.launcher, name)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        from dlzoo.sweeps.grid_resume import job_key

        results: list[JobReturn] = []
        pending: list[tuple[int, Sequence[str]]] = []

        def flush() -> None:
            if pending:
                first = pending[0][0]
                results.extend(self.launcher.launch([o for _, o in pending], initial_job_idx=first))
                pending.clear()

        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            if job_key(overrides) in self.done:
                flush()  # keep job numbers: the jobs after a skipped one launch separately
                log.info("job %d %s: completed in an earlier launch, skipped", idx, list(overrides))
                results.append(JobReturn(overrides=overrides, status=JobStatus.COMPLETED))
            else:
                pending.append((idx, overrides))
        flush()
        return results


class DlzooGridSweeper(BasicSweeper):
    """``hydra/sweeper=dlzoo_grid`` (dlzoo's default): a grid multirun that resumes."""

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from dlzoo.sweeps.grid_resume import completed_jobs, previous_sweep_dir, resuming
        from dlzoo.sweeps.optuna_search import use_sweep_dir

        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        if not resuming(config):
            return
        previous = previous_sweep_dir(config)
        if previous is None:
            log.info("resume=auto: no earlier sweep with these overrides, starting a new one")
            return
        use_sweep_dir(config, str(previous))
        done = completed_jobs(previous)
        log.info("resume=auto: continuing the sweep in %s (%d jobs completed)", previous, len(done))
        self.launcher = _SkippingLauncher(self.launcher, done)
