"""Runs and checkpoints written before the package was reorganised (2026-12-06: a small
MLP on iris, a tiny Transformer on digit reversal, by the code at commit 83b409d; kept in
``tests/fixtures/old_main``) still evaluate, predict, export, resume and summarise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import QUIET, REPO, compose_config
from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError
from dlzoo.sweeps.summary import summarize

OLD = REPO / "tests" / "fixtures" / "old_main"


@pytest.fixture
def old_iris_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "old_iris"
    shutil.copytree(OLD / "iris_mlp", run_dir)
    return run_dir


def command(name: str, tmp_path: Path, *overrides: str):
    return compose_config(list(overrides), tmp_path / name, config_name=name)


def test_old_checkpoint_evaluates_to_its_own_test_figures(old_iris_run: Path, tmp_path) -> None:
    record = evaluate(command("eval", tmp_path, f"ckpt_path={old_iris_run}"))
    trained = json.loads((old_iris_run / "metrics.json").read_text())["metrics"]
    assert record["metrics"]["test/acc"] == pytest.approx(trained["test/acc"])
    assert record["metrics"]["test/loss"] == pytest.approx(trained["test/loss"], abs=1e-5)


def test_old_checkpoint_predicts_and_exports(old_iris_run: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n"
    )
    records = predict(command("predict", tmp_path, f"ckpt_path={old_iris_run}", f"inputs={rows}"))
    assert records[0]["input"] == "row 0" and len(records[0]["top_k"]) == 3
    out = export(
        command("export", tmp_path, f"ckpt_path={old_iris_run}", f"output={tmp_path}/m.pt")
    )
    assert out.is_file()


def test_old_translation_checkpoint_translates_and_says_it_does_not_export(tmp_path) -> None:
    ckpt = OLD / "digits_transformer" / "checkpoints" / "epoch_000.ckpt"
    for name in ("translate", "predict"):
        records = predict(command(name, tmp_path, f"ckpt_path={ckpt}", "text=1 2 3", "beam_size=1"))
        assert records[0]["translation"].startswith("1 2 3 =>")
    with pytest.raises(ConfigError, match="not supported"):
        export(command("export", tmp_path, f"ckpt_path={ckpt}", f"output={tmp_path}/t.pt"))


def test_old_run_resumes_to_a_longer_run(old_iris_run: Path, tmp_path: Path) -> None:
    overrides = ["model=mlp", "data=iris", "model.net.hidden_sizes=[8]", "logger=none", *QUIET]
    cfg = compose_config(
        [*overrides, f"resume={old_iris_run}", "trainer.max_epochs=3"], tmp_path / "launch"
    )
    record = train(cfg)
    assert record["status"] == "completed" and record["epochs"] == 3
    assert record["resumed_from"].endswith("last.ckpt")
    assert json.loads((old_iris_run / "metrics.json").read_text())["epochs"] == 3


def test_old_runs_are_summarised(old_iris_run: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(old_iris_run, sweep / "0_model=mlp")
    written = summarize(sweep)
    assert "mlp" in Path(written["md"]).read_text()


def test_resume_auto_in_a_fixed_folder_continues_an_old_run(old_iris_run: Path) -> None:
    """The cluster pattern: a fixed run folder and resume=auto, on a run the old code made."""
    overrides = ["model=mlp", "data=iris", "model.net.hidden_sizes=[8]", "logger=none", *QUIET]
    cfg = compose_config([*overrides, "resume=auto", "trainer.max_epochs=3"], old_iris_run)
    record = train(cfg)
    assert record["resumed_from"] == str(old_iris_run / "checkpoints" / "last.ckpt")
    assert record["epochs"] == 3 and record["run_dir"] == str(old_iris_run)
