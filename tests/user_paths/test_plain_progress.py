"""Trust round two, case 21: where stdout is not a terminal (a log file, CI, nohup), Rich's
bar draws nothing; plain progress lines say where training is instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import compose_config
from dlzoo.commands.train import train


def test_case_21_plain_progress_lines_when_stdout_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = ["model=mlp", "data=two_clusters", "trainer.max_epochs=2", "print_config=false",
                 "callbacks.progress_bar.interval=0", "callbacks.model_summary.enabled=false"]  # fmt: skip
    train(compose_config(overrides, tmp_path / "run"))
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("epoch 2/2, batch")]
    assert steps, out[-2000:]
    assert "steps/s" in steps[-1] and " left" in steps[-1] and ", loss " in steps[-1]
    assert any(
        line.startswith("epoch 1 done (") and "val/acc=" in line for line in out.splitlines()
    )


def test_a_resumed_run_does_not_call_its_own_time_the_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After ``resume=<run> trainer.max_epochs=3`` the clock starts at the resume: the epoch
    lines say so instead of "in all"."""
    overrides = ["model=mlp", "data=two_clusters", "print_config=false",
                 "callbacks.model_summary.enabled=false"]  # fmt: skip
    run = tmp_path / "run"
    train(compose_config([*overrides, "trainer.max_epochs=2"], run))
    first = capsys.readouterr().out
    assert "epoch 2 done (" in first and " in all): " in first
    train(compose_config([*overrides, "trainer.max_epochs=3", f"resume={run}"], run))
    resumed = [line for line in capsys.readouterr().out.splitlines() if " done (" in line]
    assert resumed and resumed[0].startswith("epoch 3 done (")
    assert "since the resume): " in resumed[0] and "in all" not in resumed[0]


def test_an_epoch_without_validation_shows_no_validation_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run stopped by ``trainer.max_steps`` in the middle of an epoch skips that epoch's
    validation: its "done" line shows the training figures only, not the last epoch's
    validation values as if they were new."""
    overrides = ["model=mlp", "data=two_clusters", "print_config=false", "data.batch_size=16",
                 "trainer.max_epochs=3", "+trainer.max_steps=20",
                 "callbacks.model_summary.enabled=false"]  # fmt: skip
    train(compose_config(overrides, tmp_path / "run"))
    done = [line for line in capsys.readouterr().out.splitlines() if " done (" in line]
    assert done[0].startswith("epoch 1 done (") and "val/acc=" in done[0]
    assert done[-1].startswith("epoch 2 done (") and "train/" in done[-1]
    assert "val/" not in done[-1]
