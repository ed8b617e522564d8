"""Trust round two, case 10: the most natural quick test, a few optimizer steps under the
default one-cycle schedule, completes (4 steps divided by zero in torch's OneCycleLR)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train


def test_iris_for_one_epoch_of_four_steps_completes(tmp_path: Path) -> None:
    cfg = compose_config(
        ["model=mlp", "data=iris", "trainer.max_epochs=1", "data.batch_size=30", *QUIET],
        tmp_path / "run",
    )
    record = train(cfg)
    assert record["status"] == "completed" and record["global_steps"] == 4


def test_case_5_eval_of_the_named_checkpoint_reproduces_the_runs_test_figures(
    tmp_path: Path,
) -> None:
    """Iris validates on its test split, so a run tests its final weights, not the best
    epoch's: the record and the last lines name that checkpoint, and eval.py on it (or on
    the run folder) gives the run's own test figures."""
    from dlzoo.commands.evaluate import evaluate

    overrides = ["model=mlp", "data=iris", "trainer.max_epochs=6", "data.batch_size=30", *QUIET]
    record = train(compose_config(overrides, tmp_path / "run"))
    assert record["tested_checkpoint"] == record["last_checkpoint"]
    for named in (record["tested_checkpoint"], str(tmp_path / "run")):
        evaluated = evaluate(compose_config([f"ckpt_path={named}"], tmp_path / "eval", "eval"))
        for key, value in record["metrics"].items():
            if key.startswith("test/"):
                assert abs(evaluated["metrics"][key] - value) < 1e-6, (named, key)


def test_case_23_a_run_stopped_by_max_time_says_it_is_short(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides = ["model=mlp", "data=two_clusters", "trainer.max_epochs=1000",
                 "trainer.max_time=00:00:00:02", *QUIET]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        record = train(compose_config(overrides, tmp_path / "run"))
    assert record["stopped_by"] == "trainer.max_time=00:00:00:02"
    assert record["epochs"] < 1000
    assert f"stopped training after {record['global_steps']} steps" in caplog.text
    assert "figures of a short run" in caplog.text
