"""The speed benchmarks in ``benchmarks/`` (not part of the dlzoo package): their setups
follow ``conf/``, their baselines train what dlzoo trains, their reports, their command
lines; and the model configs' ``channels_last`` choices follow docs/memory_format.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from benchmarks import memory_format, performance, pipelines, step_time
from benchmarks.common import REPO, train_config


def test_setups_read_the_training_from_the_configs() -> None:
    data = OmegaConf.load(REPO / "conf" / "data" / "fashion_mnist.yaml")
    preset = OmegaConf.load(REPO / "conf" / "experiment" / "mlp_fast.yaml")
    mlp, defaults = pipelines.recipe("mlp"), pipelines.recipe("mlp_defaults")
    assert mlp.data.mean == defaults.data.mean == data.mean
    assert mlp.data.std == data.std and mlp.data.split_seed == data.split_seed
    assert mlp.optimizer.lr == defaults.optimizer.lr == preset.optimizer.lr
    assert mlp.data.batch_size == defaults.data.batch_size == preset.data.batch_size
    assert mlp.speed.steps_per_call == preset.speed.steps_per_call
    assert defaults.speed.steps_per_call == 1  # plain defaults: one step per call
    assert pipelines.default_epochs("mlp") == preset.trainer.max_epochs
    small = pipelines.recipe("cnn_small")
    fashion = OmegaConf.load(REPO / "conf" / "experiment" / "cnn_small_fashion.yaml")
    assert small.model.net.convs_per_stage == fashion.model.net.convs_per_stage
    assert pipelines.default_epochs("cnn_small") == fashion.trainer.max_epochs
    softmax = pipelines.recipe("softmax", epochs=2)
    assert softmax.trainer.max_epochs == 2 and softmax.scheduler.scheduler is None
    # the baselines' optimizer is the config's: AdamW's weight decay, one-cycle's warm-up
    net = torch.nn.Linear(4, 2)
    opt, sched, interval = pipelines.make_optimizer(defaults, net, steps=10)
    adamw = OmegaConf.load(REPO / "conf" / "optimizer" / "adamw.yaml")
    assert isinstance(opt, torch.optim.AdamW) and interval == "step"
    assert opt.defaults["weight_decay"] == adamw.weight_decay
    assert isinstance(sched, torch.optim.lr_scheduler.OneCycleLR) and sched.total_steps == 10


def test_the_targets_live_in_the_docs_and_name_known_setups(tmp_path: Path) -> None:
    targets = pipelines.load_targets()
    assert targets["dlzoo_over_hand"]["softmax"] == 1.5
    assert targets["curriculum_over_dlzoo"]["softmax"] == 10
    assert targets["accuracy"]["cnn_small"] == 0.92
    bad = tmp_path / "targets.yaml"
    bad.write_text("dlzoo_over_hand:\n  resnet: 1.1\n")
    with pytest.raises(ValueError, match=r"unknown setups \['resnet'\]"):
        pipelines.load_targets(bad)


def result(per_epoch: float, accs: list[float], target: float | None = 0.89) -> dict:
    times = [per_epoch] * len(accs)
    return {
        "per_epoch_s": per_epoch,
        "epoch_times_s": times,
        "test_acc": accs,
        "final_test_acc": accs[-1],
        "time_to_target_s": pipelines.time_to_target(times, accs, target),
        "peak_rss_mib": 100,
    }


def test_benchmark_report_checks_the_targets() -> None:
    results = {
        "softmax": {
            "curriculum": result(7.0, [0.8]),
            "hand": result(0.4, [0.8]),
            "dlzoo": result(0.5, [0.8]),
        },
        "mlp": {"hand": result(1.0, [0.88, 0.9]), "dlzoo": result(1.2, [0.88, 0.9])},
    }
    targets = {
        "accuracy": {"mlp": 0.89},
        "dlzoo_over_hand": {"mlp": 1.15, "softmax": 1.5},
        "curriculum_over_dlzoo": {"softmax": 10},
        "time_to_accuracy_over_hand": {"mlp": 1.15},
    }
    assert pipelines.check_targets(results, targets) == [
        "- NOT met: MLP 784-512-256-10 [dlzoo experiment=mlp_fast]: dlzoo s/epoch ÷ "
        "hand-written = 1.20 (target ≤ 1.15)",
        "- met: softmax regression [dlzoo speed.steps_per_call=32]: dlzoo s/epoch ÷ "
        "hand-written = 1.25 (target ≤ 1.5)",
        "- met: softmax regression [dlzoo speed.steps_per_call=32]: curriculum s/epoch ÷ "
        "dlzoo = 14.0 (target ≥ 10)",
        "- NOT met: MLP 784-512-256-10 [dlzoo experiment=mlp_fast]: time to 0.89 test "
        "accuracy, dlzoo 2.4 s vs hand-written 2.0 s (target ≤ hand × 1.15)",
    ]
    results["mlp_defaults"] = {
        "hand": result(1.0, [0.88, 0.9]),
        "lightning": result(1.047, [0.88, 0.9]),
        "dlzoo": result(1.235, [0.88, 0.9]),
    }
    text = pipelines.render(
        results, {"import_dlzoo_train_s": 3, "debug_fdr_wall_s": 9}, "cmd", False, []
    )
    assert "| softmax regression | 64 |" in text and "benchmarks_notes.md" in text
    assert "run three times for softmax regression" not in text  # rounds: from the setups
    assert (
        "run twice (three times for softmax regression, four times for MLP 784-512-256-10 "
        "[dlzoo defaults]), alternating (every second round in the reverse order)" in text
    )
    # 235 steps per epoch: 0.047 s and 0.235 s more per epoch are 0.20 and 1.00 ms per step
    assert "takes 1.05 s per epoch, 1.05× the hand-written loop: 0.20 ms more" in text
    assert "dlzoo's defaults take 1.00 ms more per step" in text
    # the file's targets: the default MLP's 1.235 is above its 1.15, and 1.18x bare Lightning
    assert "- NOT met: MLP 784-512-256-10 [dlzoo defaults]: dlzoo s/epoch ÷ hand-written" in text
    assert (
        "- NOT met: MLP 784-512-256-10 [dlzoo defaults]: dlzoo s/epoch ÷ bare LightningModule "
        "= 1.18 (target ≤ 1.05)" in text
    )
    # within 5 % of bare Lightning: met; a run without (d) has nothing to check
    targets["dlzoo_over_lightning"] = {"mlp_defaults": 1.05}
    results["mlp_defaults"]["dlzoo"] = result(1.09, [0.88, 0.9])
    assert (
        "- met: MLP 784-512-256-10 [dlzoo defaults]: dlzoo s/epoch ÷ bare LightningModule "
        "= 1.04 (target ≤ 1.05)" in pipelines.check_targets(results, targets)
    )
    del results["mlp_defaults"]["lightning"]
    assert not any("bare" in line for line in pipelines.check_targets(results, targets))


def test_the_saved_run_renders_again(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    pipelines.main(["--render-from", str(REPO / "docs" / "benchmarks.json"), "--out", str(out)])
    text = out.read_text()
    saved = json.loads((REPO / "docs" / "benchmarks.json").read_text())
    assert f"Produced by `{saved['command']}` on {saved['finished']}, rendered again by" in text
    assert f"Machine: {saved['machine']}." in text
    assert "| cnn_small (2 convs/stage) | 256 | 6 |" in text
    for key in saved["results"]:
        assert pipelines.SETUPS[key].name in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--setups", "mlp,resnet"], "unknown ['resnet']"),
        (["--render-from", "no/such/benchmarks.json"], "no such file"),
        (["--memory-format"], "python benchmarks/memory_format.py"),
    ],
)
def test_benchmark_refuses_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pipelines.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_memory_format_benchmark_refuses_unknown_models(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        memory_format.main(["--models", "lenet,mlp"])
    assert exit_info.value.code == 2
    assert "unknown ['mlp']" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["pipelines.py", "memory_format.py", "performance.py"])
def test_benchmark_scripts_run_from_a_plain_checkout(script: str) -> None:
    """``python benchmarks/<script>`` finds its helpers without the repo on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "docs/" in done.stdout


