"""Which checkpoint files a run leaves, and what they hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from dlzoo.commands.train import train


def test_last_ckpt_holds_the_last_epoch_when_the_best_was_early(
    make_cfg: Callable[..., DictConfig],
) -> None:
    """Iris reaches its best validation accuracy within a few epochs; last.ckpt must still
    move every epoch (Lightning 2.6 alone stops updating it after the best epoch)."""
    cfg = make_cfg("model=mlp", "data=iris", "trainer.max_epochs=20")
    record = train(cfg)
    best = torch.load(record["best_checkpoint"], weights_only=True, map_location="cpu")
    last = torch.load(record["last_checkpoint"], weights_only=True, map_location="cpu")
    assert Path(record["last_checkpoint"]).name == "last.ckpt"
    assert best["epoch"] < 19  # the best epoch was early ...
    assert last["epoch"] == 19 and last["global_step"] == record["global_steps"]  # ... last is last


def test_no_checkpoint_callback_means_no_checkpoints(
    make_cfg: Callable[..., DictConfig],
) -> None:
    cfg = make_cfg(
        "model=mlp", "data=iris", "trainer.max_epochs=2", "callbacks.model_checkpoint.enabled=false"
    )
    record = train(cfg)
    run_dir = Path(record["run_dir"])
    assert not list(run_dir.rglob("*.ckpt"))  # not even Lightning's default one
    assert record["best_checkpoint"] is None


def test_a_run_folder_stands_for_its_best_checkpoint(tmp_path: Path) -> None:
    """eval/predict/translate/export accept ``ckpt_path=<run folder>``: the best checkpoint
    named in its metrics.json, else checkpoints/last.ckpt; a folder without one is named."""
    from dlzoo.config.checkpoints import checkpoint_of
    from dlzoo.errors import ConfigError

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"is a folder without a checkpoint"):
        checkpoint_of(run)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(b"x")
    assert checkpoint_of(run) == last
    best = run / "checkpoints" / "epoch_002.ckpt"
    best.write_bytes(b"x")
    (run / "metrics.json").write_text(json.dumps({"best_checkpoint": str(best)}))
    assert checkpoint_of(run) == best
    assert checkpoint_of(best) == best


@pytest.mark.parametrize("every", [1000, 4, 1])
def test_mid_epoch_checkpoints_keep_the_best_checkpoint(
    make_cfg: Callable[..., DictConfig], every: int
) -> None:
    """The reliability guide's tip for long epochs: `every_n_train_steps` refreshes
    last.ckpt during the epoch and the best epoch is still kept. In Lightning alone it
    replaces the epoch-end saves: an interval longer than the run left no best checkpoint."""
    cfg = make_cfg(
        "model=mlp",
        "data=iris",
        "trainer.max_epochs=6",
        f"+callbacks.model_checkpoint.every_n_train_steps={every}",
    )
    record = train(cfg)
    assert record["best_checkpoint"] is not None
    best = torch.load(record["best_checkpoint"], weights_only=True, map_location="cpu")
    assert best["global_step"] == (best["epoch"] + 1) * record["global_steps"] // 6  # epoch end
    # the best epoch by the history, also when a mid-epoch save falls on an epoch's last
    # step (every=1): that save must not stop the validation's best-checkpoint save
    lines = Path(record["run_dir"], "history.jsonl").read_text().splitlines()
    history = [json.loads(line) for line in lines]
    # ties on val/acc are broken by the lower val/loss (the checkpoint's tiebreak option)
    scores = [(row["val/acc"], -row["val/loss"]) for row in history]
    assert best["epoch"] == scores.index(max(scores)), scores
    last = torch.load(record["last_checkpoint"], weights_only=True, map_location="cpu")
    assert last["global_step"] == record["global_steps"]
    names = sorted(p.name for p in Path(record["run_dir"], "checkpoints").iterdir())
    assert len(names) == 2 and "last.ckpt" in names, names  # no stray last-v1 or step files


def test_mid_epoch_checkpoint_is_written_during_the_epoch(
    make_cfg: Callable[..., DictConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """last.ckpt is refreshed every `every_n_train_steps` optimizer steps, not only at the
    epoch's end (what a preempted job resumes from)."""
    from dlzoo.lightning_internals import ModelCheckpointWithLast

    saved_at: list[int] = []
    original = ModelCheckpointWithLast._save_last_checkpoint

    def spy(self, trainer, candidates):  # noqa: ANN001, ANN202
        saved_at.append(trainer.global_step)
        original(self, trainer, candidates)

    monkeypatch.setattr(ModelCheckpointWithLast, "_save_last_checkpoint", spy)
    cfg = make_cfg(
        "model=mlp",
        "data=iris",
        "trainer.max_epochs=2",
        "+callbacks.model_checkpoint.every_n_train_steps=2",
    )
    record = train(cfg)
    per_epoch = record["global_steps"] // 2
    assert per_epoch > 2
    mid_epoch = [s for s in saved_at if s % per_epoch]
    assert mid_epoch and all(s % 2 == 0 for s in mid_epoch), saved_at
    assert saved_at[-1] == record["global_steps"]
