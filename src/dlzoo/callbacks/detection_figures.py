"""A callback drawing what a detector finds on validation images, into TensorBoard."""

from __future__ import annotations

import logging

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from torchvision.utils import make_grid

from dlzoo.figures.boxes import draw_anchors, draw_detections
from dlzoo.tasks.detection import DetectionTask

log = logging.getLogger(__name__)
#: the scale whose anchors are drawn: the second, whose larger anchors stay readable
ANCHOR_SCALE = 1


class DetectionFigures(Callback):
    """For detection tasks, logs to TensorBoard's IMAGES tab:

    * ``val/boxes`` every ``every_n_epochs``: the first validation images with predicted
      boxes (red: class and score, above ``score_threshold``) over the true ones (green);
    * ``anchors`` once per run, for networks that expose their anchors (TinySSD): the
      anchors of the centre location of the second scale over the first image, each titled
      with its size and ratio, like the book's ``show_bboxes``.

    One extra forward pass over ``num_images`` images per drawing; a no-op for other tasks,
    without a TensorBoard logger and during the sanity check.
    """

    def __init__(
        self, num_images: int = 8, score_threshold: float = 0.3, every_n_epochs: int = 1
    ) -> None:
        self.num_images = int(num_images)
        self.score_threshold = float(score_threshold)
        self.every_n_epochs = max(int(every_n_epochs), 1)
        self._anchors_drawn = False

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if batch_idx != 0 or trainer.sanity_checking or not trainer.is_global_zero:
            return
        if not isinstance(pl_module, DetectionTask):
            return
        logger = next((g for g in trainer.loggers if isinstance(g, TensorBoardLogger)), None)
        if logger is None:
            return
        try:
            images, targets = batch
            names = list(pl_module.class_names)
            if not self._anchors_drawn:
                self._anchors_drawn = True
                self._draw_anchors(logger, pl_module, images[0], trainer.global_step)
            if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
                images = images[: self.num_images]
                found = pl_module.detect(images, score_threshold=self.score_threshold)
                drawn = [
                    draw_detections(img, names, pred, true)
                    for img, pred, true in zip(images, found, targets, strict=False)
                ]
                grid = make_grid(drawn, nrow=4, padding=4, pad_value=255)
                logger.experiment.add_image("val/boxes", grid, trainer.global_step)
        except Exception as err:  # a figure must never end a training run
            log.warning("could not draw the detection figures: %s", err)

    @staticmethod
    @torch.no_grad()
    def _draw_anchors(logger: TensorBoardLogger, pl_module: L.LightningModule, image, step) -> None:
        net = pl_module.net
        if not hasattr(net, "scale_anchors"):
            return
        scales = net.scale_anchors(image[None])  # per scale (h, w, k, 4), relative
        index = min(ANCHOR_SCALE, len(scales) - 1)
        scale = scales[index]
        h, w = scale.shape[:2]
        height, width = image.shape[-2:]
        pixels = torch.tensor([width, height, width, height], dtype=torch.float32)
        anchors = scale[h // 2, w // 2].cpu() * pixels
        drawn = draw_anchors(image, anchors, net.anchor_titles(index))
        logger.experiment.add_image("anchors", drawn, step)
