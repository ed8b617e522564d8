"""Your own CSV file as a dataset, preprocessed the way the curriculum teaches with pandas:
standardise numeric columns, fill their missing values with the training mean, one-hot
encode categorical columns (missing values get their own indicator), all fitted on the
training split only. Regression targets are standardised too (predictions come back in the
target's units). Everything fitted is this datamodule's state, saved in checkpoints, so
prediction on new rows applies exactly the training run's preprocessing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from dlzoo.data.base import InMemoryDataModule, Split, class_targets, value_targets
from dlzoo.data.spec import ClassificationSpec, DataSpec, RegressionSpec
from dlzoo.data.tabular import check_split_fractions
from dlzoo.errors import ConfigError, DataError

TASKS = ("auto", "regression", "classification")
#: a numeric target of at most this many distinct whole values may be classes (warned)
MAX_CLASS_LIKE = 10
#: the fewest rows a split may have (R² and a validation loss need two)
MIN_SPLIT_ROWS = 2

log = logging.getLogger(__name__)


def rows_count(rows: dict[str, np.ndarray]) -> dict[str, int]:
    return {name: len(idx) for name, idx in rows.items()}


@dataclass
class TablePreprocessor:
    """Column statistics learned from the training rows, applied to every split."""

    columns: list[str]  # the feature columns, in the training file's order
    numeric: list[str]
    categorical: list[str]
    means: list[float]
    stds: list[float]
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
        return cls(
            list(frame.columns),
            numeric,
            categorical,
            means.fillna(0.0).tolist(),
            stds.tolist(),
            categories,
        )

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column in self.categorical:
            names += [f"{column}={v}" for v in self.categories[column]] + [f"{column}=<missing>"]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardised numerics (missing -> 0, the training mean) and one-hot categoricals;
        a category never seen in training is all zeros."""
        numbers = numeric_columns(frame, self.numeric)
        means = pd.Series(self.means, index=self.numeric, dtype="float64")
        stds = pd.Series(self.stds, index=self.numeric, dtype="float64")
        parts = [((numbers - means) / stds).fillna(0.0)]
        for column in self.categorical:
            values = frame[column]
            text = values.astype(str)
            onehot = {
                f"{column}={v}": (text == v) & values.notna() for v in self.categories[column]
            }
            onehot[f"{column}=<missing>"] = values.isna()
            parts.append(pd.DataFrame(onehot, index=frame.index))
        return pd.concat(parts, axis=1).to_numpy(dtype=np.float32, copy=True)  # writable


def infinite_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric columns holding ``inf`` or ``-inf`` (a model turns them into NaN)."""
    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and np.isinf(frame[c].to_numpy(float)).any()
    ]


def numeric_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` as float64, or one error naming each column that holds text."""
    bad = []
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            converted = pd.to_numeric(frame[column], errors="coerce")
            if (converted.isna() & frame[column].notna()).any():
                bad.append(column)
    if bad:
        examples = {
            c: str(frame[c][pd.to_numeric(frame[c], errors="coerce").isna()].iloc[0]) for c in bad
        }
        shown = ", ".join(f"{c!r} (e.g. {v!r})" for c, v in examples.items())
        raise DataError(f"numeric feature columns hold text: {shown}")
    return frame[columns].apply(pd.to_numeric).astype("float64")


