"""Feature-matrix datasets: scikit-learn's Iris and California housing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dlzoo.data.base import InMemoryDataModule, Split, as_targets
from dlzoo.data.spec import DataSpec
from dlzoo.errors import DataError


def split_and_scale(
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    test_size: float,
    val_fraction: float,
    random_state: int,
    standardize: bool,
) -> dict[str, Split]:
    """The curriculum's split (``train_test_split``, fixed ``random_state``), then a
    validation part carved from the training part; the scaler sees the training part only."""
    # imported here: scikit-learn takes ~0.5 s to import and only tabular data needs it
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=random_state
    )
    if val_fraction > 0:
        x_train, x_val, y_train, y_val = train_test_split(
            x_train, y_train, test_size=val_fraction, random_state=random_state
        )
    else:  # no separate validation data: validate on the test split, as the notebooks do
        x_val, y_val = x_test, y_test
    if standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_val, x_test = (scaler.transform(a) for a in (x_train, x_val, x_test))

    def pack(a: np.ndarray, b: np.ndarray) -> Split:
        return torch.as_tensor(a, dtype=torch.float32), as_targets(b, task)

    return {
        "train": pack(x_train, y_train),
        "val": pack(x_val, y_val),
        "test": pack(x_test, y_test),
    }


class SklearnTabularDataModule(InMemoryDataModule):
    """Shared split/scale options of the scikit-learn datasets.

    Args:
        test_size: fraction held out for testing (curriculum: 0.2).
        val_fraction: fraction of the training part held out for validation; ``0`` validates
            on the test split like the notebooks do.
        random_state: seed of both splits (curriculum: 42).
        standardize: fit a ``StandardScaler`` on the training part and apply it everywhere.
    """

    def __init__(
        self,
        test_size: float = 0.2,
        val_fraction: float = 0.1,
        random_state: int = 42,
        standardize: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.test_size = test_size
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.standardize = standardize

    @property
    def validates_on_test(self) -> bool:
        return self.val_fraction == 0

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def load_splits(self) -> dict[str, Split]:
        x, y = self.raw_arrays()
        return split_and_scale(
            x,
            y,
            self.spec.task,
            self.test_size,
            self.val_fraction,
            self.random_state,
            self.standardize,
        )


class IrisDataModule(SklearnTabularDataModule):
    """Fisher's Iris: 150 flowers, 4 measurements, 3 species (ships with scikit-learn)."""

    CLASSES = ("setosa", "versicolor", "virginica")

    @property
    def spec(self) -> DataSpec:
        return DataSpec("multiclass", (4,), num_classes=3, class_names=self.CLASSES)

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

    @property
    def spec(self) -> DataSpec:
        return DataSpec("regression", (8,), num_targets=1)

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