def test_the_package_imports_nothing_from_the_benchmarks() -> None:
    for path in (REPO / "src" / "dlzoo").rglob("*.py"):
        text = path.read_text()
        assert "from benchmarks" not in text and "import benchmarks" not in text, path


def test_benchmark_alternates_rounds_and_orders_and_keeps_each_pipelines_fastest_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    # four rounds: hand, lightning, dlzoo, then the reverse order, and again
    seconds = iter([1.0, 1.3, 1.2, 1.4, 1.1, 0.9, 1.5, 1.5, 1.5, 1.6, 1.6, 1.6])

    def fake_run(pipeline: str, key: str, data_dir: str, epochs: int) -> dict:
        calls.append(pipeline)
        return {"per_epoch_s": next(seconds), "pipeline_run": len(calls)}

    monkeypatch.setattr(pipelines, "run_pipeline", fake_run)
    results = pipelines.run_setup("mlp_defaults", "unused", 2, list(pipelines.PIPELINES))
    forward = ["hand", "lightning", "dlzoo"]  # no curriculum loop for this row
    assert calls == [*forward, *forward[::-1]] * 2
    assert results["hand"]["per_epoch_s"] == 0.9 and results["hand"]["pipeline_run"] == 6
    assert results["lightning"]["per_epoch_s"] == 1.1
    assert results["dlzoo"]["per_epoch_s"] == 1.2 and results["dlzoo"]["pipeline_run"] == 3
    assert results["hand"]["per_epoch_rounds_s"] == [1.0, 0.9, 1.5, 1.6]
    assert results["dlzoo"]["per_epoch_rounds_s"] == [1.2, 1.4, 1.5, 1.6]


