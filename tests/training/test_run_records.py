"""Run records on the paths users take: launches that collide, fail, or continue a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from conftest import QUIET, compose_config, run_script, start_train_script
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError, DataError

IRIS = ["model=mlp", "data=iris", "trainer.max_epochs=3", *QUIET]


def test_three_runs_started_together_get_three_folders(tmp_path: Path) -> None:
    """Default run-folder naming (a date and time to the second): each launch adds an id."""
    procs = [
        start_train_script(*IRIS, f"paths.log_dir={tmp_path}", "trainer.max_epochs=1")
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    runs = sorted((tmp_path / "train" / "runs").iterdir())
    assert len(runs) == 3, runs
    for run in runs:
        record = json.loads((run / "metrics.json").read_text())
        assert record["status"] == "completed" and record["run_dir"] == str(run)
        events = list((run / "tensorboard").rglob("events.out.tfevents.*"))
        writers = {e.name.split(".")[-2] for e in events}  # the writing process's pid
        assert events and len(writers) == 1, events  # one launch's events only


def test_a_run_that_fails_says_so_in_its_record(
    make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    cfg = make_cfg("model=mlp", "data=fashion_mnist", f"paths.data_dir={tmp_path / 'nothing'}")
    cfg.data.download = False
    with pytest.raises(DataError) as err:
        train(cfg)
    record = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert record["status"] == "failed" and record["message"] == str(err.value)


def finished_run(tmp_path: Path, *extra: str) -> tuple[Path, dict, bytes, bytes]:
    run_dir = tmp_path / "finished"
    record = train(compose_config([*IRIS, *extra], run_dir))
    return (
        run_dir,
        record,
        (run_dir / "metrics.json").read_bytes(),
        (run_dir / "config.yaml").read_bytes(),
    )


def test_a_failed_relaunch_never_changes_a_finished_runs_record(tmp_path: Path) -> None:
    run_dir, _, metrics, config = finished_run(tmp_path)
    changed = compose_config(
        [*IRIS, f"resume={run_dir}", "model.net.hidden_sizes=[7]"], tmp_path / "x"
    )
    with pytest.raises(ConfigError, match=r"different model .*hidden_sizes=\[7\]"):
        train(changed)
    assert (run_dir / "metrics.json").read_bytes() == metrics
    assert (run_dir / "config.yaml").read_bytes() == config


def test_extending_a_finished_one_cycle_run(tmp_path: Path) -> None:
    """The way docs/reliability.md describes: resume=<run> with more epochs. The one-cycle
    schedule had ended; the added epochs get a new one."""
    run_dir, first, _, _ = finished_run(tmp_path)
    extended = train(
        compose_config([*IRIS, f"resume={run_dir}", "trainer.max_epochs=5"], tmp_path / "y")
    )
    assert extended["status"] == "completed" and extended["epochs"] == 5
    assert extended["global_steps"] == first["global_steps"] * 5 // 3
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 5


def test_steps_per_call_with_one_cycle_under_fast_dev_run(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    """experiment=mlp_fast debug=fdr stepped one-cycle past its end (it counted calls)."""
    result = run_script(
        "train.py",
        "experiment=mlp_fast",
        "debug=fdr",
        f"paths.data_dir={tiny_data_dir}",
        "data.val_size=20",
        f"hydra.run.dir={tmp_path / 'fdr'}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_run_that_learned_nothing_says_so(
    make_cfg: Callable[..., DictConfig], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = make_cfg("model=mlp", "data=iris", "trainer.max_epochs=1", "optimizer.lr=1e-9")
    record = train(cfg)
    baseline = record["baseline"]
    assert baseline["metric"] == "test/acc" and baseline["learned"] is False
    assert "the model learned nothing useful: test/acc=" in caplog.text
    assert "always predicting the most common class" in caplog.text


def test_a_run_that_learned_says_so_too(make_cfg: Callable[..., DictConfig]) -> None:
    record = train(make_cfg("model=mlp", "data=iris", "trainer.max_epochs=20"))
    assert record["baseline"]["learned"] is True
    assert record["metrics"]["test/acc"] > record["baseline"]["value"] + 0.2


def test_baselines_of_each_task() -> None:
    import torch

    from dlzoo.data.spec import ClassificationSpec, RegressionSpec, TokenStreamSpec
    from dlzoo.tasks import LanguageModelTask, MulticlassTask, RegressionTask

    net = torch.nn.Linear(2, 3)
    multi = MulticlassTask(net, torch.optim.SGD, spec=ClassificationSpec((2,), ("a", "b", "c")))
    found = multi.trivial_baseline(torch.tensor([0, 1, 1, 2]), torch.tensor([1, 1, 0, 2]))
    assert found.value == 0.5 and found.beaten_by(0.6) and not found.beaten_by(0.5)
    reg = RegressionTask(net, torch.optim.SGD, spec=RegressionSpec((2,)))
    found = reg.trivial_baseline(torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [4.0]]))
    assert found.value == pytest.approx(1 - (0 + 4) / 2)  # guess 2 for targets 2 and 4
    lm = LanguageModelTask(net, torch.optim.SGD, spec=TokenStreamSpec((4,), ("<unk>", "a", "b")))
    found = lm.trivial_baseline(torch.tensor([1, 1, 1, 2]), torch.tensor([1, 2]))
    assert found.metric == "test/perplexity" and not found.higher_is_better
    assert 1.0 < found.value < 3.0


def test_a_checkpoint_of_another_model_is_one_message(tmp_path: Path) -> None:
    run_dir, _, _, _ = finished_run(tmp_path)
    other = compose_config(
        [*IRIS, f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "model.net.hidden_sizes=[5]"],
        tmp_path / "other",
    )
    with pytest.raises(ConfigError, match=r"different model or dataset: model\.net\.hidden_sizes"):
        train(other)


def test_a_disk_that_fills_mid_run_is_one_message_and_a_failed_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third checkpoint write fails with ENOSPC: one message naming the last good
    checkpoint and the resume command; the record says failed."""
    import errno

    from dlzoo.reliability import checkpoint_io
    from dlzoo.reliability.run_record import DiskFull

    real_save, calls = checkpoint_io.atomic_torch_save, []

    def filling(obj, path):  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_save(obj, path)

    monkeypatch.setattr(checkpoint_io, "atomic_torch_save", filling)
    cfg = compose_config([*IRIS, "trainer.max_epochs=4"], tmp_path / "full")
    with pytest.raises(DiskFull) as err:
        train(cfg)
    message = str(err.value)
    assert message.startswith("the disk is full while writing ")
    assert "the last good checkpoint is" in message and "resume=" in message
    record = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert record["status"] == "failed" and record["message"] == message
