"""Your own CSV file as a dataset, preprocessed the way the curriculum teaches with pandas:
standardise numeric columns, fill their missing values with the training mean, one-hot
encode categorical columns (missing values get their own indicator), all fitted on the
training split only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from dlzoo.data.base import InMemoryDataModule, Split, as_targets
from dlzoo.data.spec import DataSpec
from dlzoo.errors import ConfigError, DataError

TASKS = ("auto", "regression", "classification")


@dataclass
class TablePreprocessor:
    """Column statistics learned from the training rows, applied to every split."""

    numeric: list[str]
    categorical: list[str]
    means: pd.Series
    stds: pd.Series
    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, frame: pd.DataFrame, categorical: Sequence[str] | None) -> TablePreprocessor:
        if categorical is None:
            categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        categorical = list(categorical)
        numeric = [c for c in frame.columns if c not in categorical]
        values = frame[numeric].astype("float64")
        means = values.mean()
        stds = values.std().replace(0.0, 1.0).fillna(1.0)
        categories = {
            c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in categorical
        }
        return cls(numeric, categorical, means.fillna(0.0), stds, categories)

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column in self.categorical:
            names += [f"{column}={v}" for v in self.categories[column]] + [f"{column}=<missing>"]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardised numerics (missing -> 0, the training mean) and one-hot categoricals;
        a category never seen in training is all zeros."""
        parts = [((frame[self.numeric].astype("float64") - self.means) / self.stds).fillna(0.0)]
        for column in self.categorical:
            values = frame[column]
            text = values.astype(str)
            onehot = {
                f"{column}={v}": (text == v) & values.notna() for v in self.categories[column]
            }
            onehot[f"{column}=<missing>"] = values.isna()
            parts.append(pd.DataFrame(onehot, index=frame.index))
        return pd.concat(parts, axis=1).to_numpy(dtype=np.float32)


class CsvTableDataModule(InMemoryDataModule):
    """A CSV file with one row per example and a target column.

    Args:
        path: the CSV file.
        target: name of the target column.
        task: ``regression``, ``classification`` (classes are the target's distinct values)
            or ``auto``: classification when the target column holds text, else regression.
        drop_columns: columns that are not features (e.g. an ``Id``).
        categorical_columns: columns to one-hot encode; ``null`` takes every non-numeric one.
        log_target: regress on ``log(target)`` (targets must be positive), as d2l's house
            price chapter does: errors then count relatively, and RMSE is the log-RMSE.
        test_size: fraction of rows held out for testing.
        val_fraction: fraction of the remaining rows held out for validation.
        random_state: seed of both splits.
    """

    def __init__(
        self,
        path: str,
        target: str,
        task: str = "auto",
        drop_columns: Sequence[str] = (),
        categorical_columns: Sequence[str] | None = None,
        log_target: bool = False,
        test_size: float = 0.2,
        val_fraction: float = 0.1,
        random_state: int = 42,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if task not in TASKS:
            raise ConfigError(f"data.task={task!r} is unknown; choose one of {list(TASKS)}")
        if log_target and task == "classification":
            raise ConfigError("data.log_target=true needs data.task=regression")
        self.path = Path(path)
        self.target = target
        self.task = task
        self.drop_columns = list(drop_columns)
        self.categorical_columns = (
            None if categorical_columns is None else list(categorical_columns)
        )
        self.log_target = log_target
        self.test_size = test_size
        self.val_fraction = val_fraction
        self.random_state = random_state
        self._prepared: tuple[DataSpec, dict[str, Split]] | None = None

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> pd.DataFrame:
        if not self.path.is_file():
            raise DataError(f"data.path={str(self.path)!r}: no such file")
        try:
            frame = pd.read_csv(self.path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
            raise DataError(f"cannot read {self.path} as CSV: {err}") from err
        columns = list(frame.columns)
        if self.target not in columns:
            shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
            raise DataError(
                f"data.target={self.target!r} is not a column of {self.path.name}; "
                f"its columns are: {shown}"
            )
        unknown = [
            c for c in [*self.drop_columns, *(self.categorical_columns or [])] if c not in columns
        ]
        if unknown:
            raise DataError(f"columns {unknown} named in data config are not in {self.path.name}")
        frame = frame.drop(columns=self.drop_columns)
        missing = frame[self.target].isna()
        if missing.all():
            raise DataError(f"data.target={self.target!r} has no values in {self.path.name}")
        return frame[~missing].reset_index(drop=True)

    def targets(self, column: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
        if self.task == "classification":
            classes = sorted(column.astype(str).unique().tolist())
            index = {c: i for i, c in enumerate(classes)}
            return column.astype(str).map(index).to_numpy(dtype=np.int64), tuple(classes)
        try:
            y = column.astype("float64").to_numpy()
        except (TypeError, ValueError) as err:
            raise DataError(
                f"data.target={self.target!r} is not numeric ({err}); "
                f"use data.task=classification for a categorical target"
            ) from err
        if self.log_target:
            if (y <= 0).any():
                raise DataError(
                    f"data.log_target=true needs positive targets, but {self.target!r} has "
                    f"{int((y <= 0).sum())} values <= 0"
                )
            y = np.log(y)
        return y.astype(np.float32), ()

    def prepare(self) -> tuple[DataSpec, dict[str, Split]]:
        if self._prepared is not None:
            return self._prepared
        frame = self.read()
        if self.task == "auto":  # text labels can only be classes
            numeric = pd.api.types.is_numeric_dtype(frame[self.target])
            is_bool = pd.api.types.is_bool_dtype(frame[self.target])
            self.task = "regression" if numeric and not is_bool else "classification"
            if self.log_target and self.task == "classification":
                raise ConfigError(
                    f"data.log_target=true needs a numeric target; {self.target!r} holds text"
                )
        y, classes = self.targets(frame[self.target])
        x = frame.drop(columns=[self.target])
        if x.shape[1] == 0:
            raise DataError(f"{self.path.name} has no feature columns besides the target")
        idx = np.arange(len(frame))
        stratify = y if self.task == "classification" else None
        try:
            train_idx, test_idx = train_test_split(
                idx, test_size=self.test_size, random_state=self.random_state, stratify=stratify
            )
        except ValueError:  # classes too rare to stratify
            train_idx, test_idx = train_test_split(
                idx, test_size=self.test_size, random_state=self.random_state
            )
        if self.val_fraction > 0:
            train_idx, val_idx = train_test_split(
                train_idx, test_size=self.val_fraction, random_state=self.random_state
            )
        else:
            val_idx = test_idx
        pre = TablePreprocessor.fit(x.iloc[train_idx], self.categorical_columns)
        task = "regression" if self.task == "regression" else "multiclass"
        splits = {}
        for name, rows in (("train", train_idx), ("val", val_idx), ("test", test_idx)):
            features = torch.as_tensor(pre.transform(x.iloc[rows]))
            splits[name] = (features, as_targets(y[rows], task))
        if task == "regression":
            spec = DataSpec("regression", (len(pre.feature_names),), num_targets=1)
        else:
            spec = DataSpec(
                "multiclass",
                (len(pre.feature_names),),
                num_classes=len(classes),
                class_names=classes,
            )
        self.feature_names = pre.feature_names
        self._prepared = (spec, splits)
        return self._prepared

    @property
    def spec(self) -> DataSpec:
        """Needs the file: the one-hot columns are known only after reading the training rows."""
        return self.prepare()[0]

    def load_splits(self) -> dict[str, Split]:
        return self.prepare()[1]
