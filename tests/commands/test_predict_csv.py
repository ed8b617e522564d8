"""Predicting CSV rows with a model trained on a CSV, the way a user does it: train with
`data=tabular_csv`, then `scripts/predict.py` on the same rows, columns matched by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import QUIET, compose_config, run_script
from dlzoo.commands.predict import predict
from dlzoo.errors import DlzooError


def train_on_csv(csv: Path, target: str, run_dir: Path) -> dict:
    """``scripts/train.py model=mlp data=tabular_csv ...``, in this process (the command
    line is tested in test_cli.py)."""
    from dlzoo.commands.train import train

    overrides = ["model=mlp", "data=tabular_csv", f"data.path={csv}", f"data.target={target}"]
    train(compose_config([*overrides, *QUIET], run_dir))
    return json.loads((run_dir / "metrics.json").read_text())


def predict_rows(ckpt: str, csv: Path, out: Path) -> pd.DataFrame:
    """``scripts/predict.py ckpt_path=... inputs=<csv> output=<csv> top_k=1``, in this
    process (the command line itself is tested in test_predict_export.py and test_cli.py)."""
    overrides = [f"ckpt_path={ckpt}", f"inputs={csv}", f"output={out}", "top_k=1"]
    predict(compose_config(overrides, out.parent / "predict_run", "predict"))
    return pd.read_csv(out)


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, dict]:
    """sklearn's wine data as a user's CSV (a string class column), and a trained MLP."""
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    root = tmp_path_factory.mktemp("wine")
    frame = data.data.copy()
    frame["cultivar"] = [data.target_names[i] for i in data.target]
    csv = root / "wine.csv"
    frame.to_csv(csv, index=False)
    record = train_on_csv(csv, "cultivar", root / "run")
    return root, frame, record


def test_a_string_target_trains_a_classifier(wine: tuple[Path, pd.DataFrame, dict]) -> None:
    _, _, record = wine
    assert record["task"] == "multiclass"
    assert record["metrics"]["test/acc"] >= 0.9


def test_predict_applies_the_training_preprocessing(
    wine: tuple[Path, pd.DataFrame, dict],
) -> None:
    root, frame, record = wine
    features = frame.drop(columns=["cultivar"])
    features.to_csv(root / "features.csv", index=False)
    predicted = predict_rows(record["best_checkpoint"], root / "features.csv", root / "p.csv")
    accuracy = float((predicted["top1_class"].to_numpy() == frame["cultivar"].to_numpy()).mean())
    assert accuracy >= 0.95, accuracy  # raw, unscaled rows gave 0.33 before
    # the same rows with the columns in reverse order predict the same
    features[features.columns[::-1]].to_csv(root / "reversed.csv", index=False)
    again = predict_rows(record["best_checkpoint"], root / "reversed.csv", root / "r.csv")
    pd.testing.assert_frame_equal(predicted.drop(columns="input"), again.drop(columns="input"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.drop(columns=["alcohol"]), "missing columns ['alcohol']"),
        (lambda f: f.assign(colour=1.0), "unexpected columns ['colour']"),
        (lambda f: f.assign(alcohol="strong"), "'alcohol' (e.g. 'strong')"),
        (lambda f: f.iloc[:0], "holds no rows, only a header"),
        (
            lambda f: f.assign(alcohol=[np.inf, *f["alcohol"][1:]]),
            "columns ['alcohol'] hold infinite values (inf) in rows [0]",
        ),
        (
            lambda f: pd.concat([f, f[["alcohol"]]], axis=1),
            "columns ['alcohol'] appear more than once",
        ),
    ],
    ids=["missing", "unexpected", "text-in-numeric", "no-rows", "infinite", "repeated"],
)
def test_a_csv_that_does_not_match_is_one_clear_error(
    wine: tuple[Path, pd.DataFrame, dict], change, expected: str
) -> None:
    root, frame, record = wine
    bad = root / "bad.csv"
    change(frame.drop(columns=["cultivar"])).to_csv(bad, index=False)
    overrides = [f"ckpt_path={record['best_checkpoint']}", f"inputs={bad}"]
    with pytest.raises(DlzooError) as caught:  # the command line prints it as one line
        predict(compose_config(overrides, root / "bad_run", "predict"))
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_regression_predicts_in_the_targets_units(tmp_path: Path) -> None:
    """sklearn's diabetes data, unscaled (targets 25-346): predictions over all rows are in
    the target's units, with an R² close to the test R²."""
    from sklearn.datasets import load_diabetes
    from sklearn.metrics import r2_score

    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data.copy()
    frame["progression"] = data.target
    csv = tmp_path / "diabetes.csv"
    frame.to_csv(csv, index=False)
    record = train_on_csv(csv, "progression", tmp_path / "run")
    test_r2 = record["metrics"]["test/r2"]
    assert test_r2 > 0.3, record["metrics"]  # the trivial mean predictor has R² 0
    frame.drop(columns=["progression"]).to_csv(tmp_path / "x.csv", index=False)
    predicted = predict_rows(record["best_checkpoint"], tmp_path / "x.csv", tmp_path / "p.csv")
    values = predicted["prediction"].to_numpy()
    assert 20 < np.median(values) < 350  # the target's units, not standardised ones
    r2_all = r2_score(frame["progression"], values)
    assert abs(r2_all - test_r2) < 0.2, (r2_all, test_r2)


