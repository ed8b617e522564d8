"""Trust round two, case 19: a resume hint works when pasted, and ``resume=<run>`` alone
continues the run as it was launched (its saved overrides), not the default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import QUIET, compose_config, run_script
from dlzoo.arguments import with_saved_overrides
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError
from dlzoo.reliability.resume import resume_command


def test_case_19_resume_with_the_run_folder_alone_takes_its_saved_overrides(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    launched = ["model=mlp", "data=two_clusters", "trainer.max_epochs=1", "seed=3"]
    train(compose_config([*launched, *QUIET], run))
    (run / ".hydra").mkdir()
    (run / ".hydra" / "overrides.yaml").write_text(json.dumps(launched))  # what Hydra saves
    result = run_script("train.py", f"resume={run}", "trainer.max_epochs=2", *QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run / "metrics.json").read_text())
    assert (record["model"], record["data"], record["epochs"], record["seed"]) == (
        "mlp",
        "two_clusters",
        2,
        3,
    )


def test_saved_overrides_come_first_and_the_new_ones_win(tmp_path: Path) -> None:
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text(
        '["model=lenet", "trainer.max_epochs=3", "hydra.run.dir=x", "resume=auto"]'
    )
    args = [f"resume={tmp_path}", "trainer.max_epochs=9"]
    assert with_saved_overrides(args) == ["model=lenet", *args]
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"")
    assert with_saved_overrides([f"resume={checkpoint}"])[0] == "model=lenet"
    assert with_saved_overrides(["resume=auto", "model=mlp"]) == ["resume=auto", "model=mlp"]


@pytest.mark.parametrize(
    ("argv0", "program"),
    [("/venv/bin/dlzoo-train", "dlzoo-train"), ("scripts/train.py", "python scripts/train.py")],
)
def test_the_resume_hint_names_the_program_the_user_ran(
    argv0: str, program: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", [argv0])
    hint = resume_command("logs/run 1")  # with this launch's overrides between them
    assert hint.startswith(f"{program} ") and hint.endswith(" 'resume=logs/run 1'")


def test_a_refused_resume_leaves_the_runs_saved_config_and_resume_alone_still_works(
    tmp_path: Path,
) -> None:
    """A newcomer's report: ``resume=auto`` with another model into a fixed run folder was
    refused, but Hydra had already rewritten the run's ``.hydra/`` files with that command,
    so ``resume=<run>`` alone then rebuilt the wrong model, for good. And a resume with
    fewer epochs than the run had done ended in Lightning's traceback."""
    run = tmp_path / "fixed"
    launched = ["model=mlp", "data=two_clusters", "trainer.max_epochs=2", f"hydra.run.dir={run}"]
    train(compose_config([*launched[:3], *QUIET], run))  # the first run, as Hydra leaves it
    (run / ".hydra").mkdir()
    first = json.dumps(launched)
    (run / ".hydra" / "overrides.yaml").write_text(first)
    refused = run_script("train.py", "model=softmax_regression", "data=two_clusters",
                         "trainer.max_epochs=3", f"hydra.run.dir={run}", "resume=auto", *QUIET)  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "different model or dataset" in refused.stderr
    assert (run / ".hydra" / "overrides.yaml").read_text() == first
    fewer = [*launched[:2], "trainer.max_epochs=1", f"resume={run}", *QUIET]
    with pytest.raises(ConfigError, match=r"max_epochs=1: the run in .* has finished 2 epochs"):
        train(compose_config(fewer, run))
    # what train.py does with `resume=<run> trainer.max_epochs=3` (its launch is tested above)
    args = with_saved_overrides([f"resume={run}", "trainer.max_epochs=3"])
    assert args[:2] == ["model=mlp", "data=two_clusters"], args
    kept = [a for a in args if not a.startswith("hydra.")]
    record = train(compose_config([*kept, *QUIET], run))
    assert (record["model"], record["epochs"]) == ("mlp", 3)
