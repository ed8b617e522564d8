"""Loading checkpoints safely and rebuilding the config that trained them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.utils.checkpoint_files import CONFIG_KEY, checkpoint_of, load_checkpoint

__all__ = [
    "CONFIG_KEY",
    "checkpoint_of",
    "config_from_checkpoint",
    "load_checkpoint",
    "with_current_targets",
]


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
