"""The anchor-box machinery of single-shot detection (d2l 14.4), in our own words.

Boxes are ``(x1, y1, x2, y2)``; anchors are in coordinates relative to the image (0..1).
IoU and non-maximum suppression come from ``torchvision.ops``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import batched_nms, box_convert, box_iou

#: the scales that keep offsets near unit variance (d2l's constants)
CENTER_SCALE = 10.0
SIZE_SCALE = 5.0


def anchors_per_location(sizes: Sequence[float], ratios: Sequence[float]) -> int:
    """Every size with the first ratio, plus the first size with every other ratio."""
    return len(sizes) + len(ratios) - 1


def multibox_prior(
    height: int, width: int, sizes: Sequence[float], ratios: Sequence[float], device=None
) -> Tensor:
    """Anchors centred on each of ``height x width`` locations, ``(1, h*w*n, 4)``, relative.

    Per location: ``(s_i, r_1)`` for every size, then ``(s_1, r_j)`` for the other ratios;
    an anchor of size ``s`` and ratio ``r`` is ``s*sqrt(r)`` wide (scaled by ``h/w`` so it is
    square in pixels at ``r=1``) and ``s/sqrt(r)`` tall.
    """
    size_t = torch.tensor(list(sizes), dtype=torch.float32, device=device)
    ratio_t = torch.tensor(list(ratios), dtype=torch.float32, device=device)
    centers_y = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height
    centers_x = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width
    cy, cx = torch.meshgrid(centers_y, centers_x, indexing="ij")
    cy, cx = cy.reshape(-1), cx.reshape(-1)
    w = torch.cat([size_t * ratio_t[0].sqrt(), size_t[0] * ratio_t[1:].sqrt()]) * height / width
    h = torch.cat([size_t / ratio_t[0].sqrt(), size_t[0] / ratio_t[1:].sqrt()])
    half = torch.stack([-w, -h, w, h], dim=1) / 2  # (n, 4)
    centers = torch.stack([cx, cy, cx, cy], dim=1)  # (h*w, 4)
    anchors = centers[:, None, :] + half[None, :, :]
    return anchors.reshape(1, -1, 4)


def assign_anchors(ground_truth: Tensor, anchors: Tensor, iou_threshold: float = 0.5) -> Tensor:
    """For each anchor, the index of its ground-truth box, or -1 (background).

    Each ground-truth box first takes the anchor it overlaps most (greedily, largest IoU of
    all first, so every box gets an anchor); every other anchor takes the box it overlaps
    most when that IoU reaches ``iou_threshold``.
    """
    num_anchors, num_gt = len(anchors), len(ground_truth)
    assigned = torch.full((num_anchors,), -1, dtype=torch.long, device=anchors.device)
    if num_gt == 0:
        return assigned
    iou = box_iou(anchors, ground_truth)
    best_iou, best_gt = iou.max(dim=1)
    keep = best_iou >= iou_threshold
    assigned[keep] = best_gt[keep]
    iou = iou.clone()
    for _ in range(min(num_gt, num_anchors)):
        flat = int(iou.argmax())
        anchor, box = divmod(flat, num_gt)
        assigned[anchor] = box
        iou[anchor, :] = -1
        iou[:, box] = -1
    return assigned


def offset_boxes(anchors: Tensor, boxes: Tensor, eps: float = 1e-6) -> Tensor:
    """Offsets of ``boxes`` from ``anchors``: scaled centre shifts and log size ratios."""
    a = box_convert(anchors, "xyxy", "cxcywh")
    b = box_convert(boxes, "xyxy", "cxcywh")
    xy = CENTER_SCALE * (b[:, :2] - a[:, :2]) / a[:, 2:]
    wh = SIZE_SCALE * torch.log(eps + b[:, 2:] / a[:, 2:])
    return torch.cat([xy, wh], dim=1)


def offset_inverse(anchors: Tensor, offsets: Tensor) -> Tensor:
    """Boxes from anchors and predicted offsets (the inverse of :func:`offset_boxes`)."""
    a = box_convert(anchors, "xyxy", "cxcywh")
    xy = offsets[:, :2] * a[:, 2:] / CENTER_SCALE + a[:, :2]
    wh = torch.exp(offsets[:, 2:] / SIZE_SCALE) * a[:, 2:]
    return box_convert(torch.cat([xy, wh], dim=1), "cxcywh", "xyxy")


def multibox_target(
    anchors: Tensor, targets: Sequence[tuple[Tensor, Tensor]], iou_threshold: float = 0.5
) -> tuple[Tensor, Tensor, Tensor]:
    """Training targets for every anchor of every image.

    Args:
        anchors: ``(A, 4)`` or ``(1, A, 4)`` relative anchors.
        targets: per image, ``(boxes (G, 4) relative, labels (G,) in 0..C-1)``.

    Returns:
        offsets ``(B, A*4)`` (zero for background anchors), their mask ``(B, A*4)``, and
        class labels ``(B, A)`` with 0 for background and ``label + 1`` for a class.
    """
    anchors = anchors.reshape(-1, 4)
    offsets, masks, classes = [], [], []
    for boxes, labels in targets:
        assigned = assign_anchors(boxes, anchors, iou_threshold)
        positive = assigned >= 0
        cls = torch.zeros(len(anchors), dtype=torch.long, device=anchors.device)
        matched = torch.zeros_like(anchors)
        if positive.any():
            cls[positive] = labels[assigned[positive]].long() + 1
            matched[positive] = boxes[assigned[positive]].to(anchors.dtype)
        mask = positive.to(anchors.dtype)[:, None].expand(-1, 4)
        offsets.append((offset_boxes(anchors, matched) * mask).reshape(-1))
        masks.append(mask.reshape(-1))
        classes.append(cls)
    return torch.stack(offsets), torch.stack(masks), torch.stack(classes)


def multibox_detection(
    cls_probs: Tensor,
    offsets: Tensor,
    anchors: Tensor,
    nms_iou: float = 0.5,
    score_threshold: float = 0.0,
    max_detections: int = 100,
) -> list[dict[str, Tensor]]:
    """Decode predictions into boxes per image.

    Each anchor predicts its most probable non-background class; its box is the anchor moved
    by the predicted offsets; boxes under ``score_threshold`` are dropped, then NMS per class
    (IoU above ``nms_iou`` suppresses the lower score) keeps at most ``max_detections``.

    Args:
        cls_probs: ``(B, C+1, A)`` class probabilities, background first.
        offsets: ``(B, A*4)`` predicted offsets.
        anchors: ``(A, 4)`` or ``(1, A, 4)`` relative anchors.

    Returns:
        per image ``{"boxes": (K, 4) relative, "scores": (K,), "labels": (K,) in 0..C-1}``.
    """
    anchors = anchors.reshape(-1, 4)
    results = []
    for probs, offset in zip(cls_probs, offsets, strict=True):
        boxes = offset_inverse(anchors, offset.reshape(-1, 4))
        scores, labels = probs[1:].max(dim=0)
        keep = scores > score_threshold
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        kept = batched_nms(boxes, scores, labels, nms_iou)[:max_detections]
        results.append({"boxes": boxes[kept], "scores": scores[kept], "labels": labels[kept]})
    return results
