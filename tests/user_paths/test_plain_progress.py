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
