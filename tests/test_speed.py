"""Speed options: several optimizer steps per call, training metrics off, data preprocessed
once; the benchmark's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from dlzoo import benchmark
from dlzoo.builders import build_datamodule
from dlzoo.errors import ConfigError
from dlzoo.train import train

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


def test_benchmark_report_checks_the_targets() -> None:
    def res(per_epoch: float, accs: list[float], epoch: float | None = None) -> dict:
        times = [epoch or per_epoch] * len(accs)
        return {
            "per_epoch_s": per_epoch,
            "epoch_times_s": times,
            "test_acc": accs,
            "final_test_acc": accs[-1],
            "time_to_target_s": benchmark.time_to_target(times, accs, 0.89),
            "peak_rss_mib": 100,
        }

    results = {
        "softmax": {
            "curriculum": res(7.0, [0.8]),
            "hand": res(0.4, [0.8]),
            "dlzoo": res(0.5, [0.8]),
        },
        "mlp": {"hand": res(1.0, [0.88, 0.9]), "dlzoo": res(1.2, [0.88, 0.9])},
    }
    lines = benchmark.check_targets(results)
    assert lines == [
        "- NOT met: MLP 784-512-256-10 [dlzoo experiment=mlp_fast]: dlzoo s/epoch ÷ "
        "hand-written = 1.20 (target ≤ 1.15)",
        "- met: softmax regression [dlzoo speed.steps_per_call=32]: dlzoo s/epoch ÷ "
        "hand-written = 1.25 (target ≤ 1.5)",
        "- met: softmax regression [dlzoo speed.steps_per_call=32]: curriculum s/epoch ÷ "
        "dlzoo = 14.0 (target ≥ 10)",
        "- NOT met: MLP 784-512-256-10 [dlzoo experiment=mlp_fast]: time to 0.89 test "
        "accuracy, dlzoo 2.4 s vs "
        "hand-written 2.0 s (target ≤ hand × 1.15)",
    ]
    results["mlp_defaults"] = {
        "hand": res(1.0, [0.88, 0.9]),
        "lightning": res(1.047, [0.88, 0.9]),
        "dlzoo": res(1.235, [0.88, 0.9]),
    }
    text = benchmark.render(
        results, {"import_dlzoo_train_s": 3, "debug_fdr_wall_s": 9}, "cmd", False, []
    )
    assert "| softmax regression | 64 |" in text and "no GPU" in text
    # 235 steps per epoch: 0.047 s and 0.235 s more per epoch are 0.20 and 1.00 ms per step
    assert "takes 1.05 s per epoch, 1.05× the hand-written loop: 0.20 ms more" in text
    assert "dlzoo's defaults take 1.00 ms more per step" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--setups", "mlp,resnet"], "unknown ['resnet']"),
        (["--render-from", "no/such/benchmarks.json"], "no such file"),
    ],
)
def test_benchmark_refuses_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


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


def test_benchmark_alternates_rounds_and_keeps_each_pipelines_faster_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    seconds = iter([1.0, 1.3, 1.2, 0.9, 1.1, 1.4])  # hand, lightning, dlzoo, then again

    def fake_run(pipeline: str, key: str, data_dir: str, epochs: int) -> dict:
        calls.append(pipeline)
        return {"per_epoch_s": next(seconds), "pipeline_run": len(calls)}

    monkeypatch.setattr(benchmark, "run_pipeline", fake_run)
    pipelines = ["curriculum", "hand", "lightning", "dlzoo"]
    results = benchmark.run_setup("mlp_defaults", "unused", 2, pipelines)
    assert calls == ["hand", "lightning", "dlzoo"] * 2  # no curriculum loop for this row
    assert results["hand"]["per_epoch_s"] == 0.9 and results["hand"]["pipeline_run"] == 4
    assert results["lightning"]["per_epoch_s"] == 1.1
    assert results["dlzoo"]["per_epoch_s"] == 1.2 and results["dlzoo"]["pipeline_run"] == 3
    assert results["hand"]["per_epoch_rounds_s"] == [1.0, 0.9]
    assert results["dlzoo"]["per_epoch_rounds_s"] == [1.2, 1.4]


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("false", False)])
def test_data_on_device_reaches_the_datamodule(
    value: str, expected: object, make_cfg: Callable[..., DictConfig]
) -> None:
    from dlzoo.builders import build_task, configure_speed

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
    from dlzoo.builders import resolve_precision

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
    from dlzoo.builders import build_task

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


def memory_format_table() -> dict[str, float]:
    """model -> NHWC / NCHW step-time ratio, from docs/memory_format.md."""
    text = (benchmark.REPO / "docs" / "memory_format.md").read_text()
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    ratio = header.index("NHWC / NCHW")
    return {cells[0].strip(): float(cells[ratio]) for cells in rows[1:]}


def test_model_configs_use_channels_last_where_the_table_measured_it_faster() -> None:
    from omegaconf import OmegaConf

    table = memory_format_table()
    configs = sorted((benchmark.REPO / "conf" / "model").glob("*.yaml"))
    declared = {
        path.stem: OmegaConf.load(path).channels_last
        for path in configs
        if "channels_last" in OmegaConf.load(path)
    }
    assert set(declared) == set(table), "every conv net is measured, and only those"
    for model, ratio in table.items():
        assert declared[model] is (ratio < 1), f"{model}: NHWC/NCHW = {ratio}"


def test_memory_format_benchmark_times_both_layouts_of_the_same_network(
    tmp_path: Path,
) -> None:
    from dlzoo.layout_benchmark import LayoutCase, measure_case, render

    case = LayoutCase("cnn_small", 16, 4, (("channels", [4, 8]),))
    row = measure_case(case, rounds=1)
    assert row["nchw_s"] > 0 and row["nhwc_s"] > 0
    assert row["output_difference"] < 1e-4  # same weights, same inputs: rounding only
    text = render([row], "python scripts/benchmark.py --memory-format", "now")
    assert f"| cnn_small | 16 | 4 | {row['nchw_s'] * 1e3:.1f} |" in text


def test_benchmark_baselines_use_the_memory_format_dlzoo_trains_in() -> None:
    small = benchmark.SETUPS["cnn_small"]
    assert benchmark.trains_channels_last(small)  # conf/model/cnn_small.yaml
    assert not benchmark.trains_channels_last(benchmark.SETUPS["mlp"])
    plain = replace(small, overrides=("channels_last=false",))
    assert not benchmark.trains_channels_last(plain)

    def conv_weight(net: torch.nn.Module) -> torch.Tensor:
        return next(p for p in net.parameters() if p.ndim == 4 and p.shape[1] > 1)

    seen: list[torch.Tensor] = []
    net = benchmark.build_net(small)
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    net(torch.randn(2, 1, 28, 28))  # the loops feed NCHW batches
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    assert conv_weight(net).is_contiguous(memory_format=torch.channels_last)
    curriculum = benchmark.build_net(small, dlzoo_memory_format=False)
    assert not conv_weight(curriculum).is_contiguous(memory_format=torch.channels_last)
