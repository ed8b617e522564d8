"""Kill a training process hard (SIGKILL) mid-epoch, resume it, and get the same run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from conftest import compose_config, start_train_script, wait_for_marker
from dlzoo.commands.train import train
from dlzoo.data.batches import InMemoryBatches

#: 100 training images in batches of 10: 10 steps per epoch, 3 epochs, a checkpoint every
#: 3 steps. Dropout makes the RNG state matter; one-cycle makes the scheduler state matter.
COMMON = [
    "data.val_size=20",
    "data.batch_size=10",
    "trainer.max_epochs=3",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "trainer.log_every_n_steps=1",
    "trainer.num_sanity_val_steps=0",
    "model.net.hidden_sizes=[32]",
    "model.net.dropout=0.3",
    "optimizer.lr=0.003",
    "seed=7",
    "+callbacks.model_checkpoint.every_n_train_steps=3",
    "print_config=false",
    "callbacks.progress_bar.enabled=false",
    "callbacks.model_summary.enabled=false",
    "logger=many",  # TensorBoard and CSV
]
STALL_STEP = 14  # epoch 1, batch 3: the newest checkpoint is from step 12 (mid-epoch)


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar TensorBoard shows for a run (after its purge of superseded steps)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def start_killable_run(run_dir: Path, data_dir: Path, marker: Path) -> subprocess.Popen:
    args = [
        *COMMON,
        f"paths.data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        "+callbacks.stall._target_=stall.StallAtStep",
        f"+callbacks.stall.step={STALL_STEP}",
        f"+callbacks.stall.marker={marker}",
    ]
    return start_train_script(*args)


def test_sigkill_mid_epoch_then_resume_matches_an_unbroken_run(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    killed_dir, marker = tmp_path / "killed", tmp_path / "stalled"
    proc = start_killable_run(killed_dir, tiny_data_dir, marker)
    try:
        # meanwhile, the reference run (in this process)
        ref_dir = tmp_path / "reference"
        reference = train(compose_config([*COMMON, f"paths.data_dir={tiny_data_dir}"], ref_dir))

        wait_for_marker(marker, proc)
        assert (killed_dir / "checkpoints" / "last.ckpt").is_file()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((killed_dir / "metrics.json").read_text())["status"] == "running"
    ckpt = torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 12  # mid-epoch: epoch 1 after 2 of its 10 batches
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [
        {"epoch": 1, "batches_yielded": 2}
    ]

    resumed = train(
        compose_config([*COMMON, f"paths.data_dir={tiny_data_dir}", "resume=auto"], killed_dir)
    )

    assert resumed["status"] == "completed"
    assert resumed["resumed_from"] == str(killed_dir / "checkpoints" / "last.ckpt")
    assert resumed["run_dir"] == str(killed_dir)
    assert resumed["global_steps"] == reference["global_steps"] == 30
    assert resumed["epochs"] == reference["epochs"]
    assert set(resumed["metrics"]) == set(reference["metrics"])
    for name, value in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(value, abs=1e-6), name
    # the final weights, not only the metrics of the best checkpoint, are the same
    final_ref = torch.load(ref_dir / "checkpoints" / "last.ckpt", weights_only=True)
    final_res = torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert final_res["global_step"] == final_ref["global_step"] == 30
    for key, tensor in final_ref["state_dict"].items():
        torch.testing.assert_close(final_res["state_dict"][key], tensor, atol=1e-6, rtol=0)
    on_disk = json.loads((killed_dir / "metrics.json").read_text())
    assert on_disk["status"] == "completed" and on_disk["metrics"] == resumed["metrics"]
    # the resumed part's epoch times (the first one partial), not seconds since boot
    assert resumed["epoch_times_s"] and max(resumed["epoch_times_s"]) <= resumed["train_time_s"]

    # the same TensorBoard run, continued without duplicate steps
    ref_scalars, res_scalars = scalars(ref_dir), scalars(killed_dir)
    for tag in ("train/loss_step", "val/loss", "val/acc", "train/lr"):
        ref_steps = [s for s, _ in ref_scalars[tag]]
        res_steps = [s for s, _ in res_scalars[tag]]
        assert res_steps == ref_steps, tag
        assert [v for _, v in res_scalars[tag]] == pytest.approx(
            [v for _, v in ref_scalars[tag]], abs=1e-6
        ), tag

    # the CSV log keeps the rows from before the kill and has every step once
    import pandas as pd

    ref_csv = pd.read_csv(ref_dir / "csv" / "metrics.csv")
    res_csv = pd.read_csv(killed_dir / "csv" / "metrics.csv")[ref_csv.columns]
    assert res_csv["step"].tolist() == ref_csv["step"].tolist()
    assert not list((killed_dir / "csv").glob("metrics.part*.csv"))
    # ... with the same values, the interrupted epoch's training averages included
    for column in ref_csv.columns:
        assert res_csv[column].fillna(-1).tolist() == pytest.approx(
            ref_csv[column].fillna(-1).tolist(), abs=1e-6
        ), column


def test_in_memory_batches_resume_mid_epoch_and_reshuffle_each_epoch() -> None:
    x = torch.arange(20)
    loader = InMemoryBatches([x], batch_size=4, shuffle=True, seed=3)
    first = [b[0].tolist() for b in loader]
    second = [b[0].tolist() for b in loader]
    assert first != second  # a new order every epoch
    it = iter(loader)
    third = [next(it)[0].tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state == {"epoch": 2, "batches_yielded": 2}

    restored = InMemoryBatches([x], batch_size=4, shuffle=True, seed=3)
    restored.load_state_dict(state)
    rest = [b[0].tolist() for b in restored]
    unbroken = InMemoryBatches([x], batch_size=4, shuffle=True, seed=3)
    epochs = [[b[0].tolist() for b in unbroken] for _ in range(3)]
    assert third + rest == epochs[2]
    assert restored.state_dict() == {"epoch": 3, "batches_yielded": 0}

    # saved after an epoch's last batch: the restored loader starts the next epoch
    at_end = InMemoryBatches([x], batch_size=4, shuffle=True, seed=3)
    at_end.load_state_dict({"epoch": 0, "batches_yielded": 5})
    assert [b[0].tolist() for b in at_end] == epochs[1]


def _fake_run(folder: Path, overrides: list[str], status: str | None, step: int) -> Path:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / "checkpoints").mkdir()
    torch.save(
        {
            "global_step": step,
            "loops": {"fit_loop": {"epoch_loop.state_dict": {"_batches_that_stepped": step}}},
        },
        folder / "checkpoints" / "last.ckpt",
    )
    if status:
        (folder / "metrics.json").write_text(json.dumps({"status": status}))
    return folder


def test_resume_auto_finds_the_interrupted_run_launched_with_the_same_overrides(
    tmp_path: Path,
) -> None:
    from dlzoo.reliability.resume import plan_resume

    runs = tmp_path / "train" / "runs"
    mine = ["model.net.dropout=0.1", "optimizer.lr=0.01"]
    _fake_run(runs / "a_finished", mine, "completed", 30)
    _fake_run(runs / "b_other_lr", ["model.net.dropout=0.1", "optimizer.lr=0.5"], "running", 20)
    wanted = _fake_run(runs / "c_killed", mine, "running", 12)
    time.sleep(0.05)
    _fake_run(runs / "d_diverged", mine, "diverged", 7)

    cfg = compose_config([*mine, "paths.data_dir=x", "resume=auto"], runs / "new")
    plan = plan_resume(cfg)
    assert plan.checkpoint == str(wanted / "checkpoints" / "last.ckpt")
    assert plan.run_dir == str(wanted) == cfg.paths.output_dir  # outputs go there
    assert plan.step == 12

    # nothing matching: a fresh start in the new folder
    cfg = compose_config(["optimizer.lr=0.3", "resume=auto"], runs / "new2")
    assert plan_resume(cfg).checkpoint is None
    assert cfg.paths.output_dir == str(runs / "new2")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path):
    run_dir = tmp_path_factory.mktemp("reference")
    record = train(compose_config([*COMMON, f"paths.data_dir={tiny_data_dir}"], run_dir))
    return run_dir, record


@pytest.mark.parametrize(
    "step", [5, 14, 20], ids=["first_epoch", "mid_epoch", "last_batch_of_epoch"]
)
def test_interrupt_then_resume_matches_an_unbroken_run(
    step: int, reference_run, tmp_path: Path, tiny_data_dir: Path
) -> None:
    """A Ctrl-C at a given step (the flag the SIGINT handler sets), then resume=auto: the
    same metrics and the same CSV log, every step once. On an epoch's last batch the stop
    waits for the next epoch's first batch, so the epoch's validation is not skipped."""
    import pandas as pd

    from dlzoo.errors import TrainingInterrupted

    ref_dir, reference = reference_run
    run_dir = tmp_path / "run"
    base = [*COMMON, f"paths.data_dir={tiny_data_dir}"]
    with pytest.raises(TrainingInterrupted, match=r"interrupted \(Ctrl-C\) at step") as info:
        train(
            compose_config(
                [
                    *base,
                    "+callbacks.ask._target_=stall.InterruptAtStep",
                    f"+callbacks.ask.step={step}",
                ],
                run_dir,
            )
        )
    stopped_at = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert stopped_at == (step if step % 10 else step + 1)
    assert f"at step {stopped_at} " in str(info.value)

    resumed = train(compose_config([*base, "resume=auto"], run_dir))
    for name, value in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(value, abs=1e-6), name
    # the resumed run keeps writing last.ckpt itself (not last-v1.ckpt beside a stale one),
    # so eval, a second resume and an extension all start from the end of training
    checkpoints = run_dir / "checkpoints"
    assert not list(checkpoints.glob("last-v*.ckpt"))
    final = torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"]
    assert final == reference["global_steps"]
    assert resumed["last_checkpoint"] == str(checkpoints / "last.ckpt")
    ref_csv = pd.read_csv(ref_dir / "csv" / "metrics.csv")
    res_csv = pd.read_csv(run_dir / "csv" / "metrics.csv")[ref_csv.columns]
    assert res_csv["step"].tolist() == ref_csv["step"].tolist()
    for column in ref_csv.columns:
        assert res_csv[column].fillna(-1).tolist() == pytest.approx(
            ref_csv[column].fillna(-1).tolist(), abs=1e-6
        ), column


def test_a_resumed_runs_event_file_sorts_after_the_interrupted_runs(tmp_path: Path) -> None:
    from dlzoo.reliability.resume import after_earlier_event_files

    newest = int(time.time()) + 1  # an interrupted run's file from "this" second or later
    (tmp_path / "tensorboard").mkdir()
    (tmp_path / "tensorboard" / f"events.out.tfevents.{newest}.host.99999.0").write_bytes(b"")
    after_earlier_event_files(tmp_path)
    assert int(time.time()) > newest


def test_resuming_a_completed_run_keeps_its_timings(tiny_data_dir: Path, tmp_path: Path) -> None:
    """A second launch with resume=<the finished run> has nothing left to fit; its record
    must still hold the first launch's fitting time and epoch times, not the empty resume's."""
    overrides = [*COMMON, f"paths.data_dir={tiny_data_dir}", "trainer.max_epochs=2"]
    first = train(compose_config(overrides, tmp_path / "run"))
    again = train(compose_config([*overrides, f"resume={tmp_path / 'run'}"], tmp_path / "other"))
    assert again["run_dir"] == first["run_dir"]
    assert len(first["epoch_times_s"]) == 2
    assert again["epoch_times_s"] == first["epoch_times_s"]
    assert again["train_time_s"] >= first["train_time_s"]
    assert again["global_steps"] == first["global_steps"]


def test_a_language_model_interrupted_mid_epoch_resumes_with_its_carried_state(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    """Sequential sampling carries the recurrent state from batch to batch: a Ctrl-C
    mid-epoch, then resume=auto, continues from that state, not from a fresh one (the same
    weights and metrics as an unbroken run)."""
    from dlzoo.errors import TrainingInterrupted

    text = tmp_path / "story.txt"
    text.write_text("the time traveller smiled and we all listened to him " * 60)
    base = [
        "model=gru",
        "data=text_file",
        f"data.path={text}",
        "data.sampling=sequential",
        "model.net.hidden_size=16",
        "data.num_steps=8",
        "data.batch_size=4",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "trainer.deterministic=true",
        "trainer.num_sanity_val_steps=0",
        "test=false",
        "seed=5",
        "print_config=false",
        "callbacks.progress_bar.enabled=false",
        "callbacks.model_summary.enabled=false",
        f"paths.data_dir={tiny_data_dir}",
    ]
    reference = train(compose_config(base, tmp_path / "reference"))
    run_dir = tmp_path / "run"
    interrupt = ["+callbacks.ask._target_=stall.InterruptAtStep", "+callbacks.ask.step=5"]
    with pytest.raises(TrainingInterrupted):
        train(compose_config([*base, *interrupt], run_dir))
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 5
    resumed = train(compose_config([*base, "resume=auto"], run_dir))
    for name, value in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(value, abs=1e-6), name
    final_ref = torch.load(tmp_path / "reference" / "checkpoints" / "last.ckpt", weights_only=True)
    final_res = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    for key, tensor in final_ref["state_dict"].items():
        torch.testing.assert_close(final_res["state_dict"][key], tensor, atol=1e-6, rtol=0)