def test_hand_loop_and_bare_lightning_train_on_the_same_batches(tiny_data_dir: Path) -> None:
    """(b) and (d) on the tiny Fashion-MNIST (120 training images): the same weights, data,
    batches and one-cycle schedule give the same accuracies; (a) runs too."""
    cfg = pipelines.recipe("mlp_defaults", epochs=2)
    cfg.model.net.hidden_sizes = [16]
    cfg.data.batch_size = 16  # 8 steps per epoch (one-cycle needs a few)
    hand = pipelines.run_hand_loop(cfg, str(tiny_data_dir), 2)
    bare = pipelines.run_bare_lightning(cfg, str(tiny_data_dir), 2)
    assert len(hand["epoch_times_s"]) == len(bare["epoch_times_s"]) == 2
    assert hand["test_acc"] == bare["test_acc"]
    curriculum = pipelines.run_curriculum_loop(cfg, str(tiny_data_dir), 1)
    assert len(curriculum["test_acc"]) == 1 and 0 <= curriculum["test_acc"][0] <= 1


def test_benchmark_baselines_use_the_memory_format_dlzoo_trains_in() -> None:
    small = pipelines.recipe("cnn_small")
    assert small.channels_last  # conf/model/cnn_small.yaml
    assert not pipelines.recipe("mlp").channels_last
    plain = replace(pipelines.SETUPS["cnn_small"], options=("channels_last=false",))
    pipelines.SETUPS["plain"] = plain
    try:
        assert not pipelines.recipe("plain").channels_last
    finally:
        del pipelines.SETUPS["plain"]

    def conv_weight(net: torch.nn.Module) -> torch.Tensor:
        return next(p for p in net.parameters() if p.ndim == 4 and p.shape[1] > 1)

    seen: list[torch.Tensor] = []
    net = pipelines.build_net(small)
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    net(torch.randn(2, 1, 28, 28))  # the loops feed NCHW batches
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    assert conv_weight(net).is_contiguous(memory_format=torch.channels_last)
    curriculum = pipelines.build_net(small, dlzoo_memory_format=False)
    assert not conv_weight(curriculum).is_contiguous(memory_format=torch.channels_last)


def memory_format_table() -> dict[str, float]:
    """model -> NHWC / NCHW step-time ratio, from docs/memory_format.md."""
    text = (REPO / "docs" / "memory_format.md").read_text()
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    ratio = header.index("NHWC / NCHW")
    return {cells[0].strip(): float(cells[ratio]) for cells in rows[1:]}


def test_model_configs_use_channels_last_where_the_table_measured_it_faster() -> None:
    table = memory_format_table()
    configs = sorted((REPO / "conf" / "model").glob("*.yaml"))
    declared = {
        path.stem: OmegaConf.load(path).channels_last
        for path in configs
        if "channels_last" in OmegaConf.load(path)
    }
    assert set(declared) == set(table), "every conv net is measured, and only those"
    assert {case.model for case in memory_format.CASES} == set(table)
    for model, ratio in table.items():
        assert declared[model] is (ratio < 1), f"{model}: NHWC/NCHW = {ratio}"


def test_memory_format_benchmark_times_both_layouts_of_the_same_network() -> None:
    case = memory_format.LayoutCase("cnn_small", 16, 4, (("channels", [4, 8]),))
    row = memory_format.measure_case(case, rounds=1)
    assert row["nchw_s"] > 0 and row["nhwc_s"] > 0
    assert row["output_difference"] < 1e-4  # same weights, same inputs: rounding only
    text = memory_format.render([row], "python benchmarks/memory_format.py", "now")
    assert f"| cnn_small | 16 | 4 | {row['nchw_s'] * 1e3:.1f} |" in text


