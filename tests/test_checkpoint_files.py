"""Which checkpoint files a run leaves, and what they hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from dlzoo.train import train


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
    from dlzoo.checkpoints import checkpoint_of
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
