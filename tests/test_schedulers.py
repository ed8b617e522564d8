"""The warm-up / inverse square root schedule (scheduler=inverse_sqrt)."""

from __future__ import annotations

import math

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.schedulers import WarmupInverseSqrt


def _optimizer(lr: float = 1e-3) -> torch.optim.Optimizer:
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _rates(optimizer: torch.optim.Optimizer, scheduler: WarmupInverseSqrt, n: int) -> list[float]:
    rates = []
    for _ in range(n):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_warms_up_linearly_to_the_peak_then_decays_as_one_over_sqrt_step() -> None:
    optimizer = _optimizer(2e-3)
    rates = _rates(optimizer, WarmupInverseSqrt(optimizer, warmup_steps=4), 16)
    assert rates[:4] == pytest.approx([5e-4, 1e-3, 1.5e-3, 2e-3])
    assert max(rates) == pytest.approx(2e-3)
    for step in range(4, 16):  # step index i is the (i+1)-th optimizer step
        assert rates[step] == pytest.approx(2e-3 * math.sqrt(4 / (step + 1)))


def test_a_restored_schedule_continues_where_it_stopped() -> None:
    optimizer = _optimizer()
    scheduler = WarmupInverseSqrt(optimizer, warmup_steps=5)
    _rates(optimizer, scheduler, 7)
    saved = (optimizer.state_dict(), scheduler.state_dict())
    expected = _rates(optimizer, scheduler, 5)
    optimizer2 = _optimizer()
    scheduler2 = WarmupInverseSqrt(optimizer2, warmup_steps=5)
    optimizer2.load_state_dict(saved[0])
    scheduler2.load_state_dict(saved[1])
    assert _rates(optimizer2, scheduler2, 5) == pytest.approx(expected)


def test_a_warmup_below_one_step_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"warmup_steps=0: must be >= 1"):
        WarmupInverseSqrt(_optimizer(), warmup_steps=0)
