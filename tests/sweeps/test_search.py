"""Optuna searches on dlzoo's own sweeper, and grid sweeps that resume.

Each test runs scripts/train.py in subprocesses on the two-clusters data (seconds per
trial); a test-only callback (tests/stall.py) slows training down so a test can kill the
process at a known point.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_sweeps import md_rows

from conftest import QUIET, start_train_script

optuna = pytest.importorskip("optuna", reason="pip install -e '.[sweeps]'")

SEARCH = ["hparams_search=two_clusters", "trainer.accelerator=cpu", "logger=none", *QUIET]


def slowed(tmp_path: Path, pause: float = 0.1) -> list[str]:
    """Sleep ``pause`` s after every training step (10 steps an epoch on two_clusters)."""
    return [
        "+callbacks.stall._target_=stall.StallAtStep",
        "+callbacks.stall.step=0",
        f"+callbacks.stall.marker={tmp_path / 'stall.marker'}",
        f"+callbacks.stall.pause={pause}",
    ]


def stall_once(marker: Path, step: int, **where: str) -> list[str]:
    """Hang the chosen job at ``step`` (after a checkpoint), once: see tests/stall.py."""
    args = [
        "+callbacks.stall._target_=stall.StallOnce",
        f"+callbacks.stall.step={step}",
        f"+callbacks.stall.marker={marker}",
    ]
    return args + [f"+callbacks.stall.{k}={quote(v)}" for k, v in where.items()]


def quote(text: str) -> str:
    return "'" + text + "'"


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(
                f"the run ended before the test could stop it:\n{proc.stdout.read()[-4000:]}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.1)


def status(run: Path) -> str | None:
    try:
        return json.loads((run / "metrics.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def snapshot(run: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a run folder with its mtime and bytes (to prove it was not touched)."""
    return {
        str(p.relative_to(run)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def load_study(log_dir: Path, name: str = "two_clusters"):
    return optuna.load_study(
        study_name=name, storage=f"sqlite:///{log_dir / 'searches' / f'{name}.db'}"
    )


def test_optuna_is_current() -> None:
    major = int(optuna.__version__.split(".")[0])
    assert major >= 4, optuna.__version__


@pytest.mark.slow  # two launches of the train script: ~40 s on 2 busy cores
def test_killed_search_continues_with_the_same_command(tmp_path: Path) -> None:
    """6 trials, SIGKILL during the third: the relaunch keeps trials 0 and 1 untouched,
    re-runs the killed trial from its checkpoint in its folder, and ends with 6 trials."""
    logs = tmp_path / "logs"
    args = [
        *SEARCH,
        f"paths.log_dir={logs}",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.heartbeat_interval=1",
        "hydra/sweeper/pruner=none",
        "trainer.max_epochs=2",
        # trial 2 hangs in its second epoch (after the first epoch's checkpoint)
        *stall_once(tmp_path / "stalled", step=15, env="DLZOO_OPTUNA_TRIAL=2"),
    ]
    first = start_train_script(*args)
    runs = logs / "hparams_two_clusters" / "multiruns"
    wait_for((tmp_path / "stalled").exists, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    (sweep,) = runs.iterdir()
    before = {r.name: snapshot(r) for r in sweep.iterdir() if r.name.startswith(("0_", "1_"))}
    assert len(before) == 2 and status(next(sweep.glob("2_*"))) == "running"

    out = finish(start_train_script(*args))

    assert [p.name for p in runs.iterdir()] == [sweep.name]  # the same sweep folder
    for name, files in before.items():
        assert snapshot(sweep / name) == files, f"{name} was touched by the relaunch"
    trials = load_study(logs).get_trials()
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 6 and states.count("FAIL") == 1, states
    killed = next(t for t in trials if t.state.name == "FAIL")
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == killed.number)
    assert killed.number == 2 and retry.params == killed.params
    rerun = next(sweep.glob("2_*"))
    record = json.loads((rerun / "metrics.json").read_text())
    assert record["status"] == "completed" and record["resumed_from"].endswith("last.ckpt")
    rows = md_rows(sweep / "summary.md")
    assert len(rows) == 6 and all(r[3] == "completed" for r in rows), out[-3000:]
    assert "re-runs trial 2" in (sweep / "study.md").read_text()


@pytest.mark.slow  # two launches of the train script: ~40 s on 2 busy cores
def test_two_workers_share_one_study(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    args = [
        *SEARCH,
        f"paths.log_dir={logs}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "hydra.sweeper.n_trials=4",
        "hydra/sweeper/pruner=none",
        "trainer.max_epochs=2",
        *slowed(tmp_path, pause=0.1),  # 2 s a trial: both workers get some
    ]
    workers = [start_train_script(*args) for _ in range(2)]
    outs = [finish(w) for w in workers]

    launched = [{int(n) for n in re.findall(r"#(\d+) : ", out)} for out in outs]
    assert all(launched), "each worker ran at least one trial"
    assert not launched[0] & launched[1], "no trial ran twice"
    trials = [t for t in load_study(logs).get_trials() if not t.user_attrs.get("surplus")]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert launched[0] | launched[1] == {t.number for t in trials}
    assert len(list((tmp_path / "sweep").glob("*/metrics.json"))) == 4


def test_median_pruner_stops_a_hopeless_trial(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    out = finish(
        start_train_script(
            *SEARCH,
            f"paths.log_dir={logs}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            "hydra.sweeper.params=null",
            "optimizer.lr=choice(0.5, 0.0000001)",  # 1e-7: nothing is learnt
            "hydra/sweeper/sampler=random",
            "hydra.sweeper.sampler.seed=3",  # draws 0.5, 1e-7, 1e-7, 0.5
            "hydra.sweeper.n_trials=4",
            "hydra.sweeper.pruner.n_startup_trials=1",
            "trainer.max_epochs=4",
        )
    )
    study = load_study(logs)
    pruned = [t for t in study.get_trials() if t.state.name == "PRUNED"]
    assert pruned, out[-3000:]
    assert all(t.params["optimizer.lr"] == 1e-7 for t in pruned)
    for trial in pruned:
        record = json.loads((Path(trial.user_attrs["run_dir"]) / "metrics.json").read_text())
        assert record["status"] == "pruned"
        assert record["metrics"]["val/acc"] == pytest.approx(trial.intermediate_values[1])
        assert record["epochs"] < 4
    summary = (tmp_path / "sweep" / "summary.md").read_text()
    assert "pruned" in summary and (tmp_path / "sweep" / "optuna_history.png").is_file()


def test_killed_grid_sweep_resumes_in_its_folder(tmp_path: Path) -> None:
    """A 4-job grid killed during its third job; the same command plus resume=auto finishes
    it in the same folder: jobs 0-1 untouched, job 2 continued exactly, job 3 run."""
    logs = tmp_path / "logs"
    common = [
        "experiment=two_clusters",
        "trainer.accelerator=cpu",
        "logger=none",
        "trainer.max_epochs=4",
        f"paths.log_dir={logs}",
        *QUIET,
    ]
    # job 2 hangs in its third epoch (full batch: one step an epoch), after two checkpoints
    hang = stall_once(tmp_path / "stalled", step=2, run_prefix="2_")
    args = ["-m", *common, "optimizer.lr=0.2,0.1,0.05,0.02", *hang]
    first = start_train_script(*args)
    runs = logs / "two_clusters" / "multiruns"
    wait_for((tmp_path / "stalled").exists, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    (sweep,) = runs.iterdir()
    before = {r.name: snapshot(r) for r in sweep.iterdir() if r.name.startswith(("0_", "1_"))}

    out = finish(start_train_script(*args, "resume=auto"))
    reference = finish(
        start_train_script(*common, "optimizer.lr=0.05", f"hydra.run.dir={tmp_path / 'ref'}")
    )

    assert [p.name for p in runs.iterdir()] == [sweep.name], out[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 4 and not any("resume" in p.name for p in jobs)
    assert all(status(p) == "completed" for p in jobs)
    for name, files in before.items():
        assert snapshot(sweep / name) == files, f"{name} was run again"
    resumed = json.loads((sweep / jobs[2].name / "metrics.json").read_text())
    assert resumed["resumed_from"] and resumed["resumed_from"].endswith("last.ckpt")
    unbroken = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    assert resumed["metrics"] == pytest.approx(unbroken["metrics"], rel=1e-6), (resumed, unbroken)
    summary = (sweep / "summary.md").read_text()
    assert "4 runs, 4 completed, 0 failed. Varying: optimizer.lr." in summary
    assert len(md_rows(sweep / "summary.md")) == 4 and reference


def test_bad_sampler_pruner_and_search_space_name_what_is_allowed() -> None:
    from dlzoo.errors import ConfigError
    from dlzoo.sweeps.optuna_parts import make_pruner, make_sampler
    from dlzoo.sweeps.search_space import parse_search_space

    with pytest.raises(
        ConfigError, match=r"'annealing' is not a sampler; allowed: tpe, random, grid"
    ):
        make_sampler({"name": "annealing"})
    with pytest.raises(ConfigError, match=r"renamed: use tpe"):
        make_sampler({"name": "motpe"})
    with pytest.raises(ConfigError, match=r"'early' is not a pruner; allowed: none, median"):
        make_pruner({"name": "early"})
    with pytest.raises(
        ConfigError, match=r"'median' has no option patience; its options: .*n_startup_trials"
    ):
        make_pruner({"name": "median", "patience": 3})
    # options of the group's config left over after switching pruners are ignored, with a warning
    assert type(make_pruner({"name": "none", "n_startup_trials": 2})).__name__ == "NopPruner"
    with pytest.raises(
        ConfigError, match=r"optimizer.lr=interval\(0.1\).*use interval\(low, high\)"
    ):
        parse_search_space({"optimizer.lr": "interval(0.1)"}, [])
    with pytest.raises(ConfigError, match=r"needs a sweep expression"):
        parse_search_space({"optimizer.lr": "0.1"}, [])
    space = parse_search_space(
        {
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "a": "int(interval(1, 4))",
            "b": "range(1, 7, 2)",
        },
        ["b=3", "c=choice(x, y)", "trainer.max_epochs=2"],
    )
    lr, a, c = (space.distributions[k] for k in ("optimizer.lr", "a", "c"))
    assert lr.log and (lr.low, lr.high) == (1e-4, 1e-1)
    assert (a.low, a.high) == (1, 4) and list(c.choices) == ["x", "y"]
    assert "b" not in space.distributions and space.fixed == ["b=3", "trainer.max_epochs=2"]


def test_seeded_sampler_continues_a_study_without_replaying_its_draws() -> None:
    """A relaunch builds a new sampler with the same seed: trial n is still drawn with
    seed + n, so it neither repeats the first launch's draws nor loses reproducibility."""
    from dlzoo.sweeps.optuna_parts import make_sampler

    def search(launches: list[int]) -> list[float]:
        storage = optuna.storages.InMemoryStorage()
        for n in launches:  # each launch: a new sampler on the same stored study
            study = optuna.create_study(
                study_name="s",
                storage=storage,
                load_if_exists=True,
                sampler=make_sampler({"name": "tpe", "seed": 7, "n_startup_trials": 3}),
            )
            for _ in range(n):
                trial = study.ask()
                study.tell(trial, trial.suggest_float("x", 0.0, 1.0))
        return [t.params["x"] for t in study.trials]

    relaunched = search([2, 2, 2])
    assert len(set(relaunched)) == 6
    assert relaunched == search([6]) == search([3, 3])


def test_a_bad_sampler_name_is_one_error_line(tmp_path: Path) -> None:
    proc = start_train_script(
        *SEARCH, f"paths.log_dir={tmp_path}", "hydra.sweeper.sampler.name=annealing"
    )
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("error: hydra.sweeper.sampler.name='annealing' is not a sampler"), out[
        -2000:
    ]
    assert "Traceback" not in out


@pytest.mark.slow  # ~30 s on 2 busy cores
def test_multi_objective_search_reports_the_pareto_front(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    finish(
        start_train_script(
            "hparams_search=mlp_iris_pareto",
            f"paths.log_dir={tmp_path / 'logs'}",
            f"hydra.sweep.dir={sweep}",
            "hydra.sweeper.n_trials=4",
            "trainer.max_epochs=2",
            "trainer.accelerator=cpu",
            "logger=none",
            *QUIET,
        )
    )
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    front = results["best_trials"]
    assert front and all(set(t["values"]) == {"val/acc_best", "num_parameters"} for t in front)
    assert "Pareto front" in (sweep / "summary.md").read_text()
    assert (sweep / "optuna_pareto.png").is_file()


def test_optuna_dashboard_serves_a_study(tmp_path: Path) -> None:
    """The `dashboard` extra: optuna-dashboard reads a study dlzoo's storage wrote
    (bound to 127.0.0.1 only)."""
    pytest.importorskip("optuna_dashboard", reason="pip install -e '.[dashboard]'")
    import os
    import socket
    import sys
    import urllib.request

    from dlzoo.sweeps.optuna_parts import make_storage, storage_url

    url = storage_url(None, tmp_path, "demo")
    study = optuna.create_study(study_name="demo", storage=make_storage(url, 10))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "optuna-dashboard"), url]
        + ["--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline and '"demo"' not in body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.3)
        assert '"study_name": "demo"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_configs_written_for_the_old_plugin_still_compose() -> None:
    """`hydra/sweeper=optuna` + `hydra/sweeper/sampler=tpe` (hydra-optuna-sweeper's names)
    select dlzoo's sweeper; a sampler given by `_target_` is built from that class."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from dlzoo.cli import config_dir
    from dlzoo.sweeps.optuna_parts import make_sampler

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=config_dir()):
        cfg = compose(
            "train",
            [
                "hydra/sweeper=optuna",
                "hydra/sweeper/sampler=tpe",
                "hydra.sweeper.direction=maximize",
            ],
            return_hydra_config=True,
        )
    assert cfg.hydra.sweeper._target_.endswith("DlzooOptunaSweeper")
    assert cfg.hydra.sweeper.sampler.name == "tpe" and cfg.hydra.sweeper.pruner.name == "none"
    sampler = make_sampler({"_target_": "optuna.samplers.TPESampler", "seed": 1})
    assert type(sampler).__name__ == "TPESampler"
