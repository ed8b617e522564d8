"""Trust round two, case 10: the most natural quick test, a few optimizer steps under the
default one-cycle schedule, completes (4 steps divided by zero in torch's OneCycleLR)."""

from __future__ import annotations

from pathlib import Path

from conftest import QUIET, compose_config
from dlzoo.commands.train import train


def test_iris_for_one_epoch_of_four_steps_completes(tmp_path: Path) -> None:
    cfg = compose_config(
        ["model=mlp", "data=iris", "trainer.max_epochs=1", "data.batch_size=30", *QUIET],
        tmp_path / "run",
    )
    record = train(cfg)
    assert record["status"] == "completed" and record["global_steps"] == 4
