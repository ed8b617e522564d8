"""The schedules torch does not ship: warm-up / inverse square root, linear decay."""

from __future__ import annotations

import math

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.schedulers import LinearDecay, WarmupInverseSqrt


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


def test_linear_decay_falls_from_lr_to_the_final_factor_then_stays() -> None:
    optimizer = _optimizer(0.1)
    rates = _rates(optimizer, LinearDecay(optimizer, total_steps=4, final_factor=0.0), 6)
    assert rates == pytest.approx([0.1, 0.075, 0.05, 0.025, 0.0, 0.0])


@pytest.mark.parametrize("kwargs", [{"total_steps": 0}, {"total_steps": 3, "final_factor": 2}])
def test_linear_decay_refuses_settings_it_cannot_follow(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="scheduler.scheduler"):
        LinearDecay(_optimizer(), **kwargs)


@pytest.mark.parametrize("total_steps", range(1, 11))
def test_one_cycle_is_valid_for_every_short_run(total_steps: int) -> None:
    """Trust round two, case 10: one-cycle with pct_start 0.25 divided by zero over exactly
    4 steps (and gave nonsense rates over 1-3): every run of 1-10 steps gets a schedule that
    warms up for two steps or, under 3 steps, trains at the peak."""
    from dlzoo.tasks.base import short_run_warmup

    optimizer = _optimizer(0.1)
    pct_start = short_run_warmup(total_steps, 0.25)
    if pct_start is None:
        assert total_steps <= 2
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=0.1, total_steps=total_steps, pct_start=pct_start
        )
    rates = _rates(optimizer, scheduler, total_steps)
    assert 0.09 <= max(rates) <= 0.1  # the peak falls between steps on some counts
    assert all(math.isfinite(r) and r > 0 for r in rates[:-1] or rates)


def test_one_cycle_peaks_each_parameter_group_at_its_own_rate() -> None:
    """A fine-tuned head at ``head_lr`` (10x optimizer.lr here) keeps its ratio to the body
    at every step of one-cycle, which otherwise sets one peak for every group."""
    from functools import partial

    from torch import nn

    from dlzoo.data.spec import ClassificationSpec
    from dlzoo.tasks import MulticlassTask

    class TwoGroups(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.head = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.body(x))

        def parameter_groups(self) -> list[dict]:
            return [{"params": self.body.parameters()},
                    {"params": self.head.parameters(), "lr": 0.01}]  # fmt: skip

    schedule = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.001, pct_start=0.25)
    module = MulticlassTask(
        net=TwoGroups(),
        optimizer=partial(torch.optim.AdamW, lr=0.001),
        scheduler={"scheduler": schedule, "interval": "step"},
        spec=ClassificationSpec.numbered((4,), 2),
    )
    module.estimated_optimizer_steps = lambda: 20  # type: ignore[method-assign]
    configured = module.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    peaks = []
    for _ in range(20):
        body, head = (g["lr"] for g in optimizer.param_groups)
        assert head == pytest.approx(10 * body)
        peaks.append(head)
        optimizer.step()
        scheduler.step()
    assert max(peaks) == pytest.approx(0.01, rel=0.05)
