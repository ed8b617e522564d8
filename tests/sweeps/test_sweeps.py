"""Sweeps: multiruns and Optuna searches finish, record failed runs, and are summarised."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest
import yaml

from conftest import QUIET, REPO, run_script
from dlzoo.records.history import read_history
from dlzoo.sweeps.jobs import failure_reason
from dlzoo.sweeps.resolvers import direction, run_name
from dlzoo.sweeps.summary import summarize


def md_rows(path: Path) -> list[list[str]]:
    """The data rows of the first markdown table in a file, as lists of cells."""
    rows, in_table = [], False
    for line in path.read_text().splitlines():
        if line.startswith("|---"):
            in_table = True
            continue
        if in_table and line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
        elif in_table:
            break
    return rows


def fake_run(sweep: Path, name: str, overrides: list[str], record: dict, curve: list[float]):
    run = sweep / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run / "metrics.json").write_text(json.dumps(record))
    lines = [
        json.dumps({"epoch": i, "val/acc": v, "train/loss_epoch": 1 - v})
        for i, v in enumerate(curve)
    ]
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")


def completed(acc: float, seed: int) -> dict:
    return {
        "status": "completed",
        "monitor": "val/acc",
        "mode": "max",
        "metrics": {"val/acc_best": acc, "test/acc": acc - 0.01},
        "best_val": acc,
        "epochs": 3,
        "wall_time_s": 1.5,
        "seed": seed,
    }


def test_summary_sorts_best_first_marks_failures_and_averages_seeds(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    accs = {("relu", 0): 0.80, ("relu", 1): 0.84, ("tanh", 0): 0.70, ("tanh", 1): 0.74}
    for i, ((act, seed), acc) in enumerate(accs.items()):
        overrides = [f"model.net.activation={act}", f"seed={seed}"]
        fake_run(sweep, f"{i}_{act}_{seed}", overrides, completed(acc, seed), [acc - 0.2, acc])
    failed = {"status": "failed", "reason": "TrainingDiverged: loss became nan", "metrics": {}}
    fake_run(sweep, "4_sigmoid_0", ["model.net.activation=sigmoid", "seed=0"], failed, [0.1])

    written = summarize(sweep)

    rows = md_rows(written["md"])
    assert len(rows) == 5
    assert [r[2] for r in rows[:4]] == [
        "model.net.activation=relu, seed=1",
        "model.net.activation=relu, seed=0",
        "model.net.activation=tanh, seed=1",
        "model.net.activation=tanh, seed=0",
    ]
    assert rows[-1][3] == "failed" and "loss became nan" in rows[-1][-1]
    with written["csv"].open() as f:
        assert len(list(csv.DictReader(f))) == 5
    seeds = list(csv.DictReader(written["seeds"].open()))
    relu = next(r for r in seeds if r["configuration"] == "model.net.activation=relu")
    assert relu["completed"] == "2"
    assert relu["val/acc_best"] == "0.82 ± 0.028"  # mean and sample std of 0.80, 0.84
    assert "Mean ± std over seeds" in written["md"].read_text()
    assert written["png"].stat().st_size > 10_000


def test_summarize_script_rejects_a_folder_without_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``scripts/summarize.py`` (its ``main``, in this process): exit status 2, one line."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "summarize_script", REPO / "scripts" / "summarize.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr("sys.argv", ["summarize.py", str(tmp_path)])
    assert script.main() == 2
    assert "holds no runs" in capsys.readouterr().err


def test_resolvers_name_runs_and_pick_directions() -> None:
    assert direction("val/acc_best") == "maximize"
    assert direction("val/mse_best") == "minimize"
    assert direction("val/r2") == "maximize"
    name = run_name(
        "callbacks.progress_bar.enabled=False,optimizer=comparison/adam,optimizer.lr=0.00123456789"
    )
    assert (
        name
        == "optimizer=comparison-adam,optimizer.lr=0.001235,callbacks.progress_bar.enabled=False"
    )
    assert run_name("model.net.hidden_sizes=[256, 128]") == "model.net.hidden_sizes=[256,128]"


def test_failure_reason_finds_the_dlzoo_error_inside_hydra_wrappers() -> None:
    from hydra.errors import InstantiationException

    from dlzoo.errors import ConfigError

    try:
        try:
            raise ConfigError("model.net.dropout=1.5: must be in [0, 1)")
        except ConfigError as err:
            raise InstantiationException(
                "Error in call to target 'MLP':\nConfigError(...)"
            ) from err
    except InstantiationException as wrapped:
        assert failure_reason(wrapped) == "ConfigError: model.net.dropout=1.5: must be in [0, 1)"


# -- real multiruns (subprocesses: each pays the import time once, so they share work) ----


def sweep_args(tmp_path: Path, data_dir: Path) -> list[str]:
    return [
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"paths.data_dir={data_dir}",
        "trainer.accelerator=cpu",
        *QUIET,
    ]


def test_a_sweep_over_experiments_keeps_its_jobs_in_one_folder(tmp_path: Path) -> None:
    """A newcomer's report: `-m experiment=a,b` wrote its jobs to logs/a/multiruns/ and
    logs/b/multiruns/ and the sweep had no summary. The sweep's own task name (train)
    names the folder of every job."""
    result = run_script("train.py", "-m", "experiment=two_clusters,iris_softmax",
                        "trainer.max_epochs=1", f"paths.log_dir={tmp_path / 'logs'}",
                        *QUIET)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    rows = md_rows(sweep / "summary.md")
    assert sorted(r[2] for r in rows) == ["experiment=iris_softmax", "experiment=two_clusters"]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["train"]


def test_optimizer_comparison_multirun_summarises_four_optimizers(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    result = run_script(
        "train.py",
        "-m",
        "experiment=optimizer_comparison",
        "data.num_train=96",
        "data.num_val=32",
        "data.num_test=32",
        "trainer.max_epochs=3",
        *sweep_args(tmp_path, tiny_data_dir),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sweep = tmp_path / "sweep"
    rows = md_rows(sweep / "summary.md")
    assert len(rows) == 4
    labels = sorted(r[2] for r in rows)
    assert labels == [f"optimizer=comparison/{o}" for o in ("adam", "momentum", "rmsprop", "sgd")]
    assert all(r[3] == "completed" for r in rows)
    objectives = [float(r[4]) for r in rows]
    assert objectives == sorted(objectives)  # val MSE: smallest first
    assert (sweep / "curves.png").stat().st_size > 10_000
    run_dirs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert run_dirs[0].startswith("0_") and "optimizer=comparison-sgd" in run_dirs[0]
    for run in run_dirs:  # each run: its TensorBoard events and a 3-epoch history
        assert list((sweep / run / "tensorboard").glob("events.out.tfevents.*"))
        assert [row["epoch"] for row in read_history(sweep / run)] == [0, 1, 2]


def test_multirun_goes_on_after_a_crash_and_a_divergence(
    tmp_path: Path, tiny_data_dir: Path
) -> None:
    result = run_script(
        "train.py",
        "-m",
        "data=curve",
        "model=mlp",
        "optimizer=sgd",
        "scheduler=none",
        "model.net.dropout=0.0,1.5",
        "optimizer.lr=0.05,1e12",
        "trainer.max_epochs=4",
        *sweep_args(tmp_path, tiny_data_dir),
    )
    # every job ran; then the sweep says how many failed and exits non-zero
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 3 job(s) of the sweep failed:"), last
    summary = (tmp_path / "sweep" / "summary.md").read_text()
    rows = {r[2]: r for r in md_rows(tmp_path / "sweep" / "summary.md")}
    assert len(rows) == 4, summary
    ok = rows["model.net.dropout=0.0, optimizer.lr=0.05"]
    assert ok[3] == "completed" and ok[0] == "1"
    diverged = rows["model.net.dropout=0.0, optimizer.lr=1e+12"]  # Hydra writes 1e12 so
    assert diverged[3] == "diverged" and "TrainingDiverged" in diverged[-1], summary
    for lr in ("0.05", "1e+12"):
        crashed = rows[f"model.net.dropout=1.5, optimizer.lr={lr}"]
        assert crashed[3] == "failed" and "model.net.dropout=1.5" in crashed[-1], summary
    # trust case 11: the completed job's "best checkpoint:" line, pasted as printed into
    # eval.py, evaluates (its folder name holds "=" and ",", Hydra's override grammar)
    printed = [
        line.split("best checkpoint: ", 1)[1]
        for line in (result.stdout + result.stderr).splitlines()
        if "best checkpoint: " in line and "optimizer.lr=0.05" in line
    ]
    assert printed, result.stdout[-3000:]
    (pasted,) = shlex.split(f"ckpt_path={printed[0]}")  # what the shell hands over
    evaluated = run_script("eval.py", pasted, f"paths.data_dir={tiny_data_dir}")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "test/" in evaluated.stdout + evaluated.stderr


def test_optuna_search_six_trials_with_a_failing_trial(tmp_path: Path, tiny_data_dir: Path) -> None:
    pytest.importorskip("optuna", reason="pip install dlzoo[sweeps]")
    result = run_script(
        "train.py",
        "hparams_search=mlp_fashion_mnist",
        "debug=limit",
        "hydra.sweeper.n_trials=6",
        "model.net.hidden_sizes=[32]",
        "data.val_size=20",  # the tiny Fashion-MNIST has 120 training images
        "model.net.dropout=choice(0.0, 0.2, 1.5)",  # 1.5 is invalid: those trials fail
        *sweep_args(tmp_path, tiny_data_dir),
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "job(s) of the sweep failed" in result.stderr.strip().splitlines()[-1]
    sweep = tmp_path / "sweep"
    rows = md_rows(sweep / "summary.md")
    assert len(rows) == 6
    bad = [r for r in rows if "model.net.dropout=1.5" in r[2]]
    good = [r for r in rows if "model.net.dropout=1.5" not in r[2]]
    assert bad and good  # the seeded sampler draws both kinds
    assert all(r[3] == "failed" and "must be a number in [0, 1)" in r[-1] for r in bad)
    assert all(r[3] == "completed" for r in good)
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_params"]["model.net.dropout"] != 1.5
    best = max(float(r[4]) for r in good)
    assert results["best_value"] == pytest.approx(best, rel=1e-3)
    assert float(rows[0][4]) == pytest.approx(best, rel=1e-3)
    assert "Directions: ['maximize']" in result.stdout + result.stderr  # from val/acc_best
    import optuna  # issue 31, case 24: the dashboard names the objective, not "Objective 0"

    database = f"sqlite:///{tmp_path / 'logs' / 'searches' / 'mlp_fashion_mnist.db'}"
    assert optuna.load_study(study_name="mlp_fashion_mnist", storage=database).metric_names == [
        "val/acc_best"
    ]


@pytest.mark.parametrize("name", ["mlp_fashion_mnist", "mlp_california", "lenet_fashion_mnist"])
def test_hparams_search_configs_compose(name: str, tmp_path: Path) -> None:
    """Each search is a seeded TPE multirun whose direction follows its metric's name."""
    pytest.importorskip("optuna", reason="pip install dlzoo[sweeps]")
    from dlzoo.cli import config_dir
    from dlzoo.sweeps.optuna_parts import directions_of, metrics_of

    if name.startswith("lenet") and not (Path(config_dir()) / "model/lenet_modern.yaml").is_file():
        pytest.skip("model=lenet_modern comes with the model zoo")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=config_dir()):
        cfg = compose("train", [f"hparams_search={name}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert "optuna" in sweeper._target_ and sweeper.sampler.seed is not None
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    expected = "minimize" if cfg.optimized_metric.startswith("val/mse") else "maximize"
    directions = directions_of(sweeper.direction, metrics_of(cfg.optimized_metric))
    assert directions == [expected]
    assert sweeper.max_failure_rate == 1.0 and len(sweeper.params) >= 3


def test_run_names_stay_short_without_cutting_a_value() -> None:
    overrides = ",".join(f"model.net.option_{i}=0.00307912345" for i in range(12))
    name = run_name(overrides)
    assert len(name) <= 120 and name.endswith(name.rsplit(",", 1)[1])
    *kept, tail = name.split(",")
    assert tail.startswith("etc-") and len(tail) == 12  # a hash of all the overrides
    assert all(item.endswith("=0.003079") for item in kept)  # whole values, 4 digits
    assert run_name(overrides.replace("_11=", "_11=1")) != name  # the hash tells them apart


def test_one_epoch_sweep_draws_bars_with_the_labels_beside_them(tmp_path: Path) -> None:
    """26 one-epoch runs (a sweep over the model zoo): one bar per run, not 26 dots."""
    import matplotlib.image

    sweep = tmp_path / "sweep"
    for i in range(26):
        fake_run(
            sweep,
            f"{i}_experiment=e{i}",
            [f"experiment=e{i}"],
            completed(0.5 + i / 100, 0),
            [0.5 + i / 100],
        )
    written = summarize(sweep)
    height, width, _ = matplotlib.image.imread(written["png"]).shape
    assert height > 600  # grows with the number of runs (0.25 inch a bar)
    assert "26 runs, 26 completed, 0 failed. Varying: experiment." in written["md"].read_text()