# -- the performance switches (benchmarks/performance.py) --------------------------------------
def test_every_performance_switch_composes_and_changes_only_its_options() -> None:
    """Each row's off and on sides are valid training configs that differ where it says."""
    for key, switch in performance.ROWS.items():
        off = OmegaConf.to_container(train_config([*switch.recipe, *switch.off]), resolve=False)
        on = OmegaConf.to_container(train_config([*switch.recipe, *switch.on]), resolve=False)
        assert off != on, key
        options = performance.run_options(switch, "on", "data", Path("run"))
        assert (
            "trainer.max_epochs=2" in options
            and f"+trainer.limit_train_batches={switch.steps}" in options
        )


def test_performance_rows_alternate_sides_and_keep_each_sides_faster_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    times = iter([10.0, 6.0, 9.0, 7.0])  # off, on, off, on

    def fake_side(switch: performance.Switch, side: str, data_dir: str) -> dict:
        calls.append(side)
        return {"step_ms": next(times), "first_epoch_extra_s": 0.1, "wall_s": 5.0}

    monkeypatch.setattr(performance, "run_side", fake_side)
    row = performance.measure("bf16-mlp", "unused", rounds=2)
    assert calls == ["off", "on", "off", "on"]
    assert row["off"]["step_ms"] == 9.0 and row["off"]["rounds_step_ms"] == [10.0, 9.0]
    assert row["on"]["step_ms"] == 6.0 and row["on"]["rounds_step_ms"] == [6.0, 7.0]


def test_performance_report_names_the_switches_that_pay() -> None:
    fast = {"step_ms": 5.0, "first_epoch_extra_s": 0.2, "wall_s": 9.0}
    slow = {"step_ms": 10.0, "first_epoch_extra_s": 0.1, "wall_s": 11.0}
    spawned = {"step_ms": 30.0, "first_epoch_extra_s": None, "wall_s": 20.0, "whole_fit": True}
    results = {
        "bf16-cnn_small": {"off": slow, "on": fast},
        "ddp_cpu-mlp": {"off": slow, "on": spawned},
    }
    text = performance.render(results, "python benchmarks/performance.py", "a CPU", "now", [])
    assert "| 10.0 | 5.0 | 2.00x |" in text and "| 10.0 | 30.0* | 0.33x |" in text
    assert "at least 10% faster in this run: `bf16-cnn_small`." in text


def test_performance_benchmark_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--rows", "bf16-mlp,bf17"], "unknown ['bf17']"),
        (["--rounds", "0"], "at least 1"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            performance.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.fixture
def lightning_loop_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``step_time.timed_steps`` wraps Lightning's step loop: put it back after the test."""
    from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop

    monkeypatch.setattr(_TrainingEpochLoop, "advance", _TrainingEpochLoop.advance)


def test_step_time_counts_every_training_step(lightning_loop_restored: None) -> None:
    import lightning as L
    from lightning.pytorch.demos.boring_classes import BoringModel

    seconds = step_time.timed_steps()
    trainer = L.Trainer(
        max_epochs=2,
        limit_train_batches=5,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(BoringModel())
    assert len(seconds) == 10 and all(s > 0 for s in seconds)
    figures = step_time.summary(seconds, 0.2)
    assert figures is not None and figures["steps"] == 10 and figures["measured"] == 8


@pytest.mark.parametrize(
    ("script", "raised", "message"),
    [
        ('raise SystemExit("boom: config wrong")', SystemExit, "boom: config wrong"),
        ('raise ValueError("bad thing")', ValueError, "bad thing"),
        ('print("no training here")', SystemExit, "the script ran no training step"),
    ],
)
def test_step_time_keeps_a_scripts_own_error(
    script: str,
    raised: type[BaseException],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lightning_loop_restored: None,
) -> None:
    path = tmp_path / "script.py"
    path.write_text(script + "\n")
    monkeypatch.setattr(sys, "argv", ["step_time.py", "--", str(path)])
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(raised, match=message):
        step_time.main()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--skip", "1.5", "{script}"], "--skip: 1.5: a fraction in [0, 1)"),
        (["--skip", "-1", "{script}"], "--skip: -1: a fraction in [0, 1)"),
        (["nosuch.py"], "nosuch.py: no such file"),
    ],
)
def test_step_time_refuses_bad_arguments_before_running(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "script.py"  # exists: only the argument named is wrong
    script.write_text("raise AssertionError('ran')\n")
    argv = [a.format(script=script) for a in argv]
    monkeypatch.setattr(sys, "argv", ["step_time.py", *argv])
    with pytest.raises(SystemExit) as stop:
        step_time.main()
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
