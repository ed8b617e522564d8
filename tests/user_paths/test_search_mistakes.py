"""Mistakes in an Optuna search stop it before the first trial, in one line (issue 31,
cases 9, 12, 13 and 14): a search-space key the config lacks, a changed space on a relaunch,
a damaged study database, a non-positive trial count."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import QUIET, compose_config, run_script
from dlzoo.errors import ConfigError

optuna = pytest.importorskip("optuna", reason="pip install -e '.[sweeps]'")

SEARCH = ["hparams_search=two_clusters", "trainer.accelerator=cpu", "logger=none", *QUIET]


def one_error_line(result) -> str:  # noqa: ANN001 - a CompletedProcess
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    return result.stderr.strip().splitlines()[-1]


def test_case_12_a_misspelt_search_key_is_refused_before_any_trial(tmp_path: Path) -> None:
    result = run_script(*["train.py", *SEARCH, f"paths.log_dir={tmp_path}"],
                        "optimizer.lrr=interval(0.001, 0.1)")  # fmt: skip
    last = one_error_line(result)
    assert "search space key optimizer.lrr is not in the config" in last, last
    assert "did you mean optimizer.lr?" in last
    assert not list(tmp_path.rglob("metrics.json"))  # no trial ran, none was re-queued


def test_case_12_keys_under_a_searched_group_and_added_keys_are_left_to_the_trials(
    tmp_path: Path,
) -> None:
    from dlzoo.cli import config_dir
    from dlzoo.errors import ConfigError
    from dlzoo.sweeps.search_space import check_space_keys, parse_search_space

    cfg = compose_config(["model=mlp", "data=two_clusters"], tmp_path)
    good = parse_search_space(
        {"optimizer.lr": "interval(0.01, 0.1)", "model": "choice(mlp, lenet)"},
        ["model.net.channels=choice(4, 8)", "+extra.key=choice(1, 2)"],
    )
    check_space_keys(good, cfg, config_dir())  # no error
    bad = parse_search_space({"model.net.hiden_sizes": 'choice("[4]", "[8]")'}, [])
    with pytest.raises(ConfigError, match=r"did you mean model\.net\.hidden_sizes\?"):
        check_space_keys(bad, cfg, config_dir())


def test_case_13_a_changed_search_space_names_the_change_and_the_way_on(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'searches' / 'two_clusters.db'}"
    (tmp_path / "searches").mkdir()
    study = optuna.create_study(study_name="two_clusters", storage=storage, direction="maximize")
    trial = study.ask()
    trial.suggest_categorical("model.net.hidden_sizes", ["[4]", "[10]"])
    study.tell(trial, 0.9)
    result = run_script("train.py", *SEARCH, f"paths.log_dir={tmp_path}")
    last = one_error_line(result)
    assert "search space of study 'two_clusters' changed: model.net.hidden_sizes" in last
    assert "hydra.sweeper.study_name=two_clusters_2" in last
    states = [
        t.state.name for t in optuna.load_study(study_name="two_clusters", storage=storage).trials
    ]
    assert states == ["COMPLETE"]  # no trial left "running"


def test_case_14_a_damaged_study_database_is_named_and_the_runs_kept(tmp_path: Path) -> None:
    database = tmp_path / "searches" / "two_clusters.db"
    database.parent.mkdir()
    database.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)  # a garbage page
    kept = tmp_path / "hparams_two_clusters" / "multiruns" / "earlier" / "0_x" / "metrics.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    result = run_script("train.py", *SEARCH, f"paths.log_dir={tmp_path}")
    last = one_error_line(result)
    assert f"the study database {database} cannot be read" in last, last
    assert f"mv {database} {database}.damaged" in last
    assert len((result.stdout + result.stderr).strip().splitlines()) <= 25
    assert kept.exists() and database.exists()


def test_case_9_a_search_needs_one_trial_or_more(tmp_path: Path) -> None:
    result = run_script(
        "train.py", *SEARCH, f"paths.log_dir={tmp_path}", "hydra.sweeper.n_trials=-3"
    )
    assert "hydra.sweeper.n_trials=-3: a search needs 1 or more" in one_error_line(result)
    output = result.stdout + result.stderr  # once (a newcomer saw it twice)
    assert output.count("a search needs 1 or more") == 1, output[-2000:]


def test_case_9_a_command_line_value_that_fixes_a_searched_key_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from dlzoo.sweeps.search_space import parse_search_space

    with caplog.at_level(logging.WARNING):
        space = parse_search_space({"optimizer.lr": "interval(0.001, 0.1)"}, ["optimizer.lr=0.01"])
    assert "optimizer.lr" not in space.distributions
    assert (
        "optimizer.lr=0.01 on the command line fixes optimizer.lr: no longer searched"
        in caplog.text
    )


def test_a_parameter_added_to_a_studys_space_is_a_changed_space() -> None:
    """A newcomer's report: adding `+optimizer.lrr=interval(...)` to a study's space was
    accepted; every new trial failed and stayed in the study for good."""
    from optuna.distributions import FloatDistribution

    from dlzoo.sweeps.optuna_parts import check_same_space

    study = optuna.create_study(study_name="two_clusters")
    lr = FloatDistribution(1e-4, 1.0, log=True)
    trial = study.ask({"optimizer.lr": lr})
    study.tell(trial, 0.9)
    check_same_space(study, {"optimizer.lr": lr})  # the same space: fine
    added = {"optimizer.lr": lr, "optimizer.lrr": FloatDistribution(1e-3, 0.1)}
    with pytest.raises(ConfigError, match=r"optimizer.lrr is new \(its trials searched "
                                          r"optimizer.lr\).*study_name=two_clusters_2"):  # fmt: skip
        check_same_space(study, added)
    check_same_space(optuna.create_study(), added)  # a study without trials takes any space
