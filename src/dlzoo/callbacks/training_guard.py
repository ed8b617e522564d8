"""Stops a run cleanly and resumably: divergence (a non-finite loss or weights) and Ctrl-C."""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from dlzoo import lightning_internals as internals
from dlzoo.errors import TrainingDiverged, TrainingInterrupted

log = logging.getLogger(__name__)


def _loss_of(outputs: Any) -> torch.Tensor | None:
    if isinstance(outputs, Mapping):
        outputs = outputs.get("loss")
    return outputs if isinstance(outputs, torch.Tensor) else None


def _current_lr(trainer: L.Trainer) -> float | None:
    try:
        return float(trainer.optimizers[0].param_groups[0]["lr"])
    except (IndexError, KeyError, AttributeError):
        return None


class TrainingGuard(Callback):
    """Stops training cleanly on a NaN/inf loss or on Ctrl-C.

    * A non-finite training loss raises :class:`TrainingDiverged` at that step, naming the step
      and the learning rate; nothing is checkpointed after it, so the last checkpoint on disk
      is the last good one. A checkpoint whose weights are not finite is refused too.
    * The first Ctrl-C (SIGINT) asks the run to stop after the current training step: a
      checkpoint is written to ``<checkpoint dir>/last.ckpt`` and :class:`TrainingInterrupted`
      is raised (``resume=auto`` continues from it). A second Ctrl-C stops at once. A SIGTERM
      (``kill``, a scheduler's preemption), which Lightning records in
      ``trainer.received_sigterm``, is handled the same way (exit status 143).

    Reading a GPU loss on the host waits for the GPU, so the check is deferred there: the
    step's loss is kept (no copy, no wait) and the kept losses are read together every
    ``check_every_n_steps`` steps, at an epoch's first and last batch and before a checkpoint
    is written. The error still names the first bad step. Under DDP the ranks agree on both
    decisions with one small all-reduce per check, so no rank is left waiting in a
    collective (a Ctrl-C or SIGTERM then stops at the next check).

    Args:
        checkpoint_dir: where the Ctrl-C checkpoint goes when no ``ModelCheckpoint`` is used.
        resume_hint: the command line that resumes this run (printed on Ctrl-C).
        check_every_n_steps: how often the losses are read back. ``None``: every step when
            training on a CPU (reading costs nothing there), else every
            ``trainer.log_every_n_steps`` steps (the loggers read the loss then anyway).
    """

    def __init__(
        self,
        checkpoint_dir: str | Path,
        resume_hint: str = "",
        check_every_n_steps: int | None = None,
    ) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.resume_hint = resume_hint
        self.check_every_n_steps = check_every_n_steps
        self.interrupt_requested = False
        self._previous_handler: Callable | int | None = None
        self.saved_checkpoint: str | None = None
        #: losses not read yet, with (global step, epoch, batch index) of their step
        self._unchecked: list[tuple[torch.Tensor, tuple[int, int, int]]] = []
        self._every = 1

    # -- Ctrl-C ------------------------------------------------------------------------------
    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.interrupt_requested:  # second Ctrl-C: give up on the clean stop
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.interrupt_requested = True
        print(
            "\nCtrl-C: saving a checkpoint after the current training step, then stopping "
            "(press Ctrl-C again to stop at once, without a checkpoint)",
            file=sys.stderr,
            flush=True,
        )

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_handler()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore_handler()

    # -- the per-step check ----------------------------------------------------------------
    def last_checkpoint(self, trainer: L.Trainer) -> str | None:
        for cb in trainer.checkpoint_callbacks:
            if isinstance(cb, ModelCheckpoint) and cb.last_model_path:
                return cb.last_model_path
        return self.saved_checkpoint

    def interrupt_path(self, trainer: L.Trainer) -> Path:
        cb = trainer.checkpoint_callback
        if isinstance(cb, ModelCheckpoint) and cb.dirpath:
            return Path(cb.dirpath) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}.ckpt"
        return self.checkpoint_dir / "last.ckpt"

    @staticmethod
    def _claim_last(trainer: L.Trainer, path: Path) -> None:
        """Tell the checkpoint callback that ``path`` (its ``last.ckpt``) is its own last
        checkpoint, before the state is saved: else, after a resume, it finds a file it did
        not write there and saves beside it as ``last-v1.ckpt``, leaving ``last.ckpt`` at the
        interruption for eval, the next resume or an extension."""
        cb = trainer.checkpoint_callback
        if isinstance(cb, ModelCheckpoint) and cb.save_last:
            cb.last_model_path = str(path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._unchecked = []
        if self.check_every_n_steps is not None:
            self._every = self.check_every_n_steps
        elif pl_module.device.type == "cpu":
            self._every = 1
        else:
            self._every = max(1, int(trainer.log_every_n_steps))

    def _is_check_step(self, trainer: L.Trainer, batch_idx: int) -> bool:
        return (
            self._every == 1
            or batch_idx == 0  # a stop deferred from the last epoch's last batch
            or (batch_idx + 1) % self._every == 0
            or batch_idx + 1 >= trainer.num_training_batches
        )

    def _first_bad_loss(self) -> tuple[float, tuple[int, int, int]] | None:
        """The first non-finite loss not read yet and its step; forgets the others."""
        unchecked, self._unchecked = self._unchecked, []
        if not unchecked:
            return None
        if len(unchecked) == 1:  # checked every step: the cheapest test
            loss = unchecked[0][0]
            if math.isfinite(loss.item()) if loss.numel() == 1 else loss.isfinite().all():
                return None
            first = 0
        else:
            finite = torch.stack([torch.isfinite(loss).all() for loss, _ in unchecked])
            bad = (~finite).nonzero()  # the one host sync of a check
            if len(bad) == 0:
                return None
            first = int(bad[0, 0])
        loss, where = unchecked[first]
        return (float(loss) if loss.numel() == 1 else float("nan")), where

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = _loss_of(outputs)
        if loss is not None:
            where = (trainer.global_step, trainer.current_epoch, batch_idx)
            self._unchecked.append((loss.detach(), where))
        check = self._is_check_step(trainer, batch_idx)
        if not check and trainer.world_size > 1:
            return  # the ranks decide together, at the same steps
        bad = self._first_bad_loss() if check else None
        # Lightning's own SIGTERM handler (kill, a cluster's preemption) only sets this flag
        sigterm = bool(getattr(trainer, "received_sigterm", False))
        flags: Any = (bad is not None, self.interrupt_requested, sigterm)
        if trainer.world_size > 1:  # one process needs no tensor
            flags = torch.tensor([float(f) for f in flags], device=pl_module.device)
            flags = [f > 0 for f in trainer.strategy.reduce(flags, reduce_op="sum").tolist()]
        if flags[0]:
            if bad is None:  # another rank's loss
                bad = (float("nan"), (trainer.global_step, trainer.current_epoch, batch_idx))
            self._diverged_loss(trainer, *bad)
        if flags[1] or flags[2]:
            if batch_idx + 1 >= trainer.num_training_batches:
                # the epoch's last batch: Lightning would resume past this epoch's validation
                # and epoch-end logging, so stop at the next epoch's first batch instead
                return
            path = self.interrupt_path(trainer)
            self._claim_last(trainer, path)
            trainer.save_checkpoint(path)  # every rank calls it; rank zero writes
            self.saved_checkpoint = str(path)
            self._log_this_step(trainer)
            hint = f"\nResume with: {self.resume_hint}" if self.resume_hint else ""
            what = "Ctrl-C" if flags[1] else "SIGTERM"
            err = TrainingInterrupted(
                f"interrupted ({what}) at step {trainer.global_step} (epoch "
                f"{trainer.current_epoch + 1}, batch {batch_idx + 1}, counted from 1 as in the "
                f"progress lines); checkpoint saved to {path}.{hint}"
            )
            if what == "SIGTERM":
                err.exit_code = 143  # 128 + SIGTERM, the shell's convention
            raise err

    @staticmethod
    def _log_this_step(trainer: L.Trainer) -> None:
        """Send this step's logged values to the loggers, as Lightning does right after
        ``on_train_batch_end``: the resumed run continues after this step, so they would be
        missing from the curves otherwise. (Lightning internals; skipped if they change.)"""
        try:
            internals.flush_step_logs(trainer)
        except Exception as err:
            log.warning("could not log the last step before stopping (%s)", err)

    def _diverged_loss(self, trainer: L.Trainer, value: float, where: tuple[int, int, int]) -> None:
        step, epoch, batch_idx = where
        found = "" if step == trainer.global_step else f" (found at step {trainer.global_step})"
        self.diverged(trainer, f"the training loss is {value}", batch_idx, step, epoch, found)

    def diverged(
        self,
        trainer: L.Trainer,
        what: str,
        batch_idx: int | None,
        step: int | None = None,
        epoch: int | None = None,
        found: str = "",
    ) -> None:
        step = trainer.global_step if step is None else step
        epoch = trainer.current_epoch if epoch is None else epoch
        where = f"step {step} (epoch {epoch + 1}"  # counted from 1, as in the progress lines
        where += f", batch {batch_idx + 1}){found}" if batch_idx is not None else f"){found}"
        lr = _current_lr(trainer)
        lr_text = f" (it was {lr:g})" if lr is not None else ""
        last = self.last_checkpoint(trainer)
        kept = (
            f"The last good checkpoint is kept: {last}"
            if last
            else "No checkpoint had been saved yet."
        )
        raise TrainingDiverged(
            f"training diverged: {what} at {where}. The likely cause is a learning rate too "
            f"high for this model and data{lr_text}: lower optimizer.lr (e.g. 10x), or clip "
            f"gradients with trainer.gradient_clip_val=1.0. {kept}"
        )

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Refuse to write weights that are NaN/inf over the last good checkpoint, or (one
        process) any checkpoint after a loss not read yet that was NaN/inf; flush the loggers,
        so that a run killed after this checkpoint keeps its curves up to here."""
        if getattr(trainer, "world_size", 1) == 1:  # under DDP the weights check agrees
            bad = self._first_bad_loss()
            if bad is not None:
                self._diverged_loss(trainer, *bad)
        for name, tensor in checkpoint.get("state_dict", {}).items():
            if (
                isinstance(tensor, torch.Tensor)
                and tensor.is_floating_point()
                and not bool(torch.isfinite(tensor).all())
            ):
                self.diverged(trainer, f"the weights {name!r} are not finite", None)
        for logger in trainer.loggers:
            logger.save()
