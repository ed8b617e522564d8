"""The training loader's saved position applied on resume, whatever created the loader first."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback

from dlzoo import lightning_internals as internals


class RestoreLoaderPosition(Callback):
    """Makes sure the training loader's saved position (epoch, batches done) is applied.

    Lightning (2.6) applies it when the fit loop creates the loader after the checkpoint is
    read. A scheduler that needs ``trainer.estimated_stepping_batches`` (one-cycle) makes
    Lightning create the loader earlier, while configuring optimizers, and the saved position
    is then never applied: the resumed epoch would restart from its first batch with the wrong
    shuffle. Our loaders start iterating lazily, so applying the position here, before the
    first batch is drawn, is still in time."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        internals.apply_pending_loader_state(trainer)
