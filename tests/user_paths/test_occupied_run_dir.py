"""Trust round two, case 6: a fresh run into a fixed ``hydra.run.dir`` that holds an
earlier run would mix the two (checkpoints as ``last-v1.ckpt`` beside the old ones, both
runs' TensorBoard events, a later ``resume=auto`` continuing the old weights under the new
record). It is refused before anything is written there."""

from __future__ import annotations

from pathlib import Path

from conftest import QUIET, compose_config, run_script
from dlzoo.commands.train import train


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_case_6_a_fresh_run_into_an_occupied_folder_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "my_run"
    overrides = ["model=mlp", "data=two_clusters", "trainer.max_epochs=1", *QUIET]
    train(compose_config(overrides, run_dir))
    before = snapshot(run_dir)
    result = run_script("train.py", *overrides, "seed=7", f"hydra.run.dir={run_dir}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {run_dir} already holds a run")
    assert "resume=auto continues it" in lines[0] and f"mv {run_dir} {run_dir}.old" in lines[0]
    assert snapshot(run_dir) == before  # not even Hydra's .hydra/ or a log was written


def test_case_6_the_api_refuses_it_too(tmp_path: Path) -> None:
    import pytest

    from dlzoo.errors import RunDirError

    overrides = ["model=mlp", "data=two_clusters", "trainer.max_epochs=1", *QUIET]
    train(compose_config(overrides, tmp_path / "run"))
    with pytest.raises(RunDirError, match="already holds a run"):
        train(compose_config([*overrides, "seed=7"], tmp_path / "run"))


def test_a_launch_refused_before_training_does_not_hold_its_folder(tmp_path: Path) -> None:
    """A config refused before any step leaves only its failed record: the corrected
    command into the same folder starts, instead of being told to resume nothing."""
    import json

    run_dir = tmp_path / "my_run"
    overrides = ["model=mlp", "data=two_clusters", "trainer.max_epochs=1", *QUIET]
    refused = run_script("train.py", *overrides, "++model.task_options.label_smoothing=2",
                         f"hydra.run.dir={run_dir}")  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "failed"
    again = run_script("train.py", *overrides, f"hydra.run.dir={run_dir}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
