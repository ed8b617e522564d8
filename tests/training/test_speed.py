"""Speed options: several optimizer steps per call, training metrics off, data preprocessed
once; precision, data on the device, memory format (the benchmarks: test_benchmarks.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from dlzoo.commands.train import train
from dlzoo.config.builders import build_datamodule
from dlzoo.errors import ConfigError

#: 100 training images in batches of 8: 13 steps per epoch, the last one of 4 images
TINY = [
    "model=mlp",
    "model.net.hidden_sizes=[16]",
    "data.batch_size=8",
    "trainer.max_epochs=2",
    "trainer.accelerator=cpu",
    "trainer.num_sanity_val_steps=0",
    "logger=none",
    "test=false",
]


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.parametrize(
    "optimizer", [["optimizer=sgd", "scheduler=onecycle"], ["optimizer=adamw", "scheduler=step"]]
)
def test_steps_per_call_gives_the_same_weights_as_one_step_per_call(
    optimizer: list[str], make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    plain_cfg = make_cfg(*TINY, *optimizer)
    plain = train(plain_cfg)
    plain_weights = final_weights(Path(plain["run_dir"]))
    # the same run folder is reused by make_cfg: keep the first run's files apart
    (tmp_path / "run").rename(tmp_path / "plain")
    grouped = train(make_cfg(*TINY, *optimizer, "speed.steps_per_call=5"))

    assert grouped["global_steps"] == plain["global_steps"] == 26  # optimizer steps
    for name, tensor in plain_weights.items():
        torch.testing.assert_close(
            final_weights(Path(grouped["run_dir"]))[name], tensor, atol=1e-5, rtol=1e-5
        )
    assert grouped["best_val"] == pytest.approx(plain["best_val"], abs=1e-6)
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").open()]
    assert len(rows) == 2 and all("train/loss_epoch" in r and "train/acc" in r for r in rows)


def test_training_metrics_off_still_logs_loss_and_validation_metrics(
    make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    record = train(make_cfg(*TINY, "speed.train_metrics=false", "trainer.log_every_n_steps=1"))
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").open()]
    assert len(rows) == 2
    for row in rows:
        assert "val/acc" in row and "val/loss" in row and "train/loss_epoch" in row
        assert "train/acc" not in row
    assert record["best_val"] is not None


def test_training_loss_is_logged_on_the_logging_steps_and_averaged_per_epoch(
    make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    import pandas as pd

    train(make_cfg(*TINY, "logger=csv", "trainer.log_every_n_steps=4"))
    csv = pd.read_csv(next((tmp_path / "run").rglob("metrics.csv")))
    steps = csv.dropna(subset=["train/loss_step"])["step"].tolist()
    assert steps == [3, 7, 11, 15, 19, 23]  # every 4th of the 26 steps (0-based)
    epoch_means = csv.dropna(subset=["train/loss_epoch"])["train/loss_epoch"]
    assert len(epoch_means) == 2 and epoch_means.between(0, 10).all()


def test_epoch_loss_is_the_example_weighted_mean_of_the_steps(
    make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    """The training steps reach the metrics a few dozen at a time (``Task.train_records``):
    what the CSV log, TensorBoard and ``history.jsonl`` show for an epoch is still the mean
    over its examples. 100 images in batches of 3: 34 steps (more than one run of gathered
    steps), the last of 1 image."""
    import pandas as pd

    train(make_cfg(*TINY, "data.batch_size=3", "logger=csv", "trainer.log_every_n_steps=1"))
    csv = pd.read_csv(next((tmp_path / "run").rglob("metrics.csv")))
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").open()]
    assert len(history) == 2
    for epoch, row in enumerate(history):
        rows = csv[csv["epoch"] == epoch]
        losses = rows["train/loss_step"].dropna().tolist()
        assert len(losses) == 34
        expected = (sum(losses[:33]) * 3 + losses[33]) / 100
        assert rows["train/loss_epoch"].dropna().tolist() == [pytest.approx(expected, rel=1e-5)]
        assert row["train/loss_epoch"] == pytest.approx(expected, rel=1e-5)
        assert 0 <= row["train/acc"] <= 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("speed.steps_per_call=0", "speed.steps_per_call=0: must be a positive integer"),
        ("trainer.gradient_clip_val=1.0", "does not support trainer.gradient_clip_val=1.0"),
        ("+trainer.accumulate_grad_batches=2", "does not support trainer.accumulate_grad_batches"),
    ],
)
def test_steps_per_call_refuses_what_it_cannot_do(
    override: str, message: str, make_cfg: Callable[..., DictConfig]
) -> None:
    steps = [] if override.startswith("speed.") else ["speed.steps_per_call=4"]
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        train(make_cfg(*TINY, *steps, override))


def test_mlp_fast_preset_is_the_default_run_with_four_steps_per_call(
    make_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    preset = make_cfg("experiment=mlp_fast")
    assert preset.speed.steps_per_call == 4 and preset.model.name == "mlp"
    assert preset.model.net.hidden_sizes == [512, 256] and preset.data.name == "fashion_mnist"
    assert preset.optimizer.lr == 0.003 and preset.data.batch_size == 256
    assert "OneCycleLR" in preset.scheduler.scheduler._target_
    assert preset.trainer.max_epochs == 10
    # on the tiny data: batches of 8 in groups of 4, 13 optimizer steps per epoch
    record = train(make_cfg("experiment=mlp_fast", *TINY))
    assert record["status"] == "completed" and record["global_steps"] == 26


def test_preprocessing_once_serves_the_same_batches(make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("data.preprocess_once=false")
    per_batch = build_datamodule(cfg.data)
    per_batch.setup()
    once = build_datamodule(make_cfg("data.preprocess_once=true").data)
    once.setup()
    assert once.preprocessed and not per_batch.preprocessed
    assert per_batch.splits["train"][0].dtype == torch.uint8
    for split in ("train", "val", "test"):
        x, y = per_batch.splits[split]
        fast_x, fast_y = once.transform_batch(once.splits[split])
        torch.testing.assert_close(fast_x, per_batch.transform_batch((x, y))[0])
        assert torch.equal(fast_y, y)


def test_training_metrics_skip_the_per_step_label_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchmetrics' label check calls ``torch.unique`` (a host sync on a GPU) on every update
    of a binary accuracy; training metrics skip it (labels are checked when the data is
    loaded), evaluation keeps it."""
    from functools import partial

    from dlzoo.data.spec import ClassificationSpec
    from dlzoo.tasks import BinaryTask

    spec = ClassificationSpec((4,), ("no", "yes"))
    task = BinaryTask(torch.nn.Linear(4, 1), partial(torch.optim.SGD, lr=0.1), spec=spec)
    out = task.shared_step((torch.randn(8, 4), torch.randint(0, 2, (8,))), "train")

    def no_unique(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.unique called")

    monkeypatch.setattr(torch, "unique", no_unique)
    task.train_metrics.update(out.preds, out.targets)
    with pytest.raises(AssertionError, match="torch.unique called"):
        task.val_metrics.update(out.preds, out.targets)


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("false", False)])
def test_data_on_device_reaches_the_datamodule(
    value: str, expected: object, make_cfg: Callable[..., DictConfig]
) -> None:
    from dlzoo.config.builders import build_task, configure_speed

    cfg = make_cfg(*TINY, f"speed.data_on_device={value}")
    datamodule = build_datamodule(cfg.data)
    configure_speed(cfg, datamodule, build_task(cfg, datamodule.spec))
    assert datamodule.on_device == expected and type(datamodule.on_device) is type(expected)


