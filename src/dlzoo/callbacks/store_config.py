"""The resolved config inside every checkpoint: evaluation, prediction and export rebuild
data and model from the checkpoint alone."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf

from dlzoo.config.checkpoints import CONFIG_KEY


class StoreConfigInCheckpoint(Callback):
    """Saves the resolved config (plain types only) into every checkpoint."""

    def __init__(self, cfg: DictConfig) -> None:
        self.config = OmegaConf.to_container(cfg, resolve=True)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config
