"""Test helpers for detection: write generated canvases as a COCO folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from PIL import Image
from torch import Tensor


def write_coco_split(
    root: Path, split: str, images: Tensor, targets: Sequence[dict[str, Tensor]],
    class_names: Sequence[str],
) -> Path:  # fmt: skip
    """``root/<split>/<n>.png`` and ``root/annotations/<split>.json`` (category ids from 1)."""
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for i, (image, target) in enumerate(zip(images, targets, strict=True)):
        name = f"{i:05d}.png"
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(root / split / name)
        entries.append(
            {"id": i, "file_name": name, "width": image.shape[2], "height": image.shape[1]}
        )
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist(), strict=True):
            x1, y1, x2, y2 = box
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i, "category_id": label + 1,
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(class_names)]
    path = root / "annotations" / f"{split}.json"
    path.write_text(
        json.dumps({"images": entries, "annotations": annotations, "categories": categories})
    )
    return path
