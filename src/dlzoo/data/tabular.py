"""Feature-matrix datasets: scikit-learn's Iris and California housing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dlzoo.data.base import InMemoryDataModule, Split, class_targets, value_targets
from dlzoo.data.spec import ClassificationSpec, RegressionSpec
from dlzoo.errors import ConfigError, DataError


def split_rows(
    n: int, test_size: float, val_fraction: float, random_state: int
) -> dict[str, np.ndarray]:
    """The curriculum's split (``train_test_split``, fixed ``random_state``) of row indices,
    then a validation part carved from the training part (``val_fraction`` 0: validate on
    the test split, as the notebooks do)."""
    # imported here: scikit-learn takes ~0.5 s to import and only tabular data needs it
    from sklearn.model_selection import train_test_split

    check_split_fractions(test_size, val_fraction)
    rows = np.arange(n)
    train, test = train_test_split(rows, test_size=test_size, random_state=random_state)
    val = test
    if val_fraction > 0:
        train, val = train_test_split(train, test_size=val_fraction, random_state=random_state)
    return {"train": train, "val": val, "test": test}


def check_split_fractions(test_size: float, val_fraction: float) -> None:
    if not 0 < test_size < 1:
        raise ConfigError(f"data.test_size={test_size!r}: must be between 0 and 1 (exclusive)")
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"data.val_fraction={val_fraction!r}: must be in [0, 1)")


class SklearnTabularDataModule(InMemoryDataModule):
    """Shared split/scale options of the scikit-learn datasets.

    Args:
        test_size: fraction held out for testing (curriculum: 0.2).
        val_fraction: fraction of the training part held out for validation; ``0`` validates
            on the test split like the notebooks do.
        random_state: seed of both splits (curriculum: 42).
        standardize: fit a ``StandardScaler`` on the training part and apply it everywhere;
            its means and scales are this datamodule's state (saved in checkpoints).
    """

    FEATURES: tuple[str, ...] = ()

    def __init__(
        self,
        test_size: float = 0.2,
        val_fraction: float = 0.1,
        random_state: int = 42,
        standardize: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_split_fractions(test_size, val_fraction)
        self.test_size = test_size
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.standardize = standardize
        self._scaler: dict[str, list[float]] = {}

    @property
    def validates_on_test(self) -> bool:
        return self.val_fraction == 0

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def targets(self, y: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def load_splits(self) -> dict[str, Split]:
        x, y = self.raw_arrays()
        rows = split_rows(len(x), self.test_size, self.val_fraction, self.random_state)
        if self.standardize:
            train = x[rows["train"]].astype(np.float64)
            scale = train.std(axis=0)
            self._scaler = {
                "mean": train.mean(axis=0).tolist(),
                "scale": np.where(scale > 0, scale, 1.0).tolist(),
            }
        return {split: (self.scale(x[idx]), self.targets(y[idx])) for split, idx in rows.items()}

    def scale(self, x: np.ndarray) -> torch.Tensor:
        state = self._scaler or self.restored_state.get("scaler") or {}
        if state:
            x = (x - np.asarray(state["mean"])) / np.asarray(state["scale"])
        return torch.as_tensor(x, dtype=torch.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"features": list(self.FEATURES), "scaler": dict(self._scaler)}

    def rows_from_frame(self, frame: pd.DataFrame) -> torch.Tensor:
        """New feature rows, scaled like the training data: columns matched by name (in
        any order) when the CSV has a header of feature names, else taken in order."""
        if self.standardize and not (self._scaler or self.restored_state.get("scaler")):
            raise DataError("this checkpoint holds no fitted scaler; retrain with this dlzoo")
        names = list(self.FEATURES)
        if set(names) <= set(frame.columns):
            x = frame[names]
        elif len(frame.columns) == len(names) and not set(frame.columns) & set(names):
            x = frame
        else:
            missing = [c for c in names if c not in frame.columns]
            raise DataError(
                f"the CSV lacks feature columns {missing}; the model takes {len(names)} "
                f"features: {', '.join(names)}"
            )
        return self.scale(numeric_matrix(x))


def numeric_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The frame as float64, or an error naming the columns that are not numbers."""
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(f"columns {bad} hold values that are not numbers")
    return frame.to_numpy(dtype=np.float64)


class IrisDataModule(SklearnTabularDataModule):
    """Fisher's Iris: 150 flowers, 4 measurements, 3 species (ships with scikit-learn)."""

    CLASSES = ("setosa", "versicolor", "virginica")
    FEATURES = (
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    )

    @property
    def spec(self) -> ClassificationSpec:
        return ClassificationSpec((4,), self.CLASSES)

    def targets(self, y: np.ndarray) -> torch.Tensor:
        return class_targets(y)

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_iris

        data = load_iris()
        return data.data.astype(np.float32), data.target


class CaliforniaHousingDataModule(SklearnTabularDataModule):
    """California housing (20,640 districts, 8 features, median house value in $100k).

    Loaded with ``fetch_california_housing(data_home=<data_dir>/scikit_learn_data)``, so a
    mirror in scikit-learn's cache layout is used as is; without it scikit-learn downloads.
    """

    def __init__(self, data_dir: str = "data", download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_dir = data_dir
        self.download = download

    FEATURES = (
        "MedInc",
        "HouseAge",
        "AveRooms",
        "AveBedrms",
        "Population",
        "AveOccup",
        "Latitude",
        "Longitude",
    )

    @property
    def spec(self) -> RegressionSpec:
        return RegressionSpec((8,))

    def targets(self, y: np.ndarray) -> torch.Tensor:
        return value_targets(y)

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import fetch_california_housing

        home = Path(self.data_dir) / "scikit_learn_data"
        try:
            data = fetch_california_housing(data_home=str(home), download_if_missing=self.download)
        except OSError as err:  # missing file and no download (or no network)
            raise DataError(
                f"California housing is not in {home} and could not be downloaded ({err}). "
                f"Put scikit-learn's cache file 'cal_housing_py3.pkz' in {home}, or set "
                f"DLZOO_DATA_DIR / paths.data_dir to a folder whose 'scikit_learn_data' holds it."
            ) from err
        return data.data.astype(np.float32), data.target.astype(np.float32)