@pytest.mark.parametrize(
    ("precision", "accelerator", "cuda", "bf16", "expected"),
    [
        ("auto", "auto", False, False, "32-true"),  # no GPU
        ("auto", "auto", True, True, "bf16-mixed"),  # Ampere or newer
        ("auto", "gpu", True, False, "32-true"),  # a GPU without bfloat16 (V100, T4)
        ("auto", "cpu", True, True, "32-true"),  # asked for the CPU
        ("16-mixed", "gpu", True, True, "16-mixed"),  # an explicit choice stays
    ],
)
def test_precision_auto_is_bf16_mixed_only_on_a_gpu_with_bfloat16(
    precision: str,
    accelerator: str,
    cuda: bool,
    bf16: bool,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dlzoo.config.builders import resolve_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    trainer = DictConfig({"precision": precision, "accelerator": accelerator})
    assert resolve_precision(trainer) == expected


def test_the_saved_config_records_the_precision_chosen(
    make_cfg: Callable[..., DictConfig],
) -> None:
    from omegaconf import OmegaConf

    cfg = make_cfg(*TINY, "trainer.max_epochs=1")
    assert cfg.trainer.precision == "auto"
    train(cfg)
    saved = OmegaConf.load(Path(cfg.paths.output_dir) / "config.yaml")
    assert saved.trainer.precision == "32-true"  # TINY trains on the CPU


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model=cnn_small"], True),
        (["model=lenet_modern"], False),
        (["model=mlp"], False),
        (["model=cnn_small", "channels_last=false"], False),
        (["model=lenet_modern", "channels_last=true"], True),
    ],
)
def test_channels_last_defaults_to_the_model_configs_choice(
    overrides: list[str], expected: bool, make_cfg: Callable[..., DictConfig]
) -> None:
    from dlzoo.config.builders import build_task

    cfg = make_cfg(*overrides)
    assert cfg.channels_last is expected
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    conv_weights = [p for p in module.net.parameters() if p.ndim == 4]
    channels_last = [p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights]
    assert module.channels_last is expected
    if conv_weights and expected:
        assert all(channels_last)
    elif conv_weights:
        assert not all(channels_last)
