"""An Optuna study driven through Hydra's launcher, persistent and shared.

Each launch asks the study for trials, launches them as Hydra jobs and tells the results.
The study lives in an RDB storage, so a relaunch (or a second worker on the same storage)
continues it: finished trials are kept, a trial whose process died is found by its stale
heartbeat, marked failed and re-queued with the same parameters (it continues from its last
checkpoint in its own folder), and the study stops at ``n_trials`` counted trials.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, read_write

from dlzoo.sweeps.search_space import SearchSpace, override_value
from dlzoo.sweeps.trial_reporting import ENV_STORAGE, ENV_STUDY, ENV_TRIAL, TrialPruned

log = logging.getLogger("dlzoo")

#: user attributes the search keeps on its trials
RETRY_OF = "retry_of"  # this trial re-runs the (killed) trial of that number
SURPLUS = "surplus"  # asked when other workers had already filled n_trials: not run
RUN_DIR = "run_dir"
REASON = "reason"
SWEEP_DIR = "sweep_dir"  # study attribute: the folder of every trial of the study


def requeue(study: Any, trial: Any) -> None:
    """``failed_trial_callback`` of the storage: a trial whose process died runs again, with
    its parameters and folder (and ``resume=auto`` continues its checkpoint)."""
    attrs = {RETRY_OF: trial.number, RUN_DIR: trial.user_attrs.get(RUN_DIR)}
    study.enqueue_trial(trial.params, user_attrs=attrs)
    log.warning(
        "trial %d stopped without a result: re-queued, to continue from its last checkpoint",
        trial.number,
    )


def tell(study: Any, trial: Any, values: Any = None, state: Any = None) -> None:
    """``study.tell``; the grid sampler asks to stop the study when its grid is used up,
    which Optuna allows only inside ``Study.optimize`` (the result is stored either way)."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as err:
        if "Study.stop" not in str(err):
            raise


def counted(trials: list[Any]) -> list[Any]:
    """Trials that count towards ``n_trials``: all but re-queued and surplus ones."""
    retried = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
    return [t for t in trials if t.number not in retried and not t.user_attrs.get(SURPLUS)]


def suggest(trial: Any, name: str, dist: Any) -> Any:
    """``trial.suggest_*`` for a distribution (an enqueued trial gets its fixed value)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def quoted(text: str) -> str:
    """A Hydra override value that stays one string whatever it holds (``=``, ``,``)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Prepared:
    """A trial asked from the study, with the overrides of its job."""

    trial: Any
    run_dir: Path
    overrides: list[str] = field(default_factory=list)


