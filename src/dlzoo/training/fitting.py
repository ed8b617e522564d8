"""Fitting and testing, with the stops Lightning reports in its own ways (a SIGTERM while
validating or testing, a failed DDP worker) turned into dlzoo's clean stops."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig
from torch.multiprocessing import ProcessRaisedException

from dlzoo.callbacks.fit_summary import fit_summary
from dlzoo.console import resuming
from dlzoo.errors import TrainingInterrupted
from dlzoo.records.event_files import no_empty_event_files
from dlzoo.records.metrics_file import to_float
from dlzoo.reliability.distributed import from_worker, main_process_ignores_sigint
from dlzoo.reliability.resume import ResumePlan
from dlzoo.tasks import Task
from dlzoo.training.assembly import TrainerParts


def terminated(where: str) -> TrainingInterrupted:
    """A SIGTERM (kill, a scheduler's preemption) outside the training steps, where
    Lightning stops with its own exception: the same clean stop as in them."""
    err = TrainingInterrupted(f"interrupted (SIGTERM) {where}")
    err.exit_code = 143  # 128 + SIGTERM, the shell's convention
    return err


def fit(
    parts: TrainerParts, module: Task, datamodule: Any, plan: ResumePlan, cfg: DictConfig
) -> dict[str, Any]:
    """``trainer.fit`` from the planned checkpoint; returns the fit's summary (epochs, steps,
    best score, best and last checkpoint), right also when it ran in spawned DDP workers."""
    trainer, guard = parts.trainer, parts.guard
    with (
        main_process_ignores_sigint(trainer),
        resuming(plan.checkpoint is not None),
        no_empty_event_files(parts.loggers if rank_zero_only.rank == 0 else []),
    ):
        try:
            trainer.fit(
                module,
                datamodule=datamodule,
                ckpt_path=plan.checkpoint,
                weights_only=not cfg.get("trust_checkpoint", False),
            )
        except ProcessRaisedException as err:  # a spawned DDP worker failed
            raise from_worker(err) from None
        except SIGTERMException:  # Lightning's, during validation
            raise terminated(
                f"at step {trainer.global_step} (epoch {trainer.current_epoch}, while "
                f"validating); the newest checkpoint is {guard.last_checkpoint(trainer)}.\n"
                f"Resume with: {guard.resume_hint}"
            ) from None
    summary = fit_summary(trainer)
    summary["stopped_by_max_time"] = ran_out_of_time(trainer)
    callback = trainer.checkpoint_callback
    best = callback.best_model_path if isinstance(callback, ModelCheckpoint) else ""
    summary["best_checkpoint"] = best or None
    return summary


def ran_out_of_time(trainer: Any) -> bool:
    """Whether ``trainer.max_time`` ended the fit before ``max_epochs``."""
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    left = timer.time_remaining("train") if timer is not None else None
    return left is not None and left <= 0


def test(
    parts: TrainerParts, module: Task, datamodule: Any, summary: dict[str, Any], run_dir: str
) -> tuple[dict[str, float | None], str | None]:
    """Test the best checkpoint (the final weights when the data validates on its test split:
    that "best" was chosen on test data); returns the test metrics and the checkpoint file
    tested (``last.ckpt`` for the final weights)."""
    best = summary["best_checkpoint"]
    final = datamodule.validates_on_test or not best
    try:
        results = parts.trainer.test(
            module, datamodule=datamodule, ckpt_path=None if final else best
        )
    except SIGTERMException:
        raise terminated(
            f"while testing, after training finished; the best checkpoint is "
            f"{best or summary['last']}. Test it with: python scripts/eval.py ckpt_path={run_dir}"
        ) from None
    metrics = {k: to_float(v) for k, v in (results[0] if results else {}).items()}
    return metrics, summary["last"] if final else best
