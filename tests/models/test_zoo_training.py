"""Every image model config trains one fast_dev_run step through ``train(cfg)``, on the tiny
Fashion-MNIST (1x28x28) and on CIFAR-10-shaped data (3x32x32).

To stay fast on a CPU, images are enlarged only to the model's ``min_input_size`` (e.g.
65 px for AlexNet, 67 px for NiN) rather than the 224/96 px of the book's experiment
configs, batches hold 4 images and AlexNet/VGG get narrower dense layers (``SLIMMER``); the experiment configs themselves are checked to
compose with the book's settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from test_cnn_models import MODEL_DIR, image_model_configs

from dlzoo.commands.train import train
from dlzoo.data.augment import make_augment
from image_data import one_thread, write_tiny_cifar10  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = [
    "debug=fdr",
    "trainer.detect_anomaly=false",
    "data.val_size=20",
    "data.batch_size=4",
    "data.eval_batch_size=4",
]
#: narrower dense layers for the two models whose 4096-wide classifiers dominate a CPU step
#: (the layers and code paths are the same, only their width changes)
SLIMMER = {
    "alexnet": ["model.net.hidden=256"],
    "vgg": ["model.net.hidden=256", "model.net.width_divisor=8"],
}


def resize_for(model: str, native: int) -> int | None:
    need = OmegaConf.load(MODEL_DIR / f"{model}.yaml").get("min_input_size") or 0
    return need if need > native else None


@pytest.fixture(scope="module")
def tiny_cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_cifar10(tmp_path_factory.mktemp("cifar"))


def check_record(record: dict, run_dir: Path, model: str) -> None:
    assert record["status"] == "completed" and record["model"] == model
    assert record["global_steps"] == 1
    assert 0.0 <= record["metrics"]["test/acc"] <= 1.0
    assert json.loads((run_dir / "metrics.json").read_text())["model"] == model


@pytest.mark.parametrize("model", image_model_configs())
def test_trains_on_fashion_mnist(model: str, make_cfg):
    resize = resize_for(model, 28)
    cfg = make_cfg(
        f"model={model}", f"data.resize={resize or 'null'}", *FAST, *SLIMMER.get(model, [])
    )
    check_record(train(cfg), Path(cfg.paths.output_dir), model)


@pytest.mark.parametrize("model", image_model_configs())
def test_trains_on_cifar10_shaped_input(model: str, make_cfg, tiny_cifar_dir: Path):
    resize = resize_for(model, 32)
    cfg = make_cfg(
        f"model={model}",
        "data=cifar10",
        f"paths.data_dir={tiny_cifar_dir}",
        f"data.resize={resize or 'null'}",
        *FAST,
        *SLIMMER.get(model, []),
    )
    record = train(cfg)
    check_record(record, Path(cfg.paths.output_dir), model)
    assert record["data"] == "cifar10"


BOOK = {  # experiment: (model, resize, epochs, lr, batch)
    "lenet": ("lenet", None, 10, 0.9, 256),
    "alexnet": ("alexnet", 224, 10, 0.01, 128),
    "vgg": ("vgg", 224, 10, 0.05, 128),
    "nin": ("nin", 224, 10, 0.1, 128),
    "googlenet": ("googlenet", 96, 10, 0.1, 128),
    "resnet": ("resnet", 96, 10, 0.05, 256),
    "densenet": ("densenet", 96, 10, 0.1, 256),
}


@pytest.mark.parametrize("experiment", sorted(BOOK))
def test_experiment_configs_hold_the_books_settings(experiment: str, make_cfg):
    cfg = make_cfg(f"experiment={experiment}")
    model, resize, epochs, lr, batch = BOOK[experiment]
    assert cfg.model.name == model
    assert cfg.data.resize == resize and cfg.data.batch_size == batch
    assert cfg.data.mean is None  # the book feeds [0, 1] pixels
    assert make_augment(dict(cfg.data.augment)) is None  # and does not augment
    assert cfg.trainer.max_epochs == epochs
    assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.optimizer.lr == lr
    assert cfg.scheduler.get("scheduler") is None


def test_resnet18_finetune_recipe_composes_and_builds(make_cfg):
    """The curriculum's "resnet18 with fc replaced" as an experiment config."""
    from dlzoo.config.builders import build_datamodule, build_task

    cfg = make_cfg("experiment=resnet18_finetune", "data.val_size=20")
    assert cfg.model.net.name == "resnet18" and cfg.model.net.weights is None
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    assert module.net.net.fc.out_features == 10 and module.net.net.conv1.in_channels == 1
