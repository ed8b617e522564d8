"""What a checkpoint gives back (:func:`dlzoo.config.restore.restore` builds it): the task
with its weights, its datamodule with the fitted transforms, and the training config. The
predictors below the tasks read it, so it is defined here, where they can."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dlzoo.data.spec import DataSpec


@dataclass
class Restored:
    """A checkpoint's task (a ``dlzoo.tasks.Task`` in eval mode, weights loaded), its
    datamodule (fitted transforms loaded, data not read) and the config that trained it."""

    module: Any
    datamodule: Any
    config: DictConfig
    checkpoint_path: Path
    #: the user's data files as they were in training (``records.data_fingerprint``)
    data_fingerprint: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> DataSpec:
        return self.module.spec

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.module.class_names
