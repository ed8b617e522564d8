"""A user's files as model inputs, prepared exactly as the training data was."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.folder import EXTENSIONS, list_images, load_image
from dlzoo.errors import ConfigError, DataError
from dlzoo.inference.restored import Restored


# -- images ----------------------------------------------------------------------------------
def image_files(inputs: list[str]) -> list[Path]:
    """Image paths from files and folders (folders are searched recursively)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise DataError(f"inputs: folder {path} holds no images ({', '.join(EXTENSIONS)})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"inputs: {item!r} is neither a file nor a folder")
    return files


def prepare_images(model: Restored, files: list[Path]) -> Tensor:
    """Decode image files as the training data was stored (channels, size, uint8), then run
    the datamodule's own per-batch preprocessing (resize, normalisation; no augmentation)."""
    preprocess = getattr(model.datamodule, "preprocess", None)
    if preprocess is None:
        raise ConfigError(f"data={model.config.data.get('name')} has no image preprocessing")
    channels = model.spec.input_shape[0]
    size = int(getattr(model.datamodule, "image_size", 0) or model.spec.input_shape[-1])
    raw = torch.from_numpy(np.stack([load_image(f, channels, size) for f in files]))
    return preprocess(raw)


# -- tables ----------------------------------------------------------------------------------
def prepare_rows(model: Restored, csv_path: Path) -> Tensor:
    """Feature rows from a CSV, preprocessed with the training run's fitted transforms
    (the datamodule's ``rows_from_frame``; columns are matched by name)."""
    import pandas as pd

    rows_from_frame = getattr(model.datamodule, "rows_from_frame", None)
    if rows_from_frame is None:
        raise ConfigError(
            f"model trained on data={model.config.data.get('name')} does not take CSV rows"
        )
    if not csv_path.is_file():
        raise ConfigError(f"inputs: {str(csv_path)!r} is not a file")
    try:
        frame = pd.read_csv(csv_path)
        header = next(csv.reader(csv_path.open(newline="", encoding="utf-8")), [])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"cannot read {csv_path} as CSV: {err}") from err
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:  # pandas would rename the second one to 'name.1'
        raise DataError(f"{csv_path.name}: columns {repeated} appear more than once in the header")
    return rows_from_frame(frame)


@torch.no_grad()
def predict_batch(model: Restored, x: Tensor, batch_size: int = 256) -> Tensor:
    """The task's outputs (class probabilities, or values in the target's units), as its
    ``predict_step`` gives them (with the test-time averaging a task may do)."""
    outs = [
        model.module.predict_step(x[i : i + batch_size], i // batch_size)
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(outs) if outs else torch.empty(0)
