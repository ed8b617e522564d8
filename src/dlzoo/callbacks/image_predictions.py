"""A callback drawing what an image classifier predicts, into TensorBoard."""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor

from dlzoo.tasks.multiclass import MulticlassTask

log = logging.getLogger(__name__)


class _Collector:
    """What one validation/test epoch keeps: all labels and predictions (for the confusion
    matrix), the first images, and the most confidently wrong images seen so far."""

    def __init__(self, num_images: int, num_wrong: int) -> None:
        self.num_images, self.num_wrong = num_images, num_wrong
        self.true: list[Tensor] = []
        self.pred: list[Tensor] = []
        self.first: list[tuple[Tensor, Tensor, Tensor]] = []  # images, true, pred
        # the most confidently wrong so far: images, true, predicted, confidence
        self.wrong: tuple[Tensor, Tensor, Tensor, Tensor] | None = None
        self.kept = 0

    def add(self, x: Tensor, y: Tensor, logits: Tensor) -> None:
        probs = logits.detach().float().softmax(dim=-1).cpu()
        conf, pred = probs.max(dim=-1)
        y = y.detach().cpu()
        self.true.append(y)
        self.pred.append(pred)
        if self.kept < self.num_images:
            take = self.num_images - self.kept
            self.first.append((x[:take].detach().cpu(), y[:take], pred[:take]))
            self.kept += min(take, len(y))
        wrong = pred != y
        if self.num_wrong and wrong.any():
            new = (x[wrong.to(x.device)].detach().cpu(), y[wrong], pred[wrong], conf[wrong])
            if self.wrong is not None:
                new = tuple(torch.cat([old, add]) for old, add in zip(self.wrong, new, strict=True))
            order = new[3].argsort(descending=True)[: self.num_wrong]
            self.wrong = tuple(t[order] for t in new)  # type: ignore[assignment]


class ImagePredictionFigures(Callback):
    """Logs three figures per validation epoch (and once after testing) for image
    classification, to TensorBoard's IMAGES tab:

    * ``<stage>/predictions``: a grid of images captioned ``true: X`` / ``predicted: Y``
      (class names; wrong ones in red);
    * ``<stage>/confusion_matrix``: counts of true vs predicted class over the whole split;
    * ``<stage>/most_confident_wrong``: the misclassified images the model was surest about,
      captioned ``true: X`` / ``predicted: Y (probability)``.

    It reuses the logits the validation/test step computes (a forward hook), so it costs no
    extra forward pass: only the labels, predictions and a few images are kept. It does
    nothing for non-image or non-multiclass tasks, without a TensorBoard logger, or during
    the sanity check. Under DDP each figure shows rank 0's shard.

    Args:
        num_images: images in the prediction grid.
        num_wrong: images in the most-confidently-wrong grid.
        every_n_epochs: draw the validation figures every n epochs (test: always).
    """

    def __init__(self, num_images: int = 16, num_wrong: int = 16, every_n_epochs: int = 1) -> None:
        self.num_images, self.num_wrong = int(num_images), int(num_wrong)
        self.every_n_epochs = max(int(every_n_epochs), 1)
        self._collector: _Collector | None = None
        self._logits: Tensor | None = None
        self._hook = None

    # -- when to collect -----------------------------------------------------------------
    @staticmethod
    def _tensorboard(trainer: L.Trainer) -> TensorBoardLogger | None:
        return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)

    def _start(self, trainer: L.Trainer, pl_module: L.LightningModule, validating: bool) -> None:
        self._collector = None
        if not isinstance(pl_module, MulticlassTask) or self._tensorboard(trainer) is None:
            return
        if validating and (
            trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs
        ):
            return
        self._collector = _Collector(self.num_images, self.num_wrong)
        # the task's own forward: the logits it scored (a test-time average included)
        self._hook = pl_module.register_forward_hook(self._remember)

    def _remember(self, module: torch.nn.Module, inputs: tuple, output: Tensor) -> None:
        self._logits = output

    def _batch(self, batch: tuple[Tensor, ...]) -> None:
        if self._collector is None or self._logits is None:
            return
        x, y = batch[0], batch[1]
        if x.ndim == 4 and self._logits.ndim == 2:
            self._collector.add(x, y, self._logits)
        self._logits = None

    def _end(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        collector, self._collector = self._collector, None
        if collector is None or not collector.true or not trainer.is_global_zero:
            return
        logger = self._tensorboard(trainer)
        if logger is None:
            return
        names = list(getattr(pl_module, "class_names", ()))
        try:
            self._draw(logger, collector, names, stage, trainer.global_step)
        except Exception as err:  # a figure must never end a training run
            log.warning("could not draw the %s prediction figures: %s", stage, err)

    # -- drawing -------------------------------------------------------------------------
    @staticmethod
    def _draw(
        logger: TensorBoardLogger, c: _Collector, names: list[str], stage: str, step: int
    ) -> None:
        from dlzoo.figures.render import BLACK, RED, caption, confusion_image, titled_grid

        def name(i: int) -> str:
            return names[i] if i < len(names) else str(i)

        writer = logger.experiment
        images = torch.cat([f[0] for f in c.first])
        true = torch.cat([f[1] for f in c.first]).tolist()
        pred = torch.cat([f[2] for f in c.first]).tolist()
        grid = titled_grid(
            images,
            [caption(name(t), name(p)) for t, p in zip(true, pred, strict=True)],
            [BLACK if t == p else RED for t, p in zip(true, pred, strict=True)],
        )
        writer.add_image(f"{stage}/predictions", grid, step, dataformats="HWC")

        all_true, all_pred = torch.cat(c.true), torch.cat(c.pred)
        k = max(len(names), int(all_true.max()) + 1, int(all_pred.max()) + 1)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (all_true.numpy(), all_pred.numpy()), 1)
        picture = confusion_image(matrix, [name(i) for i in range(k)])
        writer.add_image(f"{stage}/confusion_matrix", picture, step, dataformats="HWC")

        if c.wrong is not None:
            w_images, w_true, w_pred, w_conf = c.wrong
            titles = [
                caption(name(t), name(p), q)
                for t, p, q in zip(w_true.tolist(), w_pred.tolist(), w_conf.tolist(), strict=True)
            ]
            grid = titled_grid(w_images, titles, [RED] * len(titles))
            writer.add_image(f"{stage}/most_confident_wrong", grid, step, dataformats="HWC")

    # -- Lightning hooks -----------------------------------------------------------------
    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start(trainer, pl_module, validating=True)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:  # type: ignore[no-untyped-def]
        self._batch(batch)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end(trainer, pl_module, "val")

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start(trainer, pl_module, validating=False)

    def on_test_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:  # type: ignore[no-untyped-def]
        self._batch(batch)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end(trainer, pl_module, "test")
