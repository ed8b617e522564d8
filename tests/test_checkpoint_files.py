"""Which checkpoint files a run leaves, and what they hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
