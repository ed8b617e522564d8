"""Several optimizer steps per Lightning ``training_step`` call (``speed.steps_per_call``).

An opt-in piece, plugged into a task with :meth:`StepsPerCall.attach`. The training loader
then serves groups of ``steps`` consecutive batches as one batch (the same examples in the
same order), and this cuts each group back into batches of the datamodule's
``step_batch_size``. Lightning's per-call cost is paid once per group, a large win for tiny
models on a CPU.

Trade-offs: the per-step hooks of callbacks (``on_before_backward``,
``on_before_optimizer_step``...) are not called in full precision; the loggers' step axis
and ``trainer.log_every_n_steps`` count calls, not optimizer steps (``trainer.global_step``
and checkpoints count optimizer steps); ``trainer.max_steps`` and ``every_n_train_steps``
checkpoints are checked between calls; a mid-epoch resume restarts at a group boundary;
gradient clipping, gradient accumulation, a scheduler stepped on a validation metric
(plateau) and multi-process (DDP) training are not available.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from torch import Tensor

from dlzoo import lightning_internals as internals
from dlzoo.errors import ConfigError
from dlzoo.tasks.base import StepOutput

if TYPE_CHECKING:
    from dlzoo.tasks.base import Task


class StepsPerCall:
    """Runs ``steps`` optimizer steps in each ``training_step`` call (manual optimization)."""

    def __init__(self, steps: int) -> None:
        self.steps = int(steps)

    def attach(self, task: Task) -> None:
        task.multi_step = self
        task.automatic_optimization = False

    # -- the training step -------------------------------------------------------------
    def training_step(self, task: Task, batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch[0], batch[1]
        trainer = task.trainer
        if trainer.world_size > 1:
            raise ConfigError(
                f"speed.steps_per_call={self.steps} runs on one process only (this run has "
                f"{trainer.world_size}): set speed.steps_per_call=1"
            )
        size = self._step_batch_size(trainer, len(x))
        optimizer = task.optimizers()
        schedulers = [c.scheduler for c in trainer.lr_scheduler_configs if c.interval == "step"]
        # full precision: step the bare optimizer (no per-step Lightning hooks), keeping
        # trainer.global_step right; other precisions go through Lightning's loss scaling
        bare = internals.is_full_precision(trainer) and internals.can_step_bare(optimizer)
        losses, sizes, preds, targets = [], [], [], []
        for xb, yb in zip(x.split(size), y.split(size), strict=True):
            out = task.shared_step((xb, yb), "train")
            if bare:
                internals.bare_optimizer_step(optimizer, out.loss)
            else:
                optimizer.zero_grad()
                task.manual_backward(out.loss)
                optimizer.step()
            for scheduler in schedulers:
                scheduler.step()
            losses.append(out.loss.detach())
            sizes.append(out.size)
            if task.train_metrics_enabled:
                preds.append(out.preds)
                targets.append(out.targets)
        # Python-number weights: no host-to-device copy (a wait for the GPU) per call
        total = sum(sizes)
        mean_loss = torch.stack([loss * (n / total) for loss, n in zip(losses, sizes, strict=True)])
        grouped = StepOutput(
            loss=mean_loss.sum(),
            preds=torch.cat(preds) if preds else None,
            targets=torch.cat(targets) if targets else None,
            size=total,
        )
        task.record_train(grouped)
        return grouped.loss

    def _step_batch_size(self, trainer: L.Trainer, group: int) -> int:
        size = getattr(getattr(trainer, "datamodule", None), "step_batch_size", None)
        return int(size) if size else -(-group // self.steps)

    def on_train_epoch_end(self, task: Task) -> None:
        """Manual optimization steps the per-epoch schedulers itself."""
        for config in task.trainer.lr_scheduler_configs:
            if config.interval == "epoch" and (task.current_epoch + 1) % config.frequency == 0:
                config.scheduler.step()

    # -- what the schedulers see -------------------------------------------------------
    def check_scheduler(self, scheduler: Any) -> None:
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            raise ConfigError(
                "speed.steps_per_call > 1 cannot step a scheduler on a validation metric "
                "(scheduler=plateau): use speed.steps_per_call=1 or another scheduler"
            )

    def optimizer_steps(self, trainer: L.Trainer, calls: int) -> int:
        """Optimizer steps of the fit: one-cycle counts steps, not Lightning calls."""
        per_epoch = internals.train_loader_steps_per_epoch(trainer)
        if per_epoch is None:
            return calls * self.steps
        steps = int(per_epoch) * max(int(trainer.max_epochs or 1), 1)
        if trainer.max_steps > 0:
            steps = min(steps, trainer.max_steps)
        limit = trainer.limit_train_batches  # debug=fdr / limit: fewer calls per epoch
        if isinstance(limit, int) or (isinstance(limit, float) and limit < 1.0):
            steps = min(steps, calls * self.steps)
        return steps
