"""Divergence, Ctrl-C, an unwritable or full run folder, interrupted checkpoint writes."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest
import torch

from conftest import compose_config, run_script, run_train_script, start_train_script
from dlzoo.cli import run_reporting_errors
from dlzoo.commands.train import train
from dlzoo.errors import RunDirError, TrainingDiverged
from dlzoo.reliability import checkpoint_io, preflight
from dlzoo.reliability.checkpoint_io import AtomicCheckpointIO, atomic_torch_save

TINY = [
    "data.val_size=20",
    "data.batch_size=10",
    "trainer.max_epochs=3",
    "trainer.accelerator=cpu",
    "trainer.num_sanity_val_steps=0",
    "model.net.hidden_sizes=[32]",
    "print_config=false",
    "callbacks.progress_bar.enabled=false",
    "callbacks.model_summary.enabled=false",
]


# a deferred loss check (as on a GPU) must keep the same guarantees: the checkpoint written
# every step reads the unchecked losses before it is saved
@pytest.mark.parametrize("check_every", [[], ["speed.loss_check_every_n_steps=3"]])
def test_nan_loss_stops_with_step_and_learning_rate_and_keeps_last_good_checkpoint(
    check_every: list[str], tmp_path: Path, tiny_data_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    cfg = compose_config(
        [
            *TINY,
            *check_every,
            f"paths.data_dir={tiny_data_dir}",
            # a sane first epoch (checkpointed), then the learning rate jumps to 1e7
            "optimizer=sgd",
            "optimizer.lr=0.1",
            "scheduler=step",
            "scheduler.scheduler.step_size=1",
            "scheduler.scheduler.gamma=1e8",
            "+callbacks.model_checkpoint.every_n_train_steps=1",
        ],
        run_dir,
    )
    with pytest.raises(TrainingDiverged) as info:
        train(cfg)
    message = str(info.value)
    assert "training diverged" in message
    assert "at step " in message and "learning rate" in message and "optimizer.lr" in message
    assert "(it was 1e+07)" in message and "(epoch 2, batch " in message  # counted from 1
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "diverged"
    assert record["message"] == message
    assert f"at step {record['global_steps']} " in message
    # the checkpoint on disk was written before the divergence and holds finite weights
    last = run_dir / "checkpoints" / "last.ckpt"
    assert record["last_checkpoint"] == str(last)
    assert f"kept: {last}" in message
    saved = torch.load(last, weights_only=True)
    assert saved["global_step"] < record["global_steps"]
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values())

    # the entry point turns it into one line and a non-zero exit status
    with pytest.raises(SystemExit) as exited:
        run_reporting_errors(lambda _: (_ for _ in ()).throw(TrainingDiverged("x")), cfg)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("sig", "name", "status"), [(signal.SIGINT, "Ctrl-C", 130), (signal.SIGTERM, "SIGTERM", 143)]
)
def test_ctrl_c_or_sigterm_saves_a_checkpoint_exits_cleanly_and_resumes(
    sig: int, name: str, status: int, tmp_path: Path, tiny_data_dir: Path
) -> None:
    run_dir, marker = tmp_path / "run", tmp_path / "reached"
    args = [
        *TINY,
        f"paths.data_dir={tiny_data_dir}",
        f"hydra.run.dir={run_dir}",
        "+callbacks.stall._target_=stall.StallAtStep",
        "+callbacks.stall.step=5",
        f"+callbacks.stall.marker={marker}",
        "+callbacks.stall.pause=0.5",
    ]
    proc = start_train_script(*args)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "training did not reach step 5"
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, output
    assert "Traceback" not in output
    assert f"interrupted ({name}) at step" in output
    where = re.search(r"at step (\d+) \(epoch (\d+), batch (\d+), counted from 1", output)
    assert where, output  # epoch and batch as the progress lines count them
    step, epoch, batch = map(int, where.groups())
    assert (epoch - 1) * 10 + batch == step  # 10 batches an epoch
    assert f"resume={run_dir}" in output  # tells how to resume
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "interrupted"
    last = run_dir / "checkpoints" / "last.ckpt"
    assert record["last_checkpoint"] == str(last)
    saved = torch.load(last, weights_only=True)
    assert saved["global_step"] == record["global_steps"] >= 5

    resumed = train(
        compose_config([*TINY, f"paths.data_dir={tiny_data_dir}", f"resume={run_dir}"], run_dir)
    )
    assert resumed["status"] == "completed" and resumed["global_steps"] == 30


def test_sigterm_while_testing_is_a_clean_stop_that_names_the_checkpoint(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    """A preemption after training, during the test phase: Lightning raises its own
    SIGTERMException there; the user must still get one message, exit 143, the record
    marked interrupted and the command that tests the trained model."""
    run_dir = tmp_path / "run"
    status, output = run_train_script(
        *TINY,
        f"paths.data_dir={tiny_data_dir}",
        f"hydra.run.dir={run_dir}",
        "+callbacks.term._target_=stall.TerminateWhileTesting",
        "data.eval_batch_size=10",  # Lightning stops before a test batch that is not the last
    )
    assert status == 143, output
    assert "Traceback" not in output
    assert "interrupted (SIGTERM) while testing" in output
    assert f"python scripts/eval.py ckpt_path={run_dir}" in output
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "interrupted" and "while testing" in record["message"]
    assert Path(record["best_checkpoint"]).is_file()
    assert len(record["epoch_times_s"]) == 3  # the training that did finish is recorded


def test_sigterm_while_validating_is_a_clean_stop_that_resumes(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    args = [*TINY, f"paths.data_dir={tiny_data_dir}", "data.eval_batch_size=10"]
    status, output = run_train_script(
        *args, f"hydra.run.dir={run_dir}", "+callbacks.term._target_=stall.TerminateWhileValidating"
    )
    assert status == 143, output
    assert "Traceback" not in output and "interrupted (SIGTERM) at step" in output
    assert f"resume={run_dir}" in output
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    resumed = train(compose_config([*args, f"resume={run_dir}"], run_dir))
    assert resumed["status"] == "completed" and resumed["global_steps"] == 30


def test_unwritable_run_dir_is_reported_before_training(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    cfg = compose_config([*TINY, f"paths.data_dir={tiny_data_dir}"], blocker / "run")
    with pytest.raises(RunDirError, match=r"run directory .*a_file/run is not writable"):
        train(cfg)


def test_full_disk_is_reported_before_training(
    tmp_path: Path, tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Usage:
        total, used, free = 10 * 2**30, 10 * 2**30 - 2**20, 2**20

    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: Usage())
    cfg = compose_config([*TINY, f"paths.data_dir={tiny_data_dir}"], tmp_path / "run")
    with pytest.raises(RunDirError, match=r"not enough free disk space .* 1\.0 MiB free"):
        train(cfg)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())  # stopped before
    assert record["status"] == "failed" and "not enough free disk space" in record["message"]


def test_unwritable_log_dir_is_reported_before_hydra_creates_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = run_script("train.py", f"paths.log_dir={blocker}/logs", timeout=120)
    assert result.returncode == 2
    assert "cannot create the run directory" in result.stderr
    assert "(Not a directory)" in result.stderr and "Traceback" not in result.stderr


def test_a_crash_while_saving_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1, "w": torch.ones(3)}, path)

    def half_written(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_io.torch, "save", half_written)
    with pytest.raises(OSError, match="No space left"):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1  # the old file, intact
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary left over


def test_a_checkpoint_with_non_finite_weights_is_refused() -> None:
    from types import SimpleNamespace

    from dlzoo.callbacks.training_guard import TrainingGuard

    trainer = SimpleNamespace(
        global_step=7, current_epoch=2, optimizers=[], checkpoint_callbacks=[], loggers=[]
    )
    guard = TrainingGuard("unused")
    good = {"state_dict": {"w": torch.ones(2), "steps": torch.tensor(3)}}
    guard.on_save_checkpoint(trainer, None, good)  # finite: nothing happens
    bad = {"state_dict": {"net.0.weight": torch.tensor([1.0, float("inf")])}}
    with pytest.raises(
        TrainingDiverged, match=r"the weights 'net.0.weight' are not finite at step 7"
    ):
        guard.on_save_checkpoint(trainer, None, bad)


def _fake_trainer(**fields: object) -> object:
    from types import SimpleNamespace

    base = dict(
        global_step=0,
        current_epoch=1,
        num_training_batches=10,
        world_size=1,
        log_every_n_steps=4,
        received_sigterm=False,
        optimizers=[],
        checkpoint_callbacks=[],
        loggers=[],
    )
    return SimpleNamespace(**{**base, **fields})


def test_a_deferred_loss_check_reads_losses_only_on_check_steps_and_names_the_first_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from dlzoo.callbacks.training_guard import TrainingGuard

    guard = TrainingGuard("unused")
    trainer = _fake_trainer()
    guard.on_train_start(trainer, SimpleNamespace(device=torch.device("cpu")))
    assert guard._every == 1  # a CPU: every step
    guard.on_train_start(trainer, SimpleNamespace(device=torch.device("cuda")))
    assert guard._every == 4  # elsewhere: the logging cadence

    reads: list[int] = []
    first_bad_loss = guard._first_bad_loss
    monkeypatch.setattr(
        guard, "_first_bad_loss", lambda: reads.append(trainer.global_step) or first_bad_loss()
    )
    losses = [0.5, 0.4, float("nan"), 0.3]
    for batch_idx, loss in enumerate(losses[:3]):
        trainer.global_step = batch_idx + 1
        guard.on_train_batch_end(trainer, None, {"loss": torch.tensor(loss)}, None, batch_idx)
    assert reads == [1]  # batch 0 is a check step; batches 1 and 2 are not read
    trainer.global_step = 4
    with pytest.raises(
        TrainingDiverged,
        match=r"the training loss is nan at step 3 \(epoch 2, batch 3\) \(found at step 4\)",
    ):
        guard.on_train_batch_end(trainer, None, torch.tensor(losses[3]), None, 3)
    assert reads == [1, 4]


def test_a_checkpoint_after_an_unread_nan_loss_is_refused() -> None:
    from types import SimpleNamespace

    from dlzoo.callbacks.training_guard import TrainingGuard

    guard = TrainingGuard("unused", check_every_n_steps=50)
    trainer = _fake_trainer(global_step=6)
    guard.on_train_start(trainer, SimpleNamespace(device=torch.device("cpu")))
    guard.on_train_batch_end(trainer, None, torch.tensor(float("inf")), None, 5)  # not read
    good = {"state_dict": {"w": torch.ones(2)}}
    with pytest.raises(TrainingDiverged, match=r"the training loss is inf at step 6 "):
        guard.on_save_checkpoint(trainer, None, good)
