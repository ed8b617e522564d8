"""A small house-price-like CSV for the tabular tests (gaps, categories, an Id column)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_house_csv(path: Path, n: int = 120, seed: int = 0) -> Path:
    """A small house-price-like table: numeric columns with gaps, categorical ones with gaps,
    an Id column, and a positive price that depends on the features."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(50, 250, n)
    rooms = rng.integers(1, 7, n).astype(float)
    zone = rng.choice(["A", "B", "C"], n)
    price = 1000 * area * np.where(zone == "A", 1.5, 1.0) + 5000 * rooms + rng.normal(0, 1e3, n)
    frame = pd.DataFrame(
        {"Id": np.arange(n), "area": area, "rooms": rooms, "zone": zone, "SalePrice": price}
    )
    frame.loc[rng.choice(n, 10, replace=False), "area"] = np.nan
    frame.loc[rng.choice(n, 8, replace=False), "zone"] = np.nan
    frame["street"] = rng.choice(["paved", "gravel"], n)
    frame.to_csv(path, index=False)
    return path
