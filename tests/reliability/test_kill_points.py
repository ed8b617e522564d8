"""SIGKILL a run with the default configuration (one-cycle, default callbacks) at points
across an epoch and at its end, resume it with ``resume=auto``, and get the unbroken run's
weights and metrics exactly: on the MLP, on a language model and on BERT's pretraining
(fresh sentence pairs and masks every epoch)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import QUIET, compose_config, start_train_script, wait_for_marker
from dlzoo.commands.train import train

#: where to kill: (hook, epoch, batch). Default callbacks checkpoint at each epoch's end,
#: so every resume starts from the newest last.ckpt and replays what was lost.
KILL_POINTS = {
    "first-batch": ("on_train_batch_end", 1, 0),
    "mid-epoch": ("on_train_batch_end", 1, 3),
    "during-validation": ("on_validation_batch_end", 1, 0),
    "after-the-epoch-checkpoint": ("on_train_epoch_end", 1, 0),
    "between-epochs": ("on_train_epoch_start", 2, 0),
}

#: the default run: mid-epoch is also tests/reliability/test_resume.py's kill, and between
#: epochs the language model's and BERT's (every point: -m slow, setup mlp-every-point)
MLP_POINTS = ("first-batch", "during-validation", "after-the-epoch-checkpoint")
#: the hidden states carried across batches, inside an epoch and across its end (killed
#: during validation: the MLP's)
LM_POINTS = ("mid-epoch", "between-epochs")
#: BERT draws new pairs and masks each epoch: inside one, and across the boundary
BERT_POINTS = ("mid-epoch", "between-epochs")
SETUPS = {
    "mlp": ["model=mlp", "data=fashion_mnist", "data.val_size=20", "data.batch_size=10"],
    "language-model": [
        "model=gru",
        "data=text_file",
        "model.net.hidden_size=16",
        "data.num_steps=8",
        "data.batch_size=8",
    ],
    "bert-pretraining": [
        "experiment=bert_pretrain",
        "data.max_len=16",
        "data.min_freq=1",
        "data.vocabulary_covers=[]",
        "data.batch_size=16",
        "data.val_fraction=0.1",
        "data.test_fraction=0.1",
        "model.net.num_hiddens=16",
        "model.net.ffn_hiddens=32",
    ],
}


@pytest.fixture(scope="module")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "story.txt"
    path.write_text("the time traveller smiled and we all listened to him " * 60)
    return path


@pytest.fixture(scope="module")
def paragraphs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("paragraphs") / "paragraphs.txt"
    animals = ["cat", "dog", "horse", "bird", "fox", "owl"]
    path.write_text("".join(f"The {a} ran. The {b} sat. A {a} and a {b} slept.\n"
                            for a in animals for b in animals))  # fmt: skip
    return path


def overrides(setup: str, data_dir: Path, text: Path, paragraphs: Path) -> list[str]:
    extra = [f"data.path={text}"] if setup == "language-model" else []
    extra += [f"data.path={paragraphs}"] if setup == "bert-pretraining" else []
    return [
        *SETUPS[setup],
        *extra,
        *QUIET,
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=3",
        "trainer.accelerator=cpu",
        "trainer.num_sanity_val_steps=0",
        "seed=3",
    ]


@pytest.mark.parametrize(
    "setup", [*SETUPS, pytest.param("mlp-every-point", marks=pytest.mark.slow)]
)
def test_resume_after_sigkill_at_every_kill_point_matches_an_unbroken_run(
    setup: str, tmp_path: Path, tiny_data_dir: Path, text_file: Path, paragraphs_file: Path
) -> None:
    base = overrides(setup.removesuffix("-every-point"), tiny_data_dir, text_file, paragraphs_file)
    runs: dict[str, tuple[subprocess.Popen, Path, Path]] = {}
    chosen = {
        "mlp": MLP_POINTS,
        "mlp-every-point": tuple(KILL_POINTS),
        "language-model": LM_POINTS,
        "bert-pretraining": BERT_POINTS,
    }
    points = {k: v for k, v in KILL_POINTS.items() if k in chosen[setup]}
    for name, (hook, epoch, batch) in points.items():  # all at once: 2 cores
        run_dir, marker = tmp_path / name, tmp_path / f"{name}.marker"
        stall = [
            "+callbacks.stall._target_=stall.StallAt",
            f"+callbacks.stall.hook={hook}",
            f"+callbacks.stall.epoch={epoch}",
            f"+callbacks.stall.batch={batch}",
            f"+callbacks.stall.marker={marker}",
        ]
        runs[name] = (
            start_train_script(*base, *stall, f"hydra.run.dir={run_dir}"),
            run_dir,
            marker,
        )
    try:
        reference = train(compose_config(base, tmp_path / "unbroken"))
        for proc, _, marker in runs.values():
            wait_for_marker(marker, proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    finally:
        for proc, _, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
    final_ref = torch.load(tmp_path / "unbroken" / "checkpoints" / "last.ckpt", weights_only=True)[
        "state_dict"
    ]
    for name, (_, run_dir, _) in runs.items():
        assert json.loads((run_dir / "metrics.json").read_text())["status"] == "running", name
        resumed = train(compose_config([*base, "resume=auto"], run_dir))
        assert resumed["status"] == "completed", name
        assert resumed["global_steps"] == reference["global_steps"], name
        for metric, value in reference["metrics"].items():
            assert resumed["metrics"][metric] == pytest.approx(value, abs=1e-6), (name, metric)
        final = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        for key, tensor in final_ref.items():
            torch.testing.assert_close(final[key], tensor, atol=1e-6, rtol=0, msg=f"{name}: {key}")
