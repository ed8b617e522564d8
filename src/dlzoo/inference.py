"""Rebuild a trained model from its checkpoint alone, and prepare new inputs like training did."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, open_dict
from torch import Tensor

from dlzoo.builders import build_datamodule, build_task
from dlzoo.checkpoints import config_from_checkpoint, load_checkpoint
from dlzoo.data.base import InMemoryDataModule
from dlzoo.data.folder import EXTENSIONS, list_images, load_image
from dlzoo.data.spec import DataSpec
from dlzoo.errors import ConfigError, DataError
from dlzoo.tasks import SupervisedTask


@dataclass
class TrainedModel:
    """A checkpoint's LightningModule (in eval mode), its datamodule (unloaded) and config."""

    module: SupervisedTask
    datamodule: InMemoryDataModule
    spec: DataSpec
    config: DictConfig

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names


def load_trained(
    ckpt_path: str | Path, data_dir: str | None = None, trust: bool = False
) -> TrainedModel:
    """The model a dlzoo checkpoint holds, with the datamodule settings it trained with.

    Only ``data_dir`` (this machine's dataset folder) replaces the stored one; nothing is
    loaded from the dataset unless a tabular model needs its training scaler.
    """
    checkpoint = load_checkpoint(ckpt_path, trust=trust)
    cfg = config_from_checkpoint(checkpoint, ckpt_path)
    with open_dict(cfg):
        if data_dir is not None and "data_dir" in cfg.data:
            cfg.data.data_dir = data_dir
        for key in ("weights", "weights_file"):  # the checkpoint's state_dict replaces them
            if cfg.model.net.get(key) is not None:
                cfg.model.net[key] = None
    datamodule = build_datamodule(cfg.data)
    spec = datamodule.spec
    module = build_task(cfg, spec)
    module.load_state_dict(checkpoint["state_dict"])
    module.eval()
    return TrainedModel(module, datamodule, spec, cfg)


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


def stored_image_size(datamodule: InMemoryDataModule, spec: DataSpec) -> int:
    """The side length the datamodule stores images at before its per-batch resize."""
    return int(getattr(datamodule, "image_size", 0) or spec.input_shape[-1])


def prepare_images(model: TrainedModel, files: list[Path]) -> Tensor:
    """Decode image files as the training data was stored (channels, size, uint8), then run
    the datamodule's own per-batch preprocessing (resize, normalisation; no augmentation)."""
    channels = model.spec.input_shape[0]
    size = stored_image_size(model.datamodule, model.spec)
    raw = torch.from_numpy(np.stack([load_image(f, channels, size) for f in files]))
    preprocess = getattr(model.datamodule, "preprocess", None)
    if preprocess is None:
        raise ConfigError(f"data={model.config.data.get('name')} has no image preprocessing")
    return preprocess(raw)


# -- tables ----------------------------------------------------------------------------------
def prepare_rows(model: TrainedModel, csv_path: Path) -> Tensor:
    """Feature rows from a CSV, scaled like the training data.

    A datamodule may offer ``transform_frame(DataFrame) -> Tensor``; the scikit-learn
    datasets refit their training-split scaler (deterministic: same split, same seed).
    """
    import pandas as pd

    frame = pd.read_csv(csv_path)
    transform = getattr(model.datamodule, "transform_frame", None)
    if transform is not None:
        return transform(frame)
    n = model.spec.num_features
    if frame.shape[1] != n:
        raise DataError(
            f"{csv_path} has {frame.shape[1]} columns but the model takes {n} features per row"
        )
    x = frame.to_numpy(dtype=np.float64)
    scaler = training_scaler(model.datamodule)
    if scaler is not None:
        x = scaler.transform(x)
    return torch.as_tensor(x, dtype=torch.float32)


def training_scaler(datamodule: InMemoryDataModule) -> Any:
    """The StandardScaler a scikit-learn tabular datamodule fitted on its training part."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from dlzoo.data.tabular import SklearnTabularDataModule

    if not isinstance(datamodule, SklearnTabularDataModule) or not datamodule.standardize:
        return None
    x, y = datamodule.raw_arrays()
    x_train, _, y_train, _ = train_test_split(
        x, y, test_size=datamodule.test_size, random_state=datamodule.random_state
    )
    if datamodule.val_fraction > 0:
        x_train, _, _, _ = train_test_split(
            x_train,
            y_train,
            test_size=datamodule.val_fraction,
            random_state=datamodule.random_state,
        )
    return StandardScaler().fit(x_train)


# -- predicting ------------------------------------------------------------------------------
@torch.no_grad()
def predict_batch(model: TrainedModel, x: Tensor, batch_size: int = 256) -> Tensor:
    """The task's outputs (class probabilities, or values) for prepared inputs."""
    outs = [
        model.module.predict_outputs(model.module(x[i : i + batch_size]))
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(outs) if outs else torch.empty(0)


def top_k(probs: Tensor, names: tuple[str, ...], k: int) -> list[list[tuple[str, float]]]:
    """Per row, the ``k`` most probable classes as (name, probability)."""
    if probs.ndim == 2 and probs.shape[1] == 1:  # binary: P(class 1)
        probs = torch.cat([1 - probs, probs], dim=1)
    values, idx = probs.topk(min(k, probs.shape[1]), dim=1)

    def label(i: int) -> str:
        return names[i] if i < len(names) else str(i)

    return [
        [(label(i), float(v)) for v, i in zip(vs, ix, strict=True)]
        for vs, ix in zip(values.tolist(), idx.tolist(), strict=True)
    ]
