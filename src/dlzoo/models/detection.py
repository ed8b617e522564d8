"""torchvision's detectors (the R-CNN family, RetinaNet, FCOS, SSDlite) by name.

The wrapper speaks the detector interface of :mod:`dlzoo.models.ssd`: labels are 0..C-1
(torchvision's background class 0 is hidden here), ``net(images, targets)`` in training
mode returns the model's own loss dict (``loss_from_model``), and ``detect(images)`` returns
boxes in the input's pixels. Images are fed at their own size (the model's resize to 320 or
800 pixels is switched off: the datamodule already sized them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import Tensor, nn
from torchvision.ops import batched_nms

from dlzoo.errors import ConfigError

log = logging.getLogger(__name__)


def detector_names() -> list[str]:
    """The box detectors torchvision builds by name (not the mask/keypoint variants)."""
    names = torchvision.models.list_models(module=torchvision.models.detection)
    return [n for n in names if not n.startswith(("maskrcnn", "keypointrcnn"))]


class TorchvisionDetector(nn.Module):
    """A torchvision detector for ``num_outputs`` classes, trained from its own losses.

    Args:
        input_shape: ``(C, H, W)`` of the images (3 channels).
        num_outputs: number of object classes (torchvision's background is added).
        name: a torchvision detector (``fasterrcnn_mobilenet_v3_large_320_fpn``...).
        weights, weights_backbone: torchvision weights names (``DEFAULT``): these need the
            files in torch's cache or a download; ``null`` (default) is a random start.
        weights_file: a local ``state_dict`` file of the detector; tensors whose shapes do
            not fit (the class heads of another label set) are skipped and counted.
        score_threshold, nms_iou, max_detections: the model's own post-processing.
        options: more constructor arguments of the torchvision builder.
    """

    loss_from_model = True

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        name: str = "fasterrcnn_mobilenet_v3_large_320_fpn",
        weights: str | None = None,
        weights_backbone: str | None = None,
        weights_file: str | None = None,
        score_threshold: float = 0.01,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if name not in detector_names():
            raise ConfigError(
                f"model.net.name={name!r} is not a torchvision box detector; choose one of "
                f"{', '.join(detector_names())}"
            )
        if input_shape[0] != 3:
            raise ConfigError(
                f"model.net.name={name} needs RGB images, got {input_shape[0]} channels"
            )
        self.num_classes = int(num_outputs)
        self.name = name
        self.score_threshold, self.nms_iou = float(score_threshold), float(nms_iou)
        try:
            self.model = torchvision.models.get_model(
                name,
                weights=None,
                weights_backbone=weights_backbone,
                num_classes=self.num_classes + 1,
                **dict(options or {}),
            )
            if weights:  # COCO weights: everything but the class heads fits
                enum = torchvision.models.get_model_weights(name)
                self._load_state(enum[weights].get_state_dict(progress=False), str(weights))
        except (OSError, RuntimeError, KeyError) as err:  # e.g. a download offline
            raise ConfigError(
                f"model.net.weights={weights} / weights_backbone={weights_backbone}: cannot "
                f"load ({type(err).__name__}: {err}); put the file in torch's cache "
                f"(TORCH_HOME) or set model.net.weights_file"
            ) from None
        self._feed_at_own_size(int(input_shape[1]), int(input_shape[2]))
        self._set_postprocessing(max_detections)
        if weights_file is not None:
            self._load_file(Path(weights_file))

    def _feed_at_own_size(self, height: int, width: int) -> None:
        transform = getattr(self.model, "transform", None)
        if transform is None:
            return
        transform.min_size = (min(height, width),)
        transform.max_size = max(height, width)
        if getattr(transform, "fixed_size", None) is not None:
            transform.fixed_size = (height, width)

    def _set_postprocessing(self, max_detections: int) -> None:
        holder = getattr(self.model, "roi_heads", self.model)
        for attr, value in (
            ("score_thresh", self.score_threshold),
            ("nms_thresh", self.nms_iou),
            ("detections_per_img", max_detections),
        ):
            if hasattr(holder, attr):
                setattr(holder, attr, value)

    def _load_file(self, path: Path) -> None:
        if not path.is_file():
            raise ConfigError(f"model.net.weights_file={str(path)!r}: no such file")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self._load_state(state.get("state_dict", state), str(path))

    def _load_state(self, state: Mapping[str, Tensor], source: str) -> None:
        """Load the tensors of ``state`` that fit; the rest (other classes) stay random."""
        own = self.model.state_dict()
        fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.model.load_state_dict(fitting, strict=False)
        log.info(
            "%s: loaded %d of %d tensors from %s (%d skipped: other shapes or names)",
            self.name,
            len(fitting),
            len(own),
            source,
            len(state) - len(fitting),
        )

    def forward(self, images: Tensor, targets: Sequence[Mapping[str, Tensor]] | None = None) -> Any:
        """Training (with ``targets``): the loss dict; otherwise the detections."""
        if targets is not None:
            shifted = [{"boxes": t["boxes"], "labels": t["labels"] + 1} for t in targets]
            return self.model(list(images), shifted)
        return self.detect(images)

    @torch.no_grad()
    def detect(
        self, images: Tensor, score_threshold: float | None = None, nms_iou: float | None = None
    ) -> list[dict[str, Tensor]]:
        """Per image: ``boxes`` (pixels), ``scores`` and ``labels`` (0..C-1); thresholds
        stricter than the model's own are applied on top of its post-processing."""
        was_training = self.model.training
        self.model.eval()
        try:
            found = self.model(list(images))
        finally:
            self.model.train(was_training)
        out = []
        for d in found:
            boxes, scores, labels = d["boxes"], d["scores"], d["labels"] - 1
            if score_threshold is not None:
                keep = scores >= score_threshold
                boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            if nms_iou is not None:
                keep = batched_nms(boxes, scores, labels, nms_iou)
                boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            out.append({"boxes": boxes, "scores": scores, "labels": labels})
        return out
