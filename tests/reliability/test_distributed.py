"""DDP on 2 CPU processes (gloo) under Hydra, a multirun of DDP jobs, the SLURM launcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from conftest import compose_config, run_script
from dlzoo.cli import config_dir
from dlzoo.commands.evaluate import evaluate

#: 100 training images, a global batch of 20 = 10 per process: 5 steps per epoch
DDP = [
    "trainer=ddp_cpu",
    "data.val_size=20",
    "data.batch_size=20",
    "model.net.hidden_sizes=[32]",
    "trainer.num_sanity_val_steps=0",
    "print_config=false",
    "callbacks.progress_bar.enabled=false",
    "callbacks.model_summary.enabled=false",
]


@pytest.mark.slow
def test_ddp_cpu_trains_end_to_end_with_one_run_dir_and_synced_metrics(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    log_dir = tmp_path / "logs"
    result = run_script(
        "train.py",
        *DDP,
        "trainer.max_epochs=2",
        f"paths.data_dir={tiny_data_dir}",
        f"paths.log_dir={log_dir}",
        timeout=500,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Starting with 2 processes" in result.stdout + result.stderr
    runs = list((log_dir / "train" / "runs").iterdir())
    assert len(runs) == 1  # one run folder, not one per rank
    run_dir = runs[0]
    assert sorted(p.name for p in log_dir.rglob("metrics.json")) == ["metrics.json"]
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "completed"
    # 100 images / global batch 20 = 5 steps per epoch: the global batch is split, not copied
    assert record["global_steps"] == 10 and record["epochs"] == 2
    assert record["metrics"]["val/acc_best"] is not None

    # test metrics are over the whole test split (both ranks' shards), equal to evaluating
    # the same checkpoint in a single process
    cfg = compose_config(
        [
            f"ckpt_path={record['best_checkpoint']}",
            f"paths.data_dir={tiny_data_dir}",
            "trainer.accelerator=cpu",
        ],
        tmp_path / "eval",
        config_name="eval",
    )
    single = evaluate(cfg)["metrics"]
    assert record["metrics"]["test/acc"] == pytest.approx(single["test/acc"], abs=1e-6)
    assert record["metrics"]["test/loss"] == pytest.approx(single["test/loss"], abs=1e-5)


@pytest.mark.slow
def test_multirun_of_two_ddp_jobs_completes(tmp_path: Path, tiny_data_dir: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_script(
        "train.py",
        "-m",
        *DDP,
        "trainer.max_epochs=1",
        "test=false",
        "optimizer.lr=0.01,0.002",
        f"paths.data_dir={tiny_data_dir}",
        f"hydra.sweep.dir={sweep}",
        timeout=580,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name.split("_", 1)[0] for p in jobs] == ["0", "1"]  # <n>_<its overrides>
    for job in jobs:
        record = json.loads((job / "metrics.json").read_text())
        assert record["status"] == "completed" and record["global_steps"] == 5
    assert (sweep / "multirun.yaml").is_file() and (sweep / "summary.md").is_file()


def test_slurm_launcher_config_composes(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=config_dir()):
        cfg = compose(
            config_name="train",
            overrides=[
                "hydra/launcher=slurm",
                "trainer=ddp",
                "trainer.devices=4",
                "hydra.launcher.partition=gpu",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == "gpu"
    # one SLURM task per GPU, as many as the trainer uses
    assert OmegaConf.select(cfg, "hydra.launcher.tasks_per_node") == 4
    assert OmegaConf.select(cfg, "hydra.launcher.gpus_per_node") == 4
    assert OmegaConf.select(cfg, "hydra.launcher.nodes") == 1


def test_errors_of_spawned_workers_keep_their_type_step_and_checkpoint() -> None:
    """ddp_spawn hands the main process only a worker's traceback text."""
    from dlzoo.errors import TrainingDiverged, TrainingInterrupted
    from dlzoo.reliability.distributed import from_worker

    diverged = from_worker(
        RuntimeError(
            "\n-- Process 0 terminated with the following error:\nTraceback (...)\n"
            "dlzoo.errors.TrainingDiverged: training diverged: the training loss is nan at "
            "step 8 (epoch 1, batch 2). ... The last good checkpoint is kept: /r/last.ckpt\n"
        )
    )
    assert isinstance(diverged, TrainingDiverged)
    assert diverged.step == 8 and diverged.checkpoint == "/r/last.ckpt"
    interrupted = from_worker(
        RuntimeError(
            "dlzoo.errors.TrainingInterrupted: interrupted (Ctrl-C) at step 5 (epoch 0, batch "
            "4); checkpoint saved to /r/last.ckpt.\nResume with: python scripts/train.py "
            "resume=/r"
        )
    )
    assert isinstance(interrupted, TrainingInterrupted) and interrupted.exit_code == 130
    assert interrupted.step == 5 and interrupted.checkpoint == "/r/last.ckpt"
    other = RuntimeError("something else")
    assert from_worker(other) is other


@pytest.mark.slow
def test_ctrl_c_under_ddp_spawn_saves_a_checkpoint_and_exits_130(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    """Ctrl-C reaches the whole foreground process group: main process and workers."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    run_dir, marker = tmp_path / "run", tmp_path / "reached"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "scripts" / "train.py"),
            *DDP,
            "trainer.max_epochs=4",
            f"paths.data_dir={tiny_data_dir}",
            f"hydra.run.dir={run_dir}",
            "+callbacks.stall._target_=stall.StallAtStep",
            "+callbacks.stall.step=3",
            f"+callbacks.stall.marker={marker}",
            "+callbacks.stall.pause=0.5",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 400
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), "training did not reach step 3"
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, output[-3000:]
    assert "interrupted (Ctrl-C) at step" in output
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "interrupted" and record["global_steps"] >= 3
    assert record["last_checkpoint"] == str(run_dir / "checkpoints" / "last.ckpt")
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
