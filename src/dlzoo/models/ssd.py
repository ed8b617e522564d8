"""TinySSD (d2l 14.7): a small single-shot multibox detector.

A down-sampling base network, then four more stages; each of the five feature maps gets
anchors of its own sizes and ratios and two 3x3 convolutions: class scores (background
first) and box offsets for every anchor.

Detector interface (shared with :class:`dlzoo.models.detection.TorchvisionDetector`):
``loss_from_model`` says whether ``net(images, targets)`` returns a loss dict (here it does
not: the task computes TinySSD's loss from ``net(images) -> (anchors, class logits, offsets)``)
and ``detect(images)`` returns per image ``boxes`` (input pixels), ``scores`` and ``labels``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlzoo.models.anchors import anchors_per_location, multibox_detection, multibox_prior

#: the book's anchor sizes per scale (relative to the image) and ratios
BOOK_SIZES = ((0.2, 0.272), (0.37, 0.447), (0.54, 0.619), (0.71, 0.79), (0.88, 0.961))
BOOK_RATIOS = (1.0, 2.0, 0.5)


def down_sample_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU layers, then 2x2 max pooling: half the height and width."""
    layers: list[nn.Module] = []
    for i in range(2):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        ]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class TinySSD(nn.Module):
    """The book's TinySSD for ``num_outputs`` classes (background is added here).

    Args:
        input_shape: ``(C, H, W)`` of the images.
        num_outputs: number of object classes.
        base_channels: channels of the base network's three down-sampling blocks (the
            first feature map is 1/8 of the image).
        channels: channels of the four later stages.
        sizes: anchor sizes per scale (5 lists), relative to the image.
        ratios: anchor width/height ratios (the same at every scale).
        nms_iou, score_threshold, max_detections: how :meth:`detect` decodes.
    """

    loss_from_model = False

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        base_channels: Sequence[int] = (16, 32, 64),
        channels: int = 128,
        sizes: Sequence[Sequence[float]] = BOOK_SIZES,
        ratios: Sequence[float] = BOOK_RATIOS,
        nms_iou: float = 0.5,
        score_threshold: float = 0.01,
        max_detections: int = 100,
    ) -> None:
        super().__init__()
        if len(sizes) != 5:
            raise ValueError(f"sizes: give 5 lists of anchor sizes (one per scale), got {sizes}")
        self.num_classes = int(num_outputs)
        self.sizes = [list(map(float, s)) for s in sizes]
        self.ratios = list(map(float, ratios))
        self.nms_iou, self.score_threshold = float(nms_iou), float(score_threshold)
        self.max_detections = int(max_detections)
        per_location = {anchors_per_location(s, self.ratios) for s in self.sizes}
        if len(per_location) != 1:
            raise ValueError("sizes: every scale needs the same number of anchor sizes")
        self.num_anchors = per_location.pop()
        widths = [input_shape[0], *base_channels]
        pairs = zip(widths[:-1], widths[1:], strict=True)
        base = nn.Sequential(*(down_sample_block(a, b) for a, b in pairs))
        stages = [base, down_sample_block(base_channels[-1], channels)]
        stages += [down_sample_block(channels, channels) for _ in range(2)]
        stages.append(nn.AdaptiveMaxPool2d((1, 1)))
        self.stages = nn.ModuleList(stages)
        outs = [base_channels[-1]] + [channels] * 4
        k = self.num_anchors
        self.class_heads = nn.ModuleList(
            nn.Conv2d(c, k * (self.num_classes + 1), 3, padding=1) for c in outs
        )
        self.box_heads = nn.ModuleList(nn.Conv2d(c, k * 4, 3, padding=1) for c in outs)

    @staticmethod
    def _flatten(pred: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, H*W*C): channels last so each location's anchors are adjacent."""
        return pred.permute(0, 2, 3, 1).flatten(start_dim=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Relative anchors ``(1, A, 4)``, class logits ``(B, A, C+1)``, offsets ``(B, A*4)``."""
        anchors, classes, boxes = [], [], []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            h, w = x.shape[-2:]
            anchors.append(multibox_prior(h, w, self.sizes[i], self.ratios, device=x.device))
            classes.append(self._flatten(self.class_heads[i](x)))
            boxes.append(self._flatten(self.box_heads[i](x)))
        logits = torch.cat(classes, dim=1).reshape(x.shape[0], -1, self.num_classes + 1)
        return torch.cat(anchors, dim=1), logits, torch.cat(boxes, dim=1)

    @torch.no_grad()
    def scale_anchors(self, x: Tensor) -> list[Tensor]:
        """Per scale, the relative anchors of every location, ``(h, w, k, 4)``."""
        out = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            h, w = x.shape[-2:]
            anchors = multibox_prior(h, w, self.sizes[i], self.ratios, device=x.device)
            out.append(anchors.reshape(h, w, self.num_anchors, 4))
        return out

    def anchor_titles(self, scale: int) -> list[str]:
        """``s=<size>, r=<ratio>`` of each anchor of a location at ``scale``."""
        sizes, ratios = self.sizes[scale], self.ratios
        pairs = [(s, ratios[0]) for s in sizes] + [(sizes[0], r) for r in ratios[1:]]
        return [f"s={s:g}, r={r:g}" for s, r in pairs]

    def decode(
        self,
        image_size: tuple[int, int],
        outputs: tuple[Tensor, Tensor, Tensor],
        score_threshold: float | None = None,
        nms_iou: float | None = None,
    ) -> list[dict[str, Tensor]]:
        """Boxes in pixels of ``image_size`` (H, W) from the outputs of :meth:`forward`."""
        anchors, logits, offsets = outputs
        probs = logits.float().softmax(dim=2).permute(0, 2, 1)
        found = multibox_detection(
            probs,
            offsets.float(),
            anchors,
            nms_iou=self.nms_iou if nms_iou is None else nms_iou,
            score_threshold=self.score_threshold if score_threshold is None else score_threshold,
            max_detections=self.max_detections,
        )
        h, w = image_size
        scale = torch.tensor([w, h, w, h], dtype=torch.float32, device=offsets.device)
        for d in found:
            d["boxes"] = (d["boxes"] * scale).clamp_(min=0).minimum(scale)
        return found

    @torch.no_grad()
    def detect(
        self, x: Tensor, score_threshold: float | None = None, nms_iou: float | None = None
    ) -> list[dict[str, Tensor]]:
        """Per image: ``boxes`` (pixels), ``scores`` and ``labels`` (0..C-1)."""
        return self.decode(tuple(x.shape[-2:]), self(x), score_threshold, nms_iou)
