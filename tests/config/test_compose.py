"""Every data x model pair composes: valid pairs train one fast_dev_run step, invalid pairs
fail before training with one clear message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from dlzoo.cli import config_dir
from dlzoo.commands.train import train
from dlzoo.errors import IncompatibleError

CONF = Path(config_dir())
DATASETS = sorted(p.stem for p in (CONF / "data").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))

#: pairs that cannot work, by the task each side needs
INCOMPATIBLE = {
    ("linear_regression", "fashion_mnist"),
    ("linear_regression", "iris"),
    ("linear_regression", "two_clusters"),
    ("softmax_regression", "california_housing"),
    ("softmax_regression", "synthetic_linear"),
    ("softmax_regression", "curve"),
    ("logistic_regression", "fashion_mnist"),
    ("logistic_regression", "iris"),
    ("logistic_regression", "california_housing"),
    ("logistic_regression", "synthetic_linear"),
    ("logistic_regression", "curve"),
}
CORE_MODELS = ["linear_regression", "softmax_regression", "logistic_regression", "mlp"]
CORE_DATA = [
    "fashion_mnist",
    "iris",
    "california_housing",
    "synthetic_linear",
    "curve",
    "two_clusters",
]


def test_the_core_configs_exist() -> None:
    assert set(CORE_MODELS) <= set(MODELS) and set(CORE_DATA) <= set(DATASETS)


@pytest.mark.parametrize("data", CORE_DATA)
@pytest.mark.parametrize("model", CORE_MODELS)
def test_pair(model: str, data: str, make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg(f"model={model}", f"data={data}", "debug=fdr", "logger=none")
    if (model, data) in INCOMPATIBLE:
        with pytest.raises(IncompatibleError) as info:
            train(cfg)
        message = str(info.value)
        assert f"model={model} cannot train on data={data}" in message
        assert "Models that fit it" in message
    else:
        record = train(cfg)
        assert record["status"] == "completed"
        assert record["global_steps"] == 1
        assert all(v is not None for k, v in record["metrics"].items() if k.startswith("test/"))


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw"]
)
def test_every_optimizer_with_the_default_scheduler(
    optimizer: str, make_cfg: Callable[..., DictConfig]
) -> None:
    cfg = make_cfg(
        "model=mlp",
        "data=curve",
        f"optimizer={optimizer}",
        "optimizer.lr=1e-3",
        "debug=fdr",
        "logger=none",
    )
    assert train(cfg)["status"] == "completed"


@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "onecycle", "plateau"])
def test_every_scheduler(scheduler: str, make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg(
        "model=mlp",
        "data=curve",
        f"scheduler={scheduler}",
        "trainer.max_epochs=2",
        "logger=none",
        "callbacks.model_checkpoint.enabled=false",
    )
    record = train(cfg)
    assert record["epochs"] == 2


@pytest.mark.parametrize("debug", ["fdr", "limit", "overfit", "profiler"])
def test_debug_presets(debug: str, make_cfg: Callable[..., DictConfig]) -> None:
    overrides = ["model=mlp", "data=two_clusters", f"debug={debug}", "logger=none"]
    if debug == "profiler":
        overrides.append("data.batch_size=full")
    cfg = make_cfg(*overrides)
    assert train(cfg)["status"] == "completed"
