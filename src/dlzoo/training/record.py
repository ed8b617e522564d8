"""The run folder's ``metrics.json`` through one launch, written in one place.

``running`` when fitting starts; then ``completed``, or ``interrupted``/``diverged`` (with the
checkpoint to resume from), or ``failed`` with the message. A launch that fails before
training moved on leaves an earlier run's record as it was (:mod:`dlzoo.reliability.run_record`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from dlzoo.config.tree import print_config, save_config
from dlzoo.errors import TrainingDiverged, TrainingInterrupted
from dlzoo.records.metrics_file import earlier_timings, timings, write_metrics
from dlzoo.reliability.csv_history import set_aside_before_resume
from dlzoo.reliability.preflight import preflight
from dlzoo.reliability.resume import ResumePlan
from dlzoo.reliability.run_record import RunRecord
from dlzoo.tasks import Task
from dlzoo.training.assembly import TrainerParts


class RunRecorder:
    """A context manager around one launch: every status the record can take is written
    here, and an error leaving the block is recorded before it propagates."""

    def __init__(self, cfg: DictConfig, plan: ResumePlan, started: float) -> None:
        self.run_dir = Path(cfg.paths.output_dir)
        self.plan = plan
        self.started = started
        self.is_main = rank_zero_only.rank == 0
        self.kept = RunRecord(self.run_dir)  # the earlier run's files, to put back
        self.parts: TrainerParts | None = None
        self.summary: dict[str, Any] | None = None
        self.earlier: dict[str, Any] = {}
        self.fit_started = time.perf_counter()
        self.train_time: float | None = None

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, kind: Any, err: BaseException | None, tb: Any) -> None:
        if err is None or not self.is_main:
            return
        if isinstance(err, TrainingDiverged | TrainingInterrupted):
            if self.parts is not None:
                self._write(err.status, message=str(err), stopped=err)
            return
        trainer = self.parts.trainer if self.parts else None
        progressed = trainer is not None and trainer.global_step > self.plan.step
        last = self.parts.guard.last_checkpoint(trainer) if self.parts else None
        fields = {"run_dir": str(self.run_dir), "resumed_from": self.plan.checkpoint}
        raise_as = self.kept.failed(err, fields, progressed, last)
        if raise_as is not err:
            raise raise_as from err

    def prepare_folder(self, cfg: DictConfig, module: Task) -> None:
        """Fail now, not after an hour, on an unwritable or full disk; save and print the
        config."""
        if not self.is_main:
            return
        kept = int(OmegaConf.select(cfg, "callbacks.model_checkpoint.save_top_k", default=1))
        preflight(self.run_dir, module.num_parameters(), checkpoints_kept=max(kept, 0) + 2)
        save_config(cfg, self.run_dir / "config.yaml")
        print_config(cfg, cfg.get("print_config", True), self.run_dir / "config.yaml")

    def running(self, parts: TrainerParts) -> None:
        """Fitting starts: the record says ``running`` (with the earlier timings of a
        continued run), and a continued run's CSV history is set aside for the rewrite."""
        self.parts = parts
        self.earlier = earlier_timings(self.run_dir) if self.plan.checkpoint else {}
        if self.is_main:
            write_metrics(self.run_dir, self._status("running"))
            if self.plan.checkpoint:
                set_aside_before_resume(parts.loggers, purge_step=self.plan.step + 1)
        self.fit_started = time.perf_counter()

    def fitted(self, summary: dict[str, Any]) -> None:
        self.train_time = time.perf_counter() - self.fit_started
        self.summary = summary

    def timings(self) -> dict[str, Any]:
        assert self.parts is not None
        fit_time = self.train_time
        if fit_time is None:
            fit_time = time.perf_counter() - self.fit_started
        return timings(self.earlier, fit_time, self.parts.timer.epoch_times)

    def completed(self, record: dict[str, Any]) -> dict[str, Any]:
        """The finished run's record (``status: completed``), written by rank zero."""
        record = {
            "status": "completed",
            **record,
            "wall_time_s": round(time.perf_counter() - self.started, 3),
            "run_dir": str(self.run_dir),
            "resumed_from": self.plan.checkpoint,
        }
        if self.is_main:
            write_metrics(self.run_dir, record)
        return record

    def _status(self, status: str) -> dict[str, Any]:
        return {
            "status": status,
            "run_dir": str(self.run_dir),
            "resumed_from": self.plan.checkpoint,
            **self.earlier,
        }

    def _write(self, status: str, message: str, stopped: BaseException) -> None:
        """An interrupted or diverged run: where it stopped and what to continue from."""
        assert self.parts is not None
        trainer, guard = self.parts.trainer, self.parts.guard
        record = {**self._status(status), "message": message}
        if self.summary is not None:  # stopped while testing, after training finished
            record["global_steps"] = self.summary["global_steps"]
            record["best_checkpoint"] = self.summary.get("best_checkpoint")
            record["last_checkpoint"] = self.summary["last"]
        else:
            record["global_steps"] = getattr(stopped, "step", trainer.global_step)
            record["last_checkpoint"] = getattr(stopped, "checkpoint", None) or (
                guard.last_checkpoint(trainer)
            )
        write_metrics(self.run_dir, {**record, **self.timings()})