def test_predict_needs_the_checkpoint_not_the_training_csv(
    wine: tuple[Path, pd.DataFrame, dict],
) -> None:
    """The fitted scaler and columns come from the checkpoint: the training CSV may be gone."""
    root, frame, record = wine
    frame.drop(columns=["cultivar"]).head(5).to_csv(root / "five.csv", index=False)
    away = root / "wine.csv.away"
    (root / "wine.csv").rename(away)
    try:
        predicted = predict_rows(record["best_checkpoint"], root / "five.csv", root / "five_p.csv")
    finally:
        away.rename(root / "wine.csv")
    assert len(predicted) == 5


def test_case_2_eval_on_an_edited_training_csv_says_so(
    wine: tuple[Path, pd.DataFrame, dict], tmp_path: Path
) -> None:
    """Issue 31, case 2: the checkpoint keeps the training CSV's fingerprint; eval.py on
    the edited file refuses in one line, or evaluates with allow_changed_data=true and the
    record names the files it evaluated on."""
    from dlzoo.commands.evaluate import evaluate

    root, frame, record = wine
    assert record["data_files"]["data.path"]["bytes"] == (root / "wine.csv").stat().st_size
    ckpt = record["best_checkpoint"]
    original = (root / "wine.csv").read_bytes()
    try:
        frame.iloc[::-1].to_csv(root / "wine.csv", index=False)  # the same rows, reordered
        refused = run_script("eval.py", f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'a'}")
        assert refused.returncode == 2, refused.stderr[-2000:]
        last = refused.stderr.strip().splitlines()[-1]
        assert f"data.path {root / 'wine.csv'} changed since training" in last, last
        assert "allow_changed_data=true" in last and "Traceback" not in refused.stderr
        cfg = compose_config(
            [f"ckpt_path={ckpt}", "allow_changed_data=true"], tmp_path / "b", "eval"
        )
        evaluated = evaluate(cfg)
    finally:
        (root / "wine.csv").write_bytes(original)
    assert evaluated["data_files"]["changed_since_training"]
    assert "test/acc" in evaluated["metrics"]
    unchanged = evaluate(compose_config([f"ckpt_path={ckpt}"], tmp_path / "c", "eval"))
    assert unchanged["data_files"]["changed_since_training"] == []


def test_eval_on_changed_data_applies_the_checkpoints_preprocessing(
    wine: tuple[Path, pd.DataFrame, dict], tmp_path: Path
) -> None:
    """A newcomer's report: with allow_changed_data=true, eval refitted the scaling and
    one-hot columns on the edited file, and a dropped column or a new category ended in a
    shape-mismatch traceback. The checkpoint's preprocessing is applied instead."""
    from dlzoo.commands.evaluate import evaluate

    root, frame, record = wine
    ckpt = record["best_checkpoint"]
    original = (root / "wine.csv").read_bytes()

    def evaluate_on(changed: pd.DataFrame, name: str) -> dict:
        changed.to_csv(root / "wine.csv", index=False)
        cfg = compose_config([f"ckpt_path={ckpt}", "allow_changed_data=true"], tmp_path / name,
                             "eval")  # fmt: skip
        return evaluate(cfg)

    try:
        with pytest.raises(DlzooError, match=r"missing columns \['alcohol'\]"):
            evaluate_on(frame.drop(columns=["alcohol"]), "a")
        unknown = frame.assign(cultivar=frame["cultivar"].where(frame.index > 3, "class_9"))
        with pytest.raises(
            DlzooError, match=r"classes the model was not trained on: \['class_9'\]"
        ):
            evaluate_on(unknown, "b")
        features = frame.columns.drop("cultivar")
        tenfold = frame.assign(**{c: frame[c] * 10 for c in features})
        scaled = evaluate_on(tenfold, "c")["metrics"]["test/acc"]
    finally:
        (root / "wine.csv").write_bytes(original)
    # refitted, the scaling would have undone the tenfold values; applied, they mislead
    assert scaled < record["metrics"]["test/acc"] - 0.2, (scaled, record["metrics"])


def test_eval_from_another_folder_finds_a_relative_training_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer's report: trained with data.path=mydata.csv, eval.py from another folder
    stopped at "data.path='mydata.csv': no such file". The checkpoint keeps the path
    absolute."""
    from sklearn.datasets import load_iris

    from dlzoo.commands.evaluate import evaluate
    from dlzoo.commands.train import train

    load_iris(as_frame=True).frame.to_csv(tmp_path / "mydata.csv", index=False)
    monkeypatch.chdir(tmp_path)
    data = ["data=tabular_csv", "data.path=mydata.csv", "data.target=target",
            "data.task=classification"]  # fmt: skip
    record = train(compose_config(["model=mlp", *data, "trainer.max_epochs=2", *QUIET],
                                  tmp_path / "run"))  # fmt: skip
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = compose_config([f"ckpt_path={record['tested_checkpoint']}"], tmp_path / "e", "eval")
    assert evaluate(cfg)["metrics"]["test/acc"] == record["metrics"]["test/acc"]
