"""Predict with a trained detector: images -> PNGs with boxes, plus JSON and CSV of boxes.

Each image is sized to the training canvas exactly as the datamodule does it (from the
checkpoint, via :func:`dlzoo.config.restore.restore`); boxes are mapped back to the input image's
own pixels.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import torch
from omegaconf import DictConfig
from PIL import Image

from dlzoo.errors import ConfigError
from dlzoo.figures.boxes import draw_detections
from dlzoo.inference.inputs import image_files
from dlzoo.inference.predictor import Predictor, as_list
from dlzoo.inference.restored import Restored

log = logging.getLogger(__name__)
COLUMNS = ("input", "class", "score", "x1", "y1", "x2", "y2")


def _fraction(cfg: Any, key: str, default: float, allow_zero: bool) -> float:
    value = cfg.get(key, default)
    ok = isinstance(value, int | float) and (0 <= value <= 1 if allow_zero else 0 < value <= 1)
    if not ok:
        allowed = "between 0 and 1" if allow_zero else "above 0 and at most 1"
        raise ConfigError(f"{key}={value!r}: must be a number {allowed}")
    return float(value)


@torch.no_grad()
def detect_file(model: Restored, path: Path, score_threshold: float, nms_iou: float) -> dict:
    """One image's boxes in its own pixels: ``boxes``, ``scores``, ``labels``."""
    dm = model.datamodule
    canvas, (sx, sy) = dm.prepare_file(path)
    found = model.module.detect(dm.preprocess(canvas[None]), score_threshold, nms_iou)[0]
    boxes = found["boxes"].cpu() / torch.tensor([sx, sy, sx, sy])
    return {"boxes": boxes, "scores": found["scores"].cpu(), "labels": found["labels"].cpu()}


class BoxPredictor(Predictor):
    """Images -> ``<name>_boxes.png`` per image and ``predictions.json`` /
    ``predictions.csv`` in ``output_dir``, boxes in each input image's own pixels."""

    reads: ClassVar[frozenset[str]] = frozenset({"inputs", "output_dir"})
    options: ClassVar[dict[str, Any]] = {"score_threshold": 0.3, "nms_iou": 0.5}
    takes: ClassVar[str] = "inputs=<images or a folder of images>"

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        inputs = as_list(cfg.get("inputs"))
        if not inputs:
            raise ConfigError(f"inputs is required: {self.model_name()} takes {self.takes}")
        return predict_boxes(cfg, self.model, inputs, self.settings)


def remove_earlier_outputs(out_dir: Path) -> None:
    """A second prediction into the same folder replaces ``predictions.json``; the drawings
    of the first (listed there) go too, so the folder never mixes two predictions."""
    listed = out_dir / "predictions.json"
    try:
        earlier = json.loads(listed.read_text())
    except (OSError, ValueError):
        return
    for record in earlier if isinstance(earlier, list) else []:
        image = Path(str(record.get("image", ""))) if isinstance(record, dict) else None
        if image and image.parent == out_dir and image.name.endswith("_boxes.png"):
            image.unlink(missing_ok=True)


def predict_boxes(
    cfg: DictConfig, model: Restored, inputs: list[str], settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """Detect objects in ``inputs``; write ``<name>_boxes.png`` per image and
    ``predictions.json`` / ``predictions.csv`` into ``output_dir``."""
    from dlzoo.data.detection import read_rgb

    score_threshold = _fraction(settings, "score_threshold", 0.3, allow_zero=True)
    nms_iou = _fraction(settings, "nms_iou", 0.5, allow_zero=False)
    out_dir = Path(cfg.get("output_dir") or cfg.paths.output_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"output_dir={str(out_dir)!r}: cannot create it ({err.strerror})"
        ) from None
    remove_earlier_outputs(out_dir)
    names = model.class_names
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for path in image_files(inputs):
        found = detect_file(model, path, score_threshold, nms_iou)
        image = read_rgb(path)
        h, w = image.shape[-2:]
        found["boxes"][:, 0::2] = found["boxes"][:, 0::2].clamp(0, w)
        found["boxes"][:, 1::2] = found["boxes"][:, 1::2].clamp(0, h)
        stem = path.stem if path.stem not in used else f"{path.stem}_{len(used)}"
        used.add(stem)
        png = out_dir / f"{stem}_boxes.png"
        drawn = draw_detections(image, names, found)  # small images enlarged to read
        Image.fromarray(drawn.permute(1, 2, 0).numpy()).save(png)
        boxes = [
            {"class": names[int(c)], "score": round(float(s), 6),
             **dict(zip(("x1", "y1", "x2", "y2"), (round(float(v), 3) for v in b), strict=True))}
            for b, s, c in zip(found["boxes"], found["scores"], found["labels"], strict=True)
        ]  # fmt: skip
        records.append({"input": str(path), "image": str(png), "boxes": boxes})
        if not boxes:  # say how far off the threshold the best guess was
            best = detect_file(model, path, 0.0, nms_iou)["scores"]
            top = f"{float(best.max()):.3f}" if len(best) else "none"
            print(f"{path}: 0 boxes scored score_threshold={score_threshold} or more (the "
                  f"best scored {top}); a lower score_threshold shows weaker detections")  # fmt: skip
            records.append({"input": str(path), "image": str(png), "boxes": []})
            continue
        print(f"{path}: {len(boxes)} boxes" + "".join(
            f"\n  {b['class']} ({b['score']:.3f}) [{b['x1']:.0f}, {b['y1']:.0f}, "
            f"{b['x2']:.0f}, {b['y2']:.0f}]" for b in boxes
        ))  # fmt: skip
    (out_dir / "predictions.json").write_text(json.dumps(records, indent=2))
    with open(out_dir / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in records:
            for b in r["boxes"]:
                writer.writerow([r["input"], *(b[k] for k in COLUMNS[1:])])
    log.info("boxes drawn and listed in %s (predictions.json, predictions.csv)", out_dir)
    return records
