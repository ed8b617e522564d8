"""The tabular_csv datamodule: a user's CSV with gaps and categories, fitted on train only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dlzoo.commands.train import train
from dlzoo.data.csv_table import CsvTableDataModule, TablePreprocessor
from dlzoo.errors import ConfigError, DataError
from table_data import write_house_csv


@pytest.fixture
def house_csv(tmp_path: Path) -> Path:
    return write_house_csv(tmp_path / "houses.csv")


def test_preprocessing_is_fitted_on_train_and_fills_gaps(house_csv: Path) -> None:
    dm = CsvTableDataModule(
        path=str(house_csv), target="SalePrice", drop_columns=["Id"], log_target=True
    )
    spec = dm.spec
    names = dm.feature_names
    # 2 numeric + zone (A, B, C, missing) + street (gravel, paved, missing)
    assert names[:2] == ["area", "rooms"]
    assert {"zone=A", "zone=B", "zone=C", "zone=<missing>", "street=paved"} <= set(names)
    assert spec.task == "regression" and spec.input_shape == (len(names),)
    dm.setup()
    sizes = dm.split_sizes()
    assert sizes == {"train": 86, "val": 10, "test": 24}
    x_train, y_train = dm.splits["train"]
    assert not torch.isnan(x_train).any()
    # numerics standardised with training statistics: mean 0 over the observed values
    area = x_train[:, 0]
    assert abs(float(area.mean())) < 0.05 and abs(float(area.std()) - 1) < 0.1
    # one-hot rows: exactly one indicator per categorical column
    zone_cols = [i for i, n in enumerate(names) if n.startswith("zone=")]
    assert torch.all(x_train[:, zone_cols].sum(1) == 1)
    # log target
    raw = pd.read_csv(house_csv)["SalePrice"]
    assert float(y_train.max()) <= np.log(raw.max()) + 1e-4
    assert y_train.shape[1] == 1


def test_missing_value_becomes_training_mean_and_unseen_category_zeros() -> None:
    train = pd.DataFrame({"a": [1.0, 3.0, np.nan], "c": ["x", "y", None]})
    pre = TablePreprocessor.fit(train, None)
    assert pre.numeric == ["a"] and pre.categorical == ["c"]
    other = pd.DataFrame({"a": [np.nan, 2.0], "c": ["z", "x"]})  # z never seen in training
    out = pre.transform(other)
    assert out[0, 0] == 0.0  # a gap is the training mean (0 after standardising)
    assert out[1, 0] == 0.0  # 2.0 is the training mean of [1, 3]
    assert out[0, 1:].tolist() == [0.0, 0.0, 0.0]  # unseen "z": all zeros
    assert out[1, 1:].tolist() == [1.0, 0.0, 0.0]


def test_missing_target_column_is_a_clear_error(house_csv: Path) -> None:
    dm = CsvTableDataModule(path=str(house_csv), target="Price")
    with pytest.raises(DataError, match=r"data.target='Price' is not a column.*SalePrice"):
        dm.spec  # noqa: B018


def test_bad_task_and_missing_file_are_clear_errors(tmp_path: Path, house_csv: Path) -> None:
    with pytest.raises(ConfigError, match="data.task='ranking'"):
        CsvTableDataModule(path=str(house_csv), target="SalePrice", task="ranking")
    with pytest.raises(DataError, match="no such file"):
        CsvTableDataModule(path=str(tmp_path / "nope.csv"), target="y").spec  # noqa: B018


def test_classification_target(house_csv: Path) -> None:
    dm = CsvTableDataModule(path=str(house_csv), target="street", task="classification")
    assert dm.spec.task == "multiclass" and dm.spec.class_names == ("gravel", "paved")
    dm.setup()
    assert dm.splits["train"][1].dtype == torch.long


def test_tabular_csv_trains_from_the_config(make_cfg, house_csv: Path) -> None:
    cfg = make_cfg(
        "experiment=tabular_mlp",
        f"data.path={house_csv}",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
    )
    record = train(cfg)
    assert record["status"] == "completed"
    assert record["task"] == "regression"
    assert record["metrics"]["test/rmse"] is not None


@pytest.mark.parametrize("rows", [1, 3, 6])
def test_a_csv_too_small_to_split_is_one_clear_error(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "tiny.csv"
    pd.DataFrame({"area": np.arange(rows) * 10.0, "SalePrice": np.arange(rows) * 3.0}).to_csv(
        path, index=False
    )
    dm = CsvTableDataModule(path=str(path), target="SalePrice")
    with pytest.raises(DataError, match=rf"has {rows} rows: too few to split"):
        dm.setup()


def test_infinite_feature_values_are_named(tmp_path: Path) -> None:
    path = write_house_csv(tmp_path / "houses.csv")
    frame = pd.read_csv(path)
    frame.loc[3, "rooms"] = np.inf
    frame.to_csv(path, index=False)
    dm = CsvTableDataModule(path=str(path), target="SalePrice", drop_columns=["Id"])
    with pytest.raises(DataError, match=r"columns \['rooms'\] hold infinite values"):
        dm.setup()


def test_rows_without_a_target_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_house_csv(tmp_path / "houses.csv")
    frame = pd.read_csv(path)
    frame.loc[[1, 5, 9], "SalePrice"] = np.nan
    frame.to_csv(path, index=False)
    dm = CsvTableDataModule(path=str(path), target="SalePrice", drop_columns=["Id"])
    dm.setup()
    assert "3 of 120 rows have no SalePrice value and are left out" in caplog.text
    assert sum(dm.split_sizes().values()) == 117


def test_a_text_target_implies_classification(tmp_path: Path) -> None:
    """``data.task`` defaults to auto: text labels are classes, numbers are regressed."""
    path = tmp_path / "pets.csv"
    rows = [f"{i % 7},{(i * 3) % 5},{'cat' if i % 2 else 'dog'}" for i in range(40)]
    path.write_text("a,b,kind\n" + "\n".join(rows) + "\n")
    dm = CsvTableDataModule(path=str(path), target="kind")
    assert dm.spec.task == "multiclass" and dm.spec.class_names == ("cat", "dog")
    assert CsvTableDataModule(path=str(path), target="a").spec.task == "regression"
    explicit = CsvTableDataModule(path=str(path), target="a", task="classification")
    assert explicit.spec.task == "multiclass"
