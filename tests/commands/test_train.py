"""Training end to end: run folder contents, metrics.json, repeatability, eval round trip,
TensorBoard scalars and HPARAMS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import compose_config
from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError

SHORT = ["model=mlp", "model.net.hidden_sizes=[32]", "trainer.max_epochs=2"]


def test_run_folder_metrics_json_and_eval_round_trip(
    make_cfg: Callable[..., DictConfig], tiny_data_dir: Path, tmp_path: Path
) -> None:
    record = train(make_cfg(*SHORT))
    run_dir = Path(record["run_dir"])
    assert (run_dir / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert Path(record["best_checkpoint"]).is_file()
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(record))
    for key in ("test/acc", "test/loss", "val/acc_best"):
        assert 0 <= saved["metrics"][key] < 10, key
    assert saved["epochs"] == 2 and saved["num_parameters"] == 784 * 32 + 32 + 32 * 10 + 10
    assert saved["wall_time_s"] > 0 and saved["task"] == "multiclass"
    assert saved["precision"] == "32-true"  # what the figures were computed in

    eval_cfg = compose_config(
        [f"ckpt_path={record['best_checkpoint']}", f"paths.data_dir={tiny_data_dir}"],
        tmp_path / "eval",
        config_name="eval",
    )
    result = evaluate(eval_cfg)
    for key in ("test/acc", "test/loss"):
        assert result["metrics"][key] == pytest.approx(saved["metrics"][key], abs=1e-3)


def test_tensorboard_has_curves_and_hparams_with_final_metrics(
    make_cfg: Callable[..., DictConfig],
) -> None:
    record = train(make_cfg(*SHORT, "trainer.log_every_n_steps=1"))
    events = EventAccumulator(str(Path(record["run_dir"]) / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {
        "train/loss_step",
        "train/loss_epoch",
        "train/lr",
        "val/loss",
        "val/acc",
        "test/acc",
        "val/acc_best",
    } <= scalars
    # nothing outside the train/val/test groups (no `epoch` staircase, no `lr-AdamW`)
    assert all(tag.split("/")[0] in ("train", "val", "test") for tag in scalars), scalars
    plugin = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in plugin
    assert "_hparams_/experiment" not in plugin  # columns: the union over the runs shown


def test_event_files_hold_the_layout_and_compared_hparams(
    make_cfg: Callable[..., DictConfig],
) -> None:
    """The custom-scalars layout overlays train and val loss (and metric); HPARAMS holds at
    most 20 hyperparameters, named, with text for names and booleans."""
    from tensorboard.plugins.custom_scalar.layout_pb2 import Layout
    from tensorboard.plugins.hparams import metadata

    record = train(make_cfg(*SHORT, "optimizer=sgd", "optimizer.lr=0.05", "compile=false"))
    events = EventAccumulator(str(Path(record["run_dir"]) / "tensorboard"))
    events.Reload()
    layout = Layout.FromString(
        events.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0]
    )
    assert [cat.title for cat in layout.category] == ["train vs validation: multiclass"]
    charts = {
        chart.title: list(chart.multiline.tag) for cat in layout.category for chart in cat.chart
    }
    loss = next(tags for title, tags in charts.items() if title.startswith("loss"))
    assert loss == ["^train/loss_epoch$", "^val/loss$"]
    acc = next(tags for title, tags in charts.items() if title.startswith("acc"))
    assert acc == ["^train/acc$", "^val/acc$"]

    content = events.PluginTagToContent("hparams")[metadata.SESSION_START_INFO_TAG]
    start = metadata.parse_session_start_info_plugin_data(content)
    hparams = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert len(hparams) <= 20
    assert hparams["model"] == "mlp" and hparams["data"] == "fashion_mnist"
    assert hparams["optimizer"] == "sgd" and hparams["lr"] == pytest.approx(0.05)
    assert hparams["model.net.hidden_sizes"] == "[32]"  # a key the command line set
    assert hparams["compile"] == "false"  # booleans as text, not 0.0000
    assert start.group_name == "run"  # the run folder's short name


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_same_metrics(seed: int, make_cfg: Callable[..., DictConfig]) -> None:
    overrides = [*SHORT, f"seed={seed}", "logger=none"]
    first = train(make_cfg(*overrides))["metrics"]
    second = train(make_cfg(*overrides))["metrics"]
    assert first == second


def test_different_seeds_differ(make_cfg: Callable[..., DictConfig]) -> None:
    a = train(make_cfg(*SHORT, "seed=0", "logger=none"))["metrics"]
    b = train(make_cfg(*SHORT, "seed=1", "logger=none"))["metrics"]
    assert a["test/loss"] != b["test/loss"]


def test_regression_metrics(make_cfg: Callable[..., DictConfig]) -> None:
    record = train(
        make_cfg(
            "model=linear_regression",
            "data=synthetic_linear",
            "trainer.max_epochs=1",
            "logger=none",
        )
    )
    assert record["monitor"] == "val/mse" and record["mode"] == "min"
    assert {"test/mse", "test/rmse", "test/mae", "test/r2"} <= set(record["metrics"])
    assert record["metrics"]["test/rmse"] == pytest.approx(
        record["metrics"]["test/mse"] ** 0.5, rel=1e-4
    )


def test_full_batch_gradient_descent(make_cfg: Callable[..., DictConfig]) -> None:
    record = train(
        make_cfg(
            "model=softmax_regression",
            "data=iris",
            "data.batch_size=full",
            "trainer.max_epochs=3",
            "logger=none",
        )
    )
    assert record["global_steps"] == 3, "one step per epoch"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.lr=-0.1", "optimizer.lr=-0.1: must be a number > 0"),
        ("optimizer.lr=0", "optimizer.lr=0: must be a number > 0"),
        ("data.batch_size=0", "data.batch_size=0: must be a positive integer or 'full'"),
        ("data.batch_size=-5", "data.batch_size=-5: must be a positive integer or 'full'"),
        ("data.batch_size=lots", "data.batch_size='lots': must be a positive integer or 'full'"),
    ],
)
def test_bad_values_fail_before_training(
    override: str, message: str, make_cfg: Callable[..., DictConfig]
) -> None:
    with pytest.raises(ConfigError) as info:
        train(make_cfg(*SHORT, override))
    assert str(info.value) == message


def test_speed_options_keep_results_and_checkpoint_keys(
    make_cfg: Callable[..., DictConfig],
) -> None:
    plain = train(
        make_cfg(
            "model=cnn_small",
            "model.net.channels=[4,8]",
            "debug=fdr",
            "logger=none",
            "channels_last=false",
        )
    )
    fast = train(
        make_cfg(
            "model=cnn_small",
            "model.net.channels=[4,8]",
            "debug=fdr",
            "logger=none",
            "channels_last=true",
        )
    )
    assert fast["metrics"]["test/loss"] == pytest.approx(plain["metrics"]["test/loss"], rel=1e-4)
    assert len(fast["epoch_times_s"]) == 1


def test_csv_logger(make_cfg: Callable[..., DictConfig]) -> None:
    record = train(
        make_cfg("model=mlp", "data=two_clusters", "trainer.max_epochs=2", "logger=many")
    )
    run_dir = Path(record["run_dir"])
    text = (run_dir / "csv" / "metrics.csv").read_text()
    assert "val/acc" in text.splitlines()[0] and "test/acc" in text.splitlines()[0]
    assert any((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "csv" / "hparams.yaml").is_file()


def test_debug_overfit_fits_the_same_three_batches(make_cfg: Callable[..., DictConfig]) -> None:
    """debug=overfit must see the same 3 batches every epoch (a reshuffle draws new ones and
    the loss cannot go to zero)."""
    cfg = make_cfg("model=mlp", "data=fashion_mnist", "debug=overfit", "data.batch_size=8")
    train(cfg)
    history = [json.loads(line) for line in (Path(cfg.paths.output_dir) / "history.jsonl").open()]
    assert history[-1]["train/loss_epoch"] < 0.05, history[-1]


def test_trial_names_are_the_run_folders_short_names(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from dlzoo.records.hparams import run_name

    def name(output_dir: Path) -> str:
        paths = {"log_dir": str(tmp_path / "logs"), "output_dir": str(output_dir)}
        return run_name(OmegaConf.create({"task_name": "train", "paths": paths}))

    logs = tmp_path / "logs" / "train"
    assert name(logs / "runs" / "2026-12-01_06-31-29") == "2026-12-01_06-31-29"
    job = logs / "multiruns" / "2026-12-01_06-29-08" / "0_model=mlp"
    assert name(job) == "0_model=mlp (2026-12-01_06-29-08)"
    assert name(tmp_path / "elsewhere" / "run") == "run"
