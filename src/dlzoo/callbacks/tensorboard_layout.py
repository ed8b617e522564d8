"""What TensorBoard opens on: train and validation of each metric on one chart."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback

from dlzoo.records.tensorboard import custom_scalars_layout, task_metric_names, tensorboard_loggers


class TensorBoardLayout(Callback):
    """Writes the custom-scalars layout (train and val on one chart) at the start of fitting,
    once per run (a resumed run's earlier event files already hold it)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.ckpt_path is not None:
            return
        layout = custom_scalars_layout(
            task_metric_names(pl_module), getattr(pl_module, "task", None)
        )
        for logger in tensorboard_loggers(trainer):
            logger.experiment.add_custom_scalars(layout)