@dataclass
class OptunaSearch:
    """One worker of a study: ask, launch, tell until the study has ``n_trials``."""

    study: Any
    storage: Any
    storage_url: str
    space: SearchSpace
    sweep_dir: Path
    launcher: Any
    n_trials: int
    n_jobs: int = 1
    heartbeat_interval: int = 10
    metrics: list[str] = field(default_factory=list)
    returns: list[Any] = field(default_factory=list)

    def run(self) -> list[Any]:
        with warnings.catch_warnings():
            # Optuna calls heartbeats "experimental" and meant for Study.optimize; ask/tell
            # with heartbeats recorded here is what lets a relaunch find a dead worker's trial
            warnings.filterwarnings("ignore", message=".*[Hh]eartbeat.*")
            warnings.filterwarnings("ignore", message=".*fail_stale_trials.*")
            return self._search_loop()

    def _search_loop(self) -> list[Any]:
        from optuna.storages import fail_stale_trials

        while True:
            fail_stale_trials(self.study)  # a dead worker's trial: failed and re-queued
            trials = counted(self.study.get_trials(deepcopy=False))
            waiting = sum(t.state.name == "WAITING" for t in trials)
            n_ask = min(self.n_jobs, max(self.n_trials - len(trials), 0) + waiting)
            if n_ask == 0:
                running = [t.number for t in trials if t.state.name == "RUNNING"]
                if not running:
                    return self.returns
                log.info("waiting for trials %s (other workers, or stale soon)", running)
                time.sleep(self.heartbeat_interval)
                continue
            batch = self.ask(n_ask)
            if batch:
                self.launch(batch)

    def ask(self, n: int) -> list[Prepared]:
        from optuna.trial import TrialState

        batch = []
        for _ in range(n):
            trial = self.study.ask()
            self._beat([trial])
            if RETRY_OF not in trial.user_attrs and self._over_budget(trial.number):
                trial.set_user_attr(SURPLUS, True)
                tell(self.study, trial, state=TrialState.FAIL)
                break
            params = {k: suggest(trial, k, d) for k, d in self.space.distributions.items()}
            run_dir = self._run_dir(trial, params)
            trial.set_user_attr(RUN_DIR, str(run_dir))
            batch.append(Prepared(trial, run_dir, self._overrides(trial, params, run_dir)))
        return batch

    def _over_budget(self, number: int) -> bool:
        trials = counted(self.study.get_trials(deepcopy=False))
        return sum(t.number < number for t in trials) >= self.n_trials

    def _run_dir(self, trial: Any, params: dict[str, Any]) -> Path:
        from dlzoo.sweeps.resolvers import run_name

        if trial.user_attrs.get(RUN_DIR):  # a re-queued trial continues in its folder
            return Path(trial.user_attrs[RUN_DIR])
        text = ",".join(f"{k}={override_value(v)}" for k, v in params.items())
        return self.sweep_dir / f"{trial.number}_{run_name(text)}"

    def _overrides(self, trial: Any, params: dict[str, Any], run_dir: Path) -> list[str]:
        overrides = [*self.space.fixed, *(f"{k}={override_value(v)}" for k, v in params.items())]
        if RETRY_OF in trial.user_attrs and not any(o.startswith("resume=") for o in overrides):
            overrides.append("resume=auto")
        env = "+hydra.job.env_set"
        return [
            *overrides,
            f"hydra.sweep.subdir={quoted(run_dir.name)}",
            f"{env}.{ENV_TRIAL}={trial.number}",
            f"{env}.{ENV_STUDY}={quoted(self.study.study_name)}",
            f"{env}.{ENV_STORAGE}={quoted(self.storage_url)}",
        ]

    def _beat(self, trials: list[Any]) -> None:
        storage = self.storage
        study_id = storage.get_study_id_from_name(self.study.study_name)
        for trial in trials:
            storage.record_heartbeat(
                storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            )

    def _beat_while(self, trials: list[Any], stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_interval):
            try:
                self._beat(trials)
            except Exception as err:  # noqa: BLE001 - a missed beat is not fatal
                log.debug("heartbeat failed: %s", err)

    def launch(self, batch: list[Prepared]) -> None:
        stop = threading.Event()
        beats = threading.Thread(
            target=self._beat_while, args=([p.trial for p in batch], stop), daemon=True
        )
        beats.start()
        try:
            results = self.launcher.launch(
                [p.overrides for p in batch], initial_job_idx=batch[0].trial.number
            )
        except BaseException:  # Ctrl-C, SIGTERM: record what finished, re-queue the rest
            stop.set()
            for prepared in batch:
                self._settle_interrupted(prepared)
            log.warning("search interrupted: run the same command again to continue the study")
            raise
        finally:
            stop.set()
        for prepared, result in zip(batch, results, strict=True):
            self.tell(prepared, result)
        self.returns.append(results)

    def tell(self, prepared: Prepared, result: Any) -> None:
        from hydra.core.utils import JobStatus
        from optuna.trial import TrialState

        from dlzoo.sweeps.jobs import failure_reason

        trial = prepared.trial
        outcome = result._return_value
        if result.status == JobStatus.COMPLETED and outcome is not None:
            values = list(outcome) if isinstance(outcome, list | tuple) else [outcome]
            tell(self.study, trial, values if len(values) > 1 else values[0])
            return
        if isinstance(outcome, TrialPruned):
            tell(self.study, trial, state=TrialState.PRUNED)
            return
        reason = failure_reason(outcome) if outcome is not None else "no objective returned"
        trial.set_user_attr(REASON, reason)
        tell(self.study, trial, state=TrialState.FAIL)

    def _settle_interrupted(self, prepared: Prepared) -> None:
        """A trial of a batch that was interrupted: its result if it finished, else failed
        and re-queued."""
        from optuna.trial import TrialState

        from dlzoo.records.metrics_file import read_metrics
        from dlzoo.sweeps.jobs import objective

        trial = prepared.trial
        frozen = self.study.get_trials(deepcopy=False)
        if next(t for t in frozen if t.number == trial.number).state != TrialState.RUNNING:
            return
        try:
            record = read_metrics(prepared.run_dir)
            if record.get("status") == "completed":
                values = objective(record, self.metrics)
                tell(self.study, trial, values)
                return
        except Exception:  # noqa: BLE001 - no usable record: the trial runs again
            pass
        trial.set_user_attr(REASON, "interrupted")
        tell(self.study, trial, state=TrialState.FAIL)
        requeue(self.study, next(t for t in self.study.get_trials() if t.number == trial.number))


def attach_sweep_dir(config: DictConfig, study: Any) -> Path:
    """The study's folder: the first launch's sweep folder (kept in the study), unless the
    command line names one; every job of this launch is told to use it."""
    overrides = [str(o) for o in config.hydra.overrides.hydra]
    explicit = any(o.startswith("hydra.sweep.dir=") for o in overrides)
    stored = study.user_attrs.get(SWEEP_DIR)
    sweep_dir = str(Path(str(config.hydra.sweep.dir)).resolve())
    if stored and not explicit:
        sweep_dir = stored
    if not stored:
        study.set_user_attr(SWEEP_DIR, sweep_dir)
    use_sweep_dir(config, sweep_dir)
    return Path(sweep_dir)


def use_sweep_dir(config: DictConfig, sweep_dir: str) -> None:
    """Point this launch (its jobs and its summary) at ``sweep_dir``."""
    with read_write(config):
        config.hydra.sweep.dir = sweep_dir
        kept = [
            str(o)
            for o in config.hydra.overrides.hydra
            if not str(o).startswith("hydra.sweep.dir=")
        ]
        config.hydra.overrides.hydra = [*kept, f"hydra.sweep.dir={quoted(sweep_dir)}"]
