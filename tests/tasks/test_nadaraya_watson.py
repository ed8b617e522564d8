"""Nadaraya-Watson attention pooling on the book's toy: learning the width fits better."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from conftest import QUIET, compose_config
from dlzoo.commands.train import train
from dlzoo.models.nadaraya_watson import NadarayaWatson


def test_leave_one_out_while_training_only() -> None:
    net = NadarayaWatson((1,), 1, num_keys=3, learnable=False)
    net.remember_training_data(torch.tensor([0.0, 1.0, 5.0]), torch.tensor([1.0, 2.0, 3.0]))
    net.train()
    net(torch.tensor([[0.0]]))
    assert net.attention_weights[0, 0] == 0  # a training point does not see itself
    net.eval()
    assert net(torch.tensor([[0.0]])).item() < 1.5


def test_learned_width_has_lower_training_mse(tmp_path: Path) -> None:
    mse = {}
    for learnable in (True, False):
        run = tmp_path / str(learnable)
        cfg = compose_config(
            [
                *QUIET,
                "experiment=nadaraya_watson",
                f"model.net.learnable={learnable}",
                "trainer.accelerator=cpu",
            ],
            run,
        )
        train(cfg)
        last = (run / "history.jsonl").read_text().splitlines()[-1]
        mse[learnable] = json.loads(last)["train/mse"]
    assert mse[True] < mse[False]
