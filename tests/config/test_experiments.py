"""Every recipe config (conf/experiment) holds the recipe's settings and runs, shortened."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from conftest import data_dir_from_environment
from dlzoo.cli import config_dir
from dlzoo.commands.train import train
from table_data import write_house_csv

#: the recipe values each config must hold (CURRICULUM.md)
RECIPES: dict[str, dict[str, object]] = {
    "california_linear_gd": {  # R1
        "data.name": "california_housing",
        "model.name": "linear_regression",
        "optimizer._target_": "torch.optim.SGD",
        "optimizer.lr": 0.01,
        "data.batch_size": "full",
        "data.random_state": 42,
        "data.test_size": 0.2,
        "trainer.max_epochs": 1000,
    },
    "iris_softmax": {  # R2
        "data.name": "iris",
        "model.name": "softmax_regression",
        "optimizer.lr": 0.01,
        "data.batch_size": "full",
        "data.random_state": 42,
    },
    "fmnist_softmax_sgd": {  # R3
        "data.name": "fashion_mnist",
        "model.name": "softmax_regression",
        "data.batch_size": 64,
        "data.mean": 0.5,
        "data.std": 0.5,
        "optimizer.lr": 0.05,
        "trainer.max_epochs": 20,
    },
    "curve_fit": {  # R4
        "data.name": "curve",
        "model.net.hidden_sizes": [10],
        "optimizer.lr": 0.5,
        "trainer.max_epochs": 100,
        "data.batch_size": "full",
    },
    "two_clusters": {  # R5
        "data.name": "two_clusters",
        "model.net.hidden_sizes": [10],
        "optimizer.lr": 0.02,
        "trainer.max_epochs": 100,
    },
    "optimizer_comparison": {  # R8 (one job; the multirun is tested in test_sweeps.py)
        "data.name": "curve",
        "model.net.hidden_sizes": [10],
        "optimizer.lr": 0.01,
        "hydra.sweeper.params.optimizer": (
            "comparison/sgd,comparison/momentum,comparison/rmsprop,comparison/adam"
        ),
    },
    "tabular_mlp": {  # R9
        "data.name": "kaggle_house",
        "data.target": "SalePrice",
        "data.log_target": True,
        "model.net.hidden_sizes": [64, 64],
        "optimizer._target_": "torch.optim.Adam",
        "optimizer.lr": 0.001,
        "data.batch_size": 32,
        "trainer.max_epochs": 20,
    },
    "synthetic_linear": {  # R10
        "data.weights": [2.0, -3.4],
        "data.bias": 4.2,
        "data.num_train": 1000,
        "model.init.scheme": "normal",
        "model.init.std": 0.01,
        "model.init.bias": 0.0,
        "optimizer.lr": 0.03,
        "data.batch_size": 10,
        "trainer.max_epochs": 3,
    },
    "fmnist_softmax_d2l": {  # R12
        "data.batch_size": 256,
        "data.mean": None,
        "model.init.scheme": "normal",
        "optimizer.lr": 0.1,
        "trainer.max_epochs": 10,
    },
    "fmnist_softmax_b32": {  # R13
        "data.batch_size": 32,
        "data.mean": None,
        "model.init.scheme": "normal",
        "model.init.bias": 0.0,
        "trainer.max_epochs": 5,
    },
}

SHORT = [
    "trainer.max_epochs=2",
    "trainer.check_val_every_n_epoch=1",
    "++trainer.limit_train_batches=3",
    "++trainer.limit_val_batches=2",
    "++trainer.limit_test_batches=2",
    "trainer.accelerator=cpu",
]


def real_data_dir() -> Path | None:
    found = data_dir_from_environment()
    if found and (found / "scikit_learn_data" / "cal_housing_py3.pkz").is_file():
        return found
    return None


def test_every_recipe_has_a_config() -> None:
    found = {p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml")}
    assert set(RECIPES) <= found


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_config_holds_the_recipe_and_runs(name: str, make_cfg, tmp_path: Path) -> None:
    extra: list[str] = []
    if name == "california_linear_gd":
        data_dir = real_data_dir()
        if data_dir is None:
            pytest.skip("California housing is not available offline (set DLZOO_DATA_DIR)")
        extra = [f"paths.data_dir={data_dir}", "data.download=false"]
    if name.startswith("fmnist"):  # the tiny Fashion-MNIST has 120 training images
        extra = ["data.val_size=20"]
    if name == "tabular_mlp":
        extra = [f"data.path={write_house_csv(tmp_path / 'houses.csv')}"]
    cfg = make_cfg(f"experiment={name}", *extra)
    for key, expected in RECIPES[name].items():
        if key.startswith("hydra."):
            value = OmegaConf.select(HydraConfig.get(), key.removeprefix("hydra."))
        else:
            value = OmegaConf.select(cfg, key, throw_on_missing=False)
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        assert value == expected, f"{name}: {key}={value!r}, the recipe says {expected!r}"
    assert cfg.scheduler.get("scheduler") is None  # the recipes use a constant learning rate

    record = train(make_cfg(f"experiment={name}", *extra, *SHORT))
    assert record["status"] == "completed"
    assert record["epochs"] == 2
    assert all(v is not None for v in record["metrics"].values()), record["metrics"]


def test_the_two_gru_translation_recipes_differ_only_in_the_attention(make_cfg) -> None:
    """docs/sequence_to_sequence.md compares seq2seq with seq2seq_attention to show what
    attention adds: everything else (data, optimizer, schedule, sizes, options) must match."""
    plain = make_cfg("experiment=translation_seq2seq")
    attention = make_cfg("experiment=translation_attention")
    a = OmegaConf.to_container(plain, resolve=False)
    b = OmegaConf.to_container(attention, resolve=False)
    for cfg in (a, b):
        cfg.pop("paths", None)
        cfg.pop("task_name")  # each recipe writes its own logs/<recipe>/
        cfg["model"].pop("name")
        cfg["model"]["net"].pop("_target_")
        cfg["model"]["net"].pop("attention_dropout", None)  # the attention's own dropout
    assert a == b
    assert plain.model.net.bidirectional_encoder and plain.model.net.output_context
