"""Real-data accuracy checks (``pytest -m slow``; need DLZOO_DATA_DIR pointing at a mirror)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import QUIET, compose_config
from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.train import train
from dlzoo.config.checkpoints import load_checkpoint

DATA_DIR = os.environ.get("DLZOO_DATA_DIR", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(DATA_DIR) / "FashionMNIST").is_dir(),
        reason="set DLZOO_DATA_DIR to a dataset mirror to run the real-data checks",
    ),
]


def run(tmp_path: Path, *overrides: str) -> dict:
    cfg = compose_config([f"paths.data_dir={DATA_DIR}", *QUIET, *overrides], tmp_path / "run")
    return train(cfg)


def test_mlp_fashion_mnist_defaults_and_eval_reproduces(tmp_path: Path) -> None:
    record = run(tmp_path, "model=mlp", "data=fashion_mnist")
    assert record["metrics"]["test/acc"] >= 0.885
    eval_cfg = compose_config(
        [f"ckpt_path={record['best_checkpoint']}", f"paths.data_dir={DATA_DIR}"],
        tmp_path / "eval",
        config_name="eval",
    )
    again = evaluate(eval_cfg)["metrics"]["test/acc"]
    assert again == pytest.approx(record["metrics"]["test/acc"], abs=1e-3)


def test_linear_regression_california_housing(tmp_path: Path) -> None:
    record = run(tmp_path, "model=linear_regression", "data=california_housing")
    assert record["metrics"]["test/mse"] <= 0.567  # closed-form optimum 0.5559


def test_softmax_regression_iris(tmp_path: Path) -> None:
    record = run(tmp_path, "model=softmax_regression", "data=iris")
    assert record["metrics"]["test/acc"] >= 0.966


def test_synthetic_linear_recovers_w_and_b(tmp_path: Path) -> None:
    record = run(tmp_path, "experiment=synthetic_linear")
    assert record["metrics"]["test/mse"] <= 1.5e-4
    state = load_checkpoint(record["last_checkpoint"])["state_dict"]
    w, b = state["net.fc.weight"].flatten(), state["net.fc.bias"]
    assert torch.allclose(w, torch.tensor([2.0, -3.4]), atol=0.01), w
    assert torch.allclose(b, torch.tensor([4.2]), atol=0.01), b
