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


class LinearDecay(LRScheduler):
    """word2vec's schedule (and gensim's): the rate falls linearly from the optimizer's
    ``lr`` to ``final_factor`` times it over the fit's ``total_steps`` optimizer steps, and
    stays there if the run goes on."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        final_factor: float = 1e-4,
        last_epoch: int = -1,
    ) -> None:
        if int(total_steps) < 1:
            raise ConfigError(f"scheduler.scheduler.total_steps={total_steps!r}: must be >= 1")
        if not 0 <= float(final_factor) <= 1:
            raise ConfigError(
                f"scheduler.scheduler.final_factor={final_factor!r}: must be in [0, 1]"
            )
        self.total_steps, self.final_factor = int(total_steps), float(final_factor)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """The multiple of ``lr`` at optimizer step ``step`` (counted from 0)."""
        done = min(step / self.total_steps, 1.0)
        return 1.0 - (1.0 - self.final_factor) * done

    def get_lr(self) -> list[float]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]
