"""Real-data checks of the recipes' reference results (slow: ``pytest -m slow``).

They need the datasets: set ``DLZOO_DATA_DIR`` to the folder holding them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import QUIET, compose_config
from dlzoo.commands.train import train
from dlzoo.config.checkpoints import load_checkpoint

pytestmark = pytest.mark.slow


@pytest.fixture
def real_cfg(tmp_path: Path):
    data_dir = os.environ.get("DLZOO_DATA_DIR")
    if not data_dir or not Path(data_dir).is_dir():
        pytest.skip("set DLZOO_DATA_DIR to the dataset mirror")

    def make(*overrides: str):
        base = [f"paths.data_dir={data_dir}", "trainer.accelerator=cpu", *QUIET]
        return compose_config([*base, *overrides], tmp_path / "run")

    return make


def test_r1_california_full_batch_gd_reaches_the_linear_optimum(real_cfg) -> None:
    record = train(real_cfg("experiment=california_linear_gd", "data.download=false"))
    assert record["metrics"]["test/mse"] <= 0.567  # closed-form optimum: 0.5559


def test_r2_iris_softmax_accuracy(real_cfg) -> None:
    record = train(real_cfg("experiment=iris_softmax"))
    assert record["metrics"]["test/acc"] >= 0.966


def test_r10_synthetic_linear_recovers_w_and_b(real_cfg) -> None:
    record = train(real_cfg("experiment=synthetic_linear"))
    state = load_checkpoint(record["best_checkpoint"])["state_dict"]
    w, b = state["net.fc.weight"].flatten(), state["net.fc.bias"]
    assert torch.allclose(w, torch.tensor([2.0, -3.4]), atol=0.01), w
    assert torch.allclose(b, torch.tensor([4.2]), atol=0.01), b


def test_r12_fashion_mnist_softmax_d2l(real_cfg) -> None:
    record = train(real_cfg("experiment=fmnist_softmax_d2l"))
    assert record["metrics"]["test/acc"] > 0.80
