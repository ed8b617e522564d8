"""The book's LeNet recipe and the cnn_small CPU preset on the real Fashion-MNIST (slow:
~10-40 min on a 2-core CPU).

Run with ``DLZOO_DATA_DIR=/work/shared/data pytest -m slow tests/test_zoo_accuracy_slow.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.train import train

DATA_DIR = os.environ.get("DLZOO_DATA_DIR", "")


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(DATA_DIR) / "FashionMNIST" / "raw").is_dir(),
    reason="needs the real Fashion-MNIST: set DLZOO_DATA_DIR",
)
def test_lenet_book_recipe_reaches_the_books_accuracy(tmp_path: Path):
    """d2l reports 0.779 test accuracy for LeNet after 10 epochs of SGD (lr 0.9, batch 256)."""
    cfg = compose_config(
        [f"paths.data_dir={DATA_DIR}", *QUIET, "experiment=lenet"], tmp_path / "run"
    )
    record = train(cfg)
    assert record["epochs"] == 10
    assert record["metrics"]["test/acc"] >= 0.78


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(DATA_DIR) / "FashionMNIST" / "raw").is_dir(),
    reason="needs the real Fashion-MNIST: set DLZOO_DATA_DIR",
)
def test_cnn_small_fast_preset_reaches_092(tmp_path: Path):
    """The speed/accuracy preset: >= 0.92 test accuracy (time: docs/model_zoo.md)."""
    cfg = compose_config(
        [f"paths.data_dir={DATA_DIR}", *QUIET, "experiment=cnn_small_fast"], tmp_path / "run"
    )
    record = train(cfg)
    assert record["epochs"] == 8
    assert record["metrics"]["test/acc"] >= 0.92
