"""The resolved config inside every checkpoint: evaluation, prediction and export rebuild
data and model from the checkpoint alone; with it, the fingerprint of the user's data files,
so evaluation can tell when they changed."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf

from dlzoo.config.checkpoints import CONFIG_KEY
from dlzoo.records.data_fingerprint import FINGERPRINT_KEY, fingerprint, with_absolute_paths


class StoreConfigInCheckpoint(Callback):
    """Saves the resolved config (plain types only) and the data fingerprint into every
    checkpoint."""

    def __init__(self, cfg: DictConfig) -> None:
        self.config = OmegaConf.to_container(cfg, resolve=True)
        if isinstance(self.config.get("data"), dict):
            self.config["data"] = with_absolute_paths(self.config["data"])
        self.data_fingerprint = fingerprint(self.config.get("data") or {})

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config
        if self.data_fingerprint:
            checkpoint[FINGERPRINT_KEY] = self.data_fingerprint
