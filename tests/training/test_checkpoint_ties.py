"""Trust round two, case 8: on a tiny validation split the best accuracy is reached by many
epochs; the first of them was kept. An epoch that ties the best monitored value now
replaces it when its validation loss is lower (and the choice survives a resume)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from dlzoo.callbacks.model_checkpoint import ModelCheckpoint


def checkpoint_holding(tmp_path: Path, acc: float, loss: float) -> ModelCheckpoint:
    callback = ModelCheckpoint(dirpath=tmp_path, monitor="val/acc", mode="max", save_top_k=1)
    callback.best_k_models = {str(tmp_path / "epoch_003.ckpt"): torch.tensor(acc)}
    callback.kth_best_model_path = callback.best_model_path = str(tmp_path / "epoch_003.ckpt")
    callback._best_tiebreak = loss
    return callback


def trainer_with(loss: float) -> SimpleNamespace:
    strategy = SimpleNamespace(reduce_boolean_decision=lambda decision, **_: decision)
    return SimpleNamespace(callback_metrics={"val/loss": torch.tensor(loss)}, strategy=strategy)


def test_case_8_a_tie_with_a_lower_validation_loss_replaces_the_kept_epoch(tmp_path: Path) -> None:
    callback = checkpoint_holding(tmp_path, acc=0.933, loss=0.40)
    assert callback.check_monitor_top_k(trainer_with(0.25), torch.tensor(0.933))
    assert not callback.check_monitor_top_k(trainer_with(0.55), torch.tensor(0.933))
    assert not callback.check_monitor_top_k(trainer_with(0.01), torch.tensor(0.867))
    assert callback.check_monitor_top_k(trainer_with(0.90), torch.tensor(1.0))  # better: kept
    restored = ModelCheckpoint(dirpath=tmp_path, monitor="val/acc", mode="max", save_top_k=1)
    restored.load_state_dict(callback.state_dict())
    assert restored._best_tiebreak == 0.40


def test_monitoring_the_loss_itself_needs_no_tie_break(tmp_path: Path) -> None:
    callback = ModelCheckpoint(dirpath=tmp_path, monitor="val/loss", mode="min")
    assert callback.tiebreak is None
