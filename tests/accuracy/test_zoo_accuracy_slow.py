"""The book's LeNet recipe and the cnn_small CPU preset on the real Fashion-MNIST (slow:
~10-40 min on a 2-core CPU).

Run with ``DLZOO_DATA_DIR=<the folder holding the datasets> pytest -m slow tests/accuracy/test_zoo_accuracy_slow.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train

DATA_DIR = os.environ.get("DLZOO_DATA_DIR", "")


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(DATA_DIR) / "FashionMNIST" / "raw").is_dir(),
    reason="needs the real Fashion-MNIST: set DLZOO_DATA_DIR",
)
@pytest.mark.parametrize(
    ("experiment", "epochs", "min_test_acc"),
    [
        ("lenet", 10, 0.78),  # d2l: 0.779 after 10 epochs of SGD (lr 0.9, batch 256)
        ("cnn_small_fast", 8, 0.92),  # the CPU speed/accuracy preset (docs/model_zoo.md)
    ],
)
def test_recipe_reaches_its_accuracy(
    experiment: str, epochs: int, min_test_acc: float, tmp_path: Path
) -> None:
    cfg = compose_config(
        [f"paths.data_dir={DATA_DIR}", *QUIET, f"experiment={experiment}"], tmp_path / "run"
    )
    record = train(cfg)
    assert record["epochs"] == epochs
    assert record["metrics"]["test/acc"] >= min_test_acc
