"""The link from a training job back to its Optuna trial: the monitored validation metric is
reported every epoch, and the study's pruner may stop a hopeless trial early.

The sweeper passes the trial through environment variables of the job (Hydra's
``hydra.job.env_set``), so they work in a SLURM job as well and never show up in the run's
overrides, folder name or summary. Without them the callback does nothing.
"""

from __future__ import annotations

import os
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from dlzoo.errors import DlzooError

ENV_STORAGE = "DLZOO_OPTUNA_STORAGE"
ENV_STUDY = "DLZOO_OPTUNA_STUDY"
ENV_TRIAL = "DLZOO_OPTUNA_TRIAL"


class TrialPruned(DlzooError):
    """The study's pruner stopped this trial: its metric was behind the other trials'."""

    status = "pruned"

    def __init__(self, epoch: int, metric: str, value: float) -> None:
        super().__init__(f"pruned after epoch {epoch}: {metric}={value:.6g}")
        self.epoch, self.metric, self.value = epoch, metric, value

    @property
    def metrics(self) -> dict[str, float]:
        return {self.metric: self.value}

    def __reduce__(self) -> tuple[Any, ...]:  # pickled back from SLURM jobs
        return (type(self), (self.epoch, self.metric, self.value))


def trial_from_env() -> Any | None:
    """The running ``optuna.trial.Trial`` of this job, or ``None`` outside an Optuna search."""
    number = os.environ.get(ENV_TRIAL)
    if number is None:
        return None
    import optuna
    from hydra.core.hydra_config import HydraConfig

    from dlzoo.sweeps.optuna_parts import make_pruner, make_storage

    pruner_cfg = HydraConfig.get().sweeper.get("pruner") if HydraConfig.initialized() else None
    storage = make_storage(os.environ[ENV_STORAGE], heartbeat_interval=60)
    name = os.environ[ENV_STUDY]
    study = optuna.load_study(study_name=name, storage=storage, pruner=make_pruner(pruner_cfg))
    study_id = storage.get_study_id_from_name(name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, int(number))
    return optuna.trial.Trial(study, trial_id)


class ReportToTrial(Callback):
    """After each validation, ``trial.report(<monitor>, epoch)``; raise :class:`TrialPruned`
    when the pruner says so (multi-objective studies cannot prune: nothing is reported)."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor
        self.trial: Any | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.is_global_zero and self.trial is None:
            self.trial = trial_from_env()
            if self.trial is not None and len(self.trial.study.directions) > 1:
                self.trial = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        prune: tuple[int, float] | None = None
        value = trainer.callback_metrics.get(self.monitor)
        if self.trial is not None and value is not None:
            epoch = trainer.current_epoch
            self.trial.report(float(value), step=epoch)
            if self.trial.should_prune():
                prune = (epoch, float(value))
        prune = trainer.strategy.broadcast(prune, src=0)
        if prune is not None:
            raise TrialPruned(prune[0], self.monitor, prune[1])
