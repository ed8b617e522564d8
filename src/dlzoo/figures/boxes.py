"""Boxes drawn over images, for TensorBoard figures and prediction PNGs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import draw_bounding_boxes

PREDICTED = "#ff3030"
TRUE = "#30ff60"
#: small images are enlarged to at least this side so the labels stay readable
MIN_SIDE = 256


def enlarge(image: Tensor, min_side: int = MIN_SIDE) -> tuple[Tensor, float]:
    """A uint8 image ``(3, H, W)`` scaled up (whole factors) to a side >= ``min_side``."""
    factor = max(1, -(-min_side // min(image.shape[-2:])))
    if factor == 1:
        return image, 1.0
    big = F.interpolate(image[None].float(), scale_factor=factor, mode="nearest")[0]
    return big.to(torch.uint8), float(factor)


def as_uint8(image: Tensor) -> Tensor:
    """A float image in [0, 1] (or a uint8 one) as uint8 RGB on the CPU."""
    image = image.detach().cpu()
    if image.dtype != torch.uint8:
        image = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image


def draw_detections(
    image: Tensor,
    names: Sequence[str],
    predicted: dict[str, Tensor] | None = None,
    true: dict[str, Tensor] | None = None,
    min_side: int = MIN_SIDE,
) -> Tensor:
    """``image`` with true boxes (green, class) under predicted ones (red, class and score),
    enlarged for reading; uint8 ``(3, H', W')``."""
    canvas, factor = enlarge(as_uint8(image), min_side)

    def label(i: int) -> str:
        return names[i] if 0 <= i < len(names) else str(i)

    if true is not None and len(true["boxes"]):
        canvas = draw_bounding_boxes(
            canvas, true["boxes"].detach().cpu().float() * factor,
            [label(int(c)) for c in true["labels"]], colors=TRUE, width=1,
        )  # fmt: skip
    if predicted is not None and len(predicted["boxes"]):
        texts = [
            f"{label(int(c))} {float(s):.2f}"
            for c, s in zip(predicted["labels"], predicted["scores"], strict=True)
        ]
        canvas = draw_bounding_boxes(
            canvas, predicted["boxes"].detach().cpu().float() * factor, texts,
            colors=PREDICTED, width=2,
        )  # fmt: skip
    return canvas


def draw_anchors(image: Tensor, anchors: Tensor, texts: Sequence[str]) -> Tensor:
    """The book's ``show_bboxes``: ``anchors`` (pixels) over ``image``, one colour each."""
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    canvas, factor = enlarge(as_uint8(image), 2 * MIN_SIDE)
    colors = [palette[i % len(palette)] for i in range(len(anchors))]
    return draw_bounding_boxes(canvas, anchors.cpu().float() * factor, list(texts), colors=colors)
