"""Learning-rate schedules torch does not ship, for the book's models."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LRScheduler

from dlzoo.errors import ConfigError


class WarmupInverseSqrt(LRScheduler):
    """The original Transformer's schedule ("Attention Is All You Need", 5.3), peaking at
    the optimizer's ``lr``: a linear warm-up over ``warmup_steps``, then decay as
    ``1 / sqrt(step)``. Unlike one-cycle or cosine it needs no run length, so a fit stopped
    by ``trainer.max_time`` anywhere has followed the schedule it was given."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, warmup_steps: int = 400, last_epoch: int = -1
    ) -> None:
        if int(warmup_steps) < 1:
            raise ConfigError(f"scheduler.scheduler.warmup_steps={warmup_steps!r}: must be >= 1")
        self.warmup_steps = int(warmup_steps)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """The multiple of the peak rate at optimizer step ``step`` (counted from 0)."""
        step = step + 1
        return min(step / self.warmup_steps, math.sqrt(self.warmup_steps / step))

    def get_lr(self) -> list[float]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]
