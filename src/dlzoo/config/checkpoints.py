"""Loading checkpoints safely and rebuilding the config that trained them."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from dlzoo.errors import ConfigError

CONFIG_KEY = "dlzoo_config"


def checkpoint_of(path: str | Path) -> Path:
    """``path`` itself, or for a run folder its best checkpoint (``metrics.json``'s
    ``best_checkpoint``) and else its ``checkpoints/last.ckpt``."""
    path = Path(path)
    if not path.is_dir():
        return path
    try:
        best = json.loads((path / "metrics.json").read_text()).get("best_checkpoint")
    except (OSError, ValueError, AttributeError):
        best = None
    for candidate in (best, path / "checkpoints" / "last.ckpt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError(
        f"ckpt_path={str(path)!r} is a folder without a checkpoint: give a .ckpt file, or a run "
        f"folder holding checkpoints/last.ckpt"
    )


def load_checkpoint(path: str | Path, trust: bool = False, mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True`` (tensors and plain Python
    containers only). A file that needs arbitrary unpickling, which can run code, is refused
    unless ``trust`` is set; a file that is no checkpoint at all is called corrupt (and no
    unsafe loading is suggested for it)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={str(path)!r}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise ConfigError(
            f"{path} is not a PyTorch checkpoint (not the zip archive torch.save writes): the "
            f"file is corrupt, truncated or of another kind"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=not trust, mmap=mmap)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):
            raise ConfigError(f"{path} is corrupt: it cannot be read as a checkpoint") from None
        found = next(
            (line.strip() for line in str(err).splitlines() if "Unsupported global" in line), ""
        )
        raise ConfigError(
            f"refusing to load {path}: it holds Python objects that only full unpickling can "
            f"restore, and unpickling an untrusted file can run arbitrary code. If you trust "
            f"this file, pass trust_checkpoint=true. (torch said: {found[:200]})"
        ) from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError) as err:
        raise ConfigError(f"{path} is corrupt: it cannot be read as a checkpoint ({err})") from err
    if not isinstance(checkpoint, dict):
        raise ConfigError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint


#: classes that moved since checkpoints were first written (configs store ``_target_`` paths)
MOVED_TARGETS = {
    "dlzoo.callbacks.ModelCheckpoint": "dlzoo.callbacks.model_checkpoint.ModelCheckpoint",
    "dlzoo.tensorboard_view.TensorBoardLogger": "dlzoo.records.tensorboard.TensorBoardLogger",
    "dlzoo.tensorboard_view.LearningRateLogger": (
        "dlzoo.callbacks.learning_rate_logger.LearningRateLogger"
    ),
    "dlzoo.tensorboard_view.TensorBoardLayout": (
        "dlzoo.callbacks.tensorboard_layout.TensorBoardLayout"
    ),
    "dlzoo.model_summary.ModelSummary": "dlzoo.callbacks.model_summary.ModelSummary",
    "dlzoo.records.history.EpochHistory": "dlzoo.callbacks.epoch_history.EpochHistory",
    "dlzoo.figures.ImagePredictionFigures": (
        "dlzoo.callbacks.image_predictions.ImagePredictionFigures"
    ),
    "dlzoo.figures.DetectionFigures": "dlzoo.callbacks.detection_figures.DetectionFigures",
}


def with_current_targets(node: Any) -> Any:
    """A stored config with every moved ``_target_`` renamed to where the class lives now."""
    if isinstance(node, dict):
        return {
            k: MOVED_TARGETS.get(v, v) if k == "_target_" else with_current_targets(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [with_current_targets(v) for v in node]
    return node


def config_from_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> DictConfig:
    """The resolved training config stored in a dlzoo checkpoint (moved classes renamed)."""
    if CONFIG_KEY not in checkpoint:
        raise ConfigError(f"{path} is not a dlzoo checkpoint: it holds no '{CONFIG_KEY}'")
    return OmegaConf.create(with_current_targets(checkpoint[CONFIG_KEY]))