class CsvTableDataModule(InMemoryDataModule):
    """A CSV file with one row per example and a target column.

    Args:
        path: the CSV file.
        target: name of the target column.
        task: ``auto`` (text or true/false targets are classes, numbers are regression),
            ``regression`` or ``classification`` (classes are the target's distinct values).
        drop_columns: columns that are not features (e.g. an ``Id``).
        categorical_columns: columns to one-hot encode; ``null`` takes every non-numeric one.
        log_target: regress on ``log(target)`` (targets must be positive), as d2l's house
            price chapter does: errors then count relatively, and RMSE is the log-RMSE.
        standardize_target: train a regression on ``(y - mean) / std`` of the training
            targets (metrics and predictions stay in the target's units).
        test_size: fraction of rows held out for testing.
        val_fraction: fraction of the remaining rows held out for validation.
        random_state: seed of both splits.
    """

    def __init__(
        self,
        path: str | None = None,
        target: str | None = None,
        task: str = "auto",
        drop_columns: Sequence[str] = (),
        categorical_columns: Sequence[str] | None = None,
        log_target: bool = False,
        standardize_target: bool = True,
        test_size: float = 0.2,
        val_fraction: float = 0.1,
        random_state: int = 42,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not path:
            raise ConfigError("data=tabular_csv needs the CSV file: data.path=<file.csv>")
        if not target:
            raise ConfigError("data=tabular_csv needs the target column: data.target=<column>")
        if task not in TASKS:
            raise ConfigError(f"data.task={task!r} is unknown; choose one of {list(TASKS)}")
        if log_target and task == "classification":
            raise ConfigError("data.log_target=true needs data.task=regression (or auto)")
        check_split_fractions(test_size, val_fraction)
        self.path = Path(path)
        self.target = target
        self.task_option = task
        self.drop_columns = list(drop_columns)
        self.categorical_columns = (
            None if categorical_columns is None else list(categorical_columns)
        )
        self.log_target = log_target
        self.standardize_target = standardize_target
        self.test_size = test_size
        self.val_fraction = val_fraction
        self.random_state = random_state
        self._state: dict[str, Any] = {}
        self._splits: dict[str, Split] | None = None

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
        if missing.any():
            log.warning(
                "%s: %d of %d rows have no %s value and are left out",
                self.path.name,
                int(missing.sum()),
                len(frame),
                self.target,
            )
        frame = frame[~missing].reset_index(drop=True)
        infinite = infinite_columns(frame)
        if infinite:
            raise DataError(
                f"{self.path.name}: columns {infinite} hold infinite values (inf); replace them "
                f"with numbers or leave the cells empty (gaps are filled with the training mean)"
            )
        return frame

    def resolved_task(self, column: pd.Series) -> str:
        if self.task_option != "auto":
            return self.task_option
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if not numeric and self.log_target:
            raise ConfigError(
                f"data.log_target=true needs a numeric target; {self.target!r} holds text"
            )
        if not numeric:
            log.info("data.task=auto: %r holds text, so the task is classification", self.target)
            return "classification"
        values = column.dropna()
        whole = bool((values == values.round()).all()) if len(values) else False
        distinct = values.nunique()
        if whole and 2 <= distinct <= MAX_CLASS_LIKE:  # 0/1/2, what scikit-learn's as_frame writes
            log.warning(
                "data.task=auto: %r holds numbers, so the task is regression; its %d distinct "
                "whole values (%s) look like classes: data.task=classification trains a "
                "classifier", self.target, distinct, ", ".join(map(str, sorted(values.unique())[:5])),
            )  # fmt: skip
        else:
            log.info("data.task=auto: %r holds numbers, so the task is regression", self.target)
        return "regression"

    def targets(
        self, column: pd.Series, task: str, known: Sequence[str] | None = None
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """Class indices (of ``known`` classes, a checkpoint's, when given) or values."""
        if task == "classification" and known:
            new = sorted(set(column.astype(str)) - set(known))
            if new:
                raise DataError(
                    f"data.target={self.target!r} holds classes the model was not trained on: "
                    f"{new[:5]}; its classes: {', '.join(known)}"
                )
            index = {c: i for i, c in enumerate(known)}
            return column.astype(str).map(index).to_numpy(dtype=np.int64), tuple(known)
        if task == "classification":
            classes = sorted(column.astype(str).unique().tolist())
            if len(classes) < 2:
                raise DataError(
                    f"data.target={self.target!r} holds one class ({classes[0] if classes else 'none'}) "
                    f"in {len(column)} rows: a classifier needs two or more; choose another "
                    f"column (data.target=...)"
                )
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
        return y, ()

    def _split(self, y: np.ndarray, task: str) -> dict[str, np.ndarray]:
        idx = np.arange(len(y))
        stratify = y if task == "classification" else None
        try:
            train, test = train_test_split(
                idx, test_size=self.test_size, random_state=self.random_state, stratify=stratify
            )
        except ValueError:  # classes too rare to stratify (or too few rows: below)
            train, test = self._split_or_explain(idx, self.test_size, len(y))
        val = test
        if self.val_fraction > 0:
            train, val = self._split_or_explain(train, self.val_fraction, len(y))
        return {"train": train, "val": val, "test": test}

    def _split_or_explain(
        self, idx: np.ndarray, fraction: float, total: int
    ) -> tuple[np.ndarray, np.ndarray]:
        try:
            return train_test_split(idx, test_size=fraction, random_state=self.random_state)
        except ValueError as err:
            raise DataError(
                f"{self.path.name} has {total} rows: too few to split into train/val/test with "
                f"data.test_size={self.test_size} and data.val_fraction={self.val_fraction} "
                f"({err})"
            ) from None

    def prepare(self) -> dict[str, Split]:
        """Read the file, split it, fit the preprocessing on the training rows."""
        if self._splits is not None:
            return self._splits
        frame = self.read()
        restored = self.restored_state  # a checkpoint's preprocessing: applied, not refitted
        task = restored["task"] if restored else self.resolved_task(frame[self.target])
        y, classes = self.targets(frame[self.target], task, restored.get("classes"))
        x = frame.drop(columns=[self.target])
        if restored:
            self.check_columns(x)
        if x.shape[1] == 0:
            raise DataError(f"{self.path.name} has no feature columns besides the target")
        rows = self._split(y, task)
        too_small = {name: len(idx) for name, idx in rows.items() if len(idx) < MIN_SPLIT_ROWS}
        if too_small:
            raise DataError(
                f"{self.path.name} has {len(y)} rows: too few to split into train/val/test "
                f"(data.test_size={self.test_size}, data.val_fraction={self.val_fraction} give "
                f"{', '.join(f'{k} {v}' for k, v in rows_count(rows).items())}; each needs at "
                f"least {MIN_SPLIT_ROWS} rows)"
            )
        if restored:
            pre = TablePreprocessor(**restored["preprocessor"])
            mean, std = float(restored["target_mean"]), float(restored["target_std"])
        else:
            pre = TablePreprocessor.fit(x.iloc[rows["train"]], self.categorical_columns)
            mean, std = 0.0, 1.0
        if task == "regression" and self.standardize_target and not restored:
            train_y = y[rows["train"]]
            mean = float(train_y.mean())
            std = float(train_y.std()) or 1.0
        self._state = {
            "task": task,
            "preprocessor": asdict(pre),
            "classes": list(classes),
            "target_mean": mean,
            "target_std": std,
        }
        splits = {}
        for name, idx in rows.items():
            features = torch.as_tensor(pre.transform(x.iloc[idx][pre.columns]))
            if task == "classification":
                splits[name] = (features, class_targets(y[idx]))
            else:
                splits[name] = (features, value_targets((y[idx] - mean) / std))
        self._splits = splits
        return splits

    # -- the fitted state: in checkpoints, and what prediction uses ---------------------------
    def _fitted(self) -> dict[str, Any]:
        if self._state:
            return self._state
        if self.restored_state:
            return self.restored_state
        self.prepare()
        return self._state

    def state_dict(self) -> dict[str, Any]:
        return dict(self._fitted())

    @property
    def preprocessor(self) -> TablePreprocessor:
        return TablePreprocessor(**self._fitted()["preprocessor"])

    @property
    def feature_names(self) -> list[str]:
        return self.preprocessor.feature_names

    @property
    def spec(self) -> DataSpec:
        """Known from the fitted state: the file is read unless a checkpoint gave it."""
        state = self._fitted()
        shape = (len(self.preprocessor.feature_names),)
        if state["task"] == "classification":
            return ClassificationSpec(shape, tuple(state["classes"]))
        return RegressionSpec(
            shape,
            target_mean=float(state["target_mean"]),
            target_std=float(state["target_std"]),
            log_target=bool(self.log_target),
        )

    def load_splits(self) -> dict[str, Split]:
        return self.prepare()

    def rows_from_frame(self, frame: pd.DataFrame) -> torch.Tensor:
        """New rows preprocessed like the training rows. Columns are matched by name (any
        order); the target and dropped columns are ignored if present; a missing or an
        unexpected column is an error that names it."""
        pre = self.preprocessor
        self.check_columns(frame)
        if frame.empty:
            raise DataError("the CSV holds no rows, only a header: nothing to predict")
        infinite = infinite_columns(frame[pre.columns])
        if infinite:
            rows = sorted({int(i) for c in infinite for i in np.flatnonzero(np.isinf(frame[c]))})
            raise DataError(
                f"columns {infinite} hold infinite values (inf) in rows {rows[:10]}; replace them "
                f"with numbers or leave the cells empty (gaps are filled with the training mean)"
            )
        return torch.as_tensor(pre.transform(frame[pre.columns]))

    def check_columns(self, frame: pd.DataFrame) -> None:
        """The training file's feature columns, matched by name; the target and dropped
        columns may be there too."""
        pre = self.preprocessor
        ignored = {self.target, *self.drop_columns}
        missing = [c for c in pre.columns if c not in frame.columns]
        unexpected = [c for c in frame.columns if c not in pre.columns and c not in ignored]
        problems = []
        if missing:
            problems.append(f"missing columns {missing}")
        if unexpected:
            problems.append(f"unexpected columns {unexpected}")
        if problems:
            raise DataError(
                f"the CSV does not match the training data: {' and '.join(problems)}. The model "
                f"takes the columns: {', '.join(pre.columns)}"
            )
