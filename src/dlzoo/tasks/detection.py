"""Object detection: images with a ragged list of boxes each; mAP on validation and test.

Two kinds of network train here (see :mod:`dlzoo.models.ssd`): TinySSD, whose loss the task
computes like the book (class cross-entropy over every anchor plus L1 on the offsets of the
anchors that hold an object), and networks that compute their own loss dict in training
(``loss_from_model``: torchvision's detectors), whose losses are summed.
Validation and test compare per-image predicted boxes with the ground truth using
torchmetrics' ``MeanAveragePrecision`` (COCO's mAP over IoU 0.5:0.95, mAP@0.5, mAP@0.75);
TinySSD also reports the book's class error and box MAE over all anchors.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.detection import MeanAveragePrecision

from dlzoo.data.spec import DataSpec, DetectionSpec
from dlzoo.errors import ConfigError
from dlzoo.inference.boxes import BoxPredictor
from dlzoo.models.anchors import CENTER_SCALE, SIZE_SCALE, multibox_target
from dlzoo.tasks.base import StepOutput, Task
from dlzoo.tasks.registry import register

# the COCO evaluator prints a 12-line table at INFO on every validation: keep it to warnings
logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)

Targets = list[dict[str, Tensor]]
#: the mAP values logged per stage (torchmetrics' keys)
MAP_KEYS = ("map", "map_50", "map_75", "mar_100")


def relative(targets: Targets, height: int, width: int) -> list[tuple[Tensor, Tensor]]:
    """Pixel boxes as fractions of the image (the anchors' coordinates)."""
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    return [(t["boxes"] / scale.to(t["boxes"].device), t["labels"]) for t in targets]


def ssd_loss(
    logits: Tensor, offsets: Tensor, cls_labels: Tensor, box_targets: Tensor, box_masks: Tensor
) -> Tensor:
    """The book's TinySSD loss: per image, mean cross-entropy over anchors plus mean L1 of
    the masked offsets; averaged over the batch."""
    num_classes = logits.shape[-1]
    cls = F.cross_entropy(logits.reshape(-1, num_classes), cls_labels.reshape(-1), reduction="none")
    box = F.l1_loss(offsets * box_masks, box_targets * box_masks, reduction="none")
    return (cls.reshape(len(logits), -1).mean(dim=1) + box.mean(dim=1)).mean()


@register
class DetectionTask(Task):
    """Boxes with a class and a score per image; the best checkpoint has the best val mAP@0.5."""

    task = "detection"
    spec_type = DetectionSpec
    monitor = "val/map_50"
    monitor_mode = "max"
    fitting_models = "ssd_tiny or torchvision_detection"
    predictor = BoxPredictor
    export_output_names = ("anchors", "class_scores", "box_offsets")

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        assert isinstance(spec, DetectionSpec)
        return spec.num_classes

    def make_metrics(self) -> MetricCollection:
        return MetricCollection(
            {"map": MeanAveragePrecision(box_format="xyxy", backend="faster_coco_eval")}
        )

    @property
    def loss_from_model(self) -> bool:
        return bool(getattr(self.net, "loss_from_model", False))

    def shared_step(self, batch: tuple[Tensor, Targets], stage: str) -> StepOutput:
        images, targets = batch
        if self.loss_from_model:
            if stage == "train":
                losses = self.net(images, targets)
                return StepOutput(sum(losses.values()), None, None, len(images))
            return StepOutput(None, self.net.detect(images), targets, len(images))
        outputs = self.net(images)
        anchors, logits, offsets = outputs
        height, width = images.shape[-2:]
        box_targets, masks, cls_labels = multibox_target(anchors, relative(targets, height, width))
        loss = ssd_loss(logits, offsets, cls_labels, box_targets, masks)
        if stage == "train":
            return StepOutput(loss, None, None, len(images))
        self._log_anchor_errors(stage, logits, offsets, cls_labels, box_targets, masks)
        detached = tuple(o.detach() for o in outputs)
        preds = self.net.decode((height, width), detached)
        return StepOutput(loss, preds, targets, len(images))

    def _log_anchor_errors(
        self, stage: str, logits: Tensor, offsets: Tensor, cls_labels: Tensor,
        box_targets: Tensor, masks: Tensor,
    ) -> None:  # fmt: skip
        """The book's measures over all anchors: class error and box-offset MAE."""
        wrong = (logits.argmax(dim=-1) != cls_labels).float().mean()
        mae = ((box_targets - offsets) * masks).abs().sum() / box_targets.numel()
        size = len(logits)
        self.log(f"{stage}/class_err", wrong, on_epoch=True, batch_size=size, sync_dist=True)
        self.log(f"{stage}/box_mae", mae, on_epoch=True, batch_size=size, sync_dist=True)

    # -- mAP: computed and logged at epoch end (it returns a dict) --------------------------
    def log_metrics(self, metrics: MetricCollection, stage: str) -> None:
        """Nothing per step: :meth:`_log_map` logs the epoch's values."""

    def _log_map(self, metrics: MetricCollection, stage: str) -> None:
        for metric in metrics.values(copy_state=False):
            if not getattr(metric, "update_count", 0):
                continue
            values = metric.compute()
            for key in MAP_KEYS:
                self.log(f"{stage}/{key}", values[key].float(), prog_bar=key == "map_50")
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_map(self.val_metrics, "val")

    def on_test_epoch_end(self) -> None:
        self._log_map(self.test_metrics, "test")

    # -- using a trained detector -----------------------------------------------------------
    @torch.no_grad()
    def detect(
        self, images: Tensor, score_threshold: float | None = None, nms_iou: float | None = None
    ) -> Targets:
        """Per image ``boxes`` (pixels of ``images``), ``scores`` and ``labels``."""
        return self.net.detect(images, score_threshold=score_threshold, nms_iou=nms_iou)

    # -- export ------------------------------------------------------------------------------
    def exportable_net(self) -> torch.nn.Module:
        if getattr(self.net, "loss_from_model", False):
            raise ConfigError(
                "export of torchvision's detectors is not supported (their forward pass "
                "returns Python lists of dicts); the checkpoint itself works with "
                "scripts/predict.py and scripts/eval.py"
            )
        return self.net

    def export_outputs(self) -> dict[str, str]:
        return {
            "anchors": "(1, A, 4) anchor boxes x1, y1, x2, y2 as fractions of the canvas",
            "class_scores": "(N, A, C + 1) logits per anchor; index 0 is background, "
            "index i + 1 is class_names[i]",
            "box_offsets": "(N, A * 4) offsets of each anchor's box: centre shift x, y "
            f"(times {CENTER_SCALE:g} / anchor width, height) and log size ratio w, h "
            f"(times {SIZE_SCALE:g})",
            "decoding": "softmax over class_scores; per anchor the best non-background class "
            "and its probability; boxes = anchors moved by the inverted offsets, times the "
            "canvas size in pixels; drop scores below a threshold (predict.py: 0.3); "
            "non-maximum suppression per class at IoU 0.5",
        }

    def export_info(self, datamodule: Any) -> dict[str, Any]:
        info = super().export_info(datamodule)
        info["canvas"] = list(getattr(datamodule, "image_size", ()))
        info["resize"] = (
            f"{getattr(datamodule, 'resize_mode', 'letterbox')}: scale the image to fit the "
            "canvas keeping its aspect ratio, pad right and bottom with black; divide the "
            "decoded boxes by the same scale to get the image's own pixels"
        )
        return info

    def readable(self, outputs: Any, k: int = 3) -> list[Any]:
        """Per image, ``(class, score, x1, y1, x2, y2)`` rows."""
        names = self.class_names
        return [
            [
                (names[int(c)], float(s), *(float(v) for v in b))
                for b, s, c in zip(d["boxes"], d["scores"], d["labels"], strict=True)
            ]
            for d in outputs
        ]
