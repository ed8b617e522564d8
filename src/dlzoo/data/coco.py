"""Your own detection data: a folder of images with a COCO-format annotation file per split."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from dlzoo.data.detection import (
    DetectionDataModule,
    DetectionSplit,
    Target,
    carve_validation,
    fit_to_canvas,
    read_rgb,
)
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)
ON_BAD = ("error", "skip")
#: bad annotations listed in full in one message
LISTED = 10


def read_annotations(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"COCO annotation file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not a JSON file: {err}") from err
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise DataError(f"{path} is not a COCO annotation file: it has no {', '.join(missing)}")
    return data


def check_unique_ids(categories: list[dict[str, Any]], path: Path) -> None:
    """An id listed twice (``{2: green}``, ``{2: lime}``) would train every id-2 box as
    the second name and never the first."""
    names: dict[Any, str] = {}
    for category in categories:
        cid, name = category.get("id"), str(category.get("name", category.get("id")))
        if cid in names:
            raise DataError(
                f"{path}: category id {cid} is listed twice ({names[cid]!r} and {name!r}); "
                f"each category needs an id of its own"
            )
        names[cid] = name


def check_same_categories(
    categories: list[dict[str, Any]], trained: list[dict[str, Any]], path: Path
) -> None:
    """A split whose id -> name mapping differs from the training file's would be scored
    under the training file's names without a word."""
    check_unique_ids(categories, path)
    known = {c["id"]: str(c.get("name", c["id"])) for c in trained}
    for category in categories:
        cid, name = category.get("id"), str(category.get("name", category.get("id")))
        if cid in known and known[cid] != name:
            raise DataError(
                f"{path}: category id {cid} is {name!r} here but {known[cid]!r} in the "
                f"training file; the files must use the same ids for the same classes"
            )


class CocoDetectionDataModule(DetectionDataModule):
    """Images and COCO annotation files (``images``, ``annotations`` with ``bbox`` =
    ``[x, y, width, height]`` in pixels, ``categories``).

    Layout (each path relative to ``root``; override per split): ``annotations/<split>.json``
    with ``file_name`` relative to ``<split>/``. Without a validation file, ``val_fraction``
    of the training images is held out (``split_seed``). Classes are the training file's
    categories in id order. Images of any size are sized to ``image_size`` (``resize_mode``).

    Bad annotations (a box outside its image or of zero area, an unknown category id, a
    missing image file) stop loading with one message naming them (``on_bad: error``) or are
    dropped and counted (``on_bad: skip``).
    """

    def __init__(
        self,
        root: str = "???",
        annotations: dict[str, str | None] | None = None,
        images: dict[str, str | None] | None = None,
        val_fraction: float = 0.1,
        split_seed: int = 42,
        on_bad: str = "error",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if root in (None, "", "???"):
            raise ConfigError("data.root is required: the folder holding your COCO dataset")
        if on_bad not in ON_BAD:
            raise ConfigError(f"data.on_bad={on_bad!r}: choose one of {ON_BAD}")
        self.root = Path(root).expanduser()
        splits = ("train", "val", "test")
        self.annotation_files = {s: f"annotations/{s}.json" for s in splits} | dict(
            annotations or {}
        )
        self.image_dirs = {s: s for s in splits} | dict(images or {})
        self.val_fraction, self.split_seed, self.on_bad = val_fraction, split_seed, on_bad
        self._categories: list[dict[str, Any]] | None = None

    def _file(self, split: str) -> Path | None:
        name = self.annotation_files.get(split)
        return None if not name else self.root / name

    # -- classes: the training file's categories (or a checkpoint's) ---------------------------
    @property
    def categories(self) -> list[dict[str, Any]]:
        if self._categories is None:
            if "category_ids" in self.restored_state:
                ids, names = self.restored_state["category_ids"], self.restored_state["class_names"]
                self._categories = [{"id": i, "name": n} for i, n in zip(ids, names, strict=True)]
            else:
                train = self._file("train")
                if train is None:
                    raise ConfigError("data.annotations.train is required")
                cats = read_annotations(train)["categories"]
                check_unique_ids(cats, train)
                self._categories = sorted(cats, key=lambda c: c["id"])
            if not self._categories:
                raise DataError(f"{self._file('train')} lists no categories")
        return self._categories

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(str(c.get("name", c["id"])) for c in self.categories)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "category_ids": [c["id"] for c in self.categories]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._categories = None

    # -- loading ---------------------------------------------------------------------------
    def load_splits(self) -> dict[str, DetectionSplit]:
        splits = {"train": self._load("train"), "test": self._load("test")}
        val_file = self._file("val")
        if val_file is not None and val_file.is_file():
            splits["val"] = self._load("val")
        else:
            splits["train"], splits["val"] = carve_validation(
                splits["train"], self.val_fraction, self.split_seed
            )
        return splits

    def _load(self, split: str) -> DetectionSplit:
        path = self._file(split)
        if path is None:
            raise ConfigError(f"data.annotations.{split} is required")
        data = read_annotations(path)
        folder = self.root / str(self.image_dirs.get(split) or "")
        index = {c["id"]: i for i, c in enumerate(self.categories)}
        if split != "train":
            check_same_categories(data["categories"], self.categories, path)
        by_image: dict[Any, list[dict[str, Any]]] = {img["id"]: [] for img in data["images"]}
        problems: list[str] = []
        for ann in data["annotations"]:
            if ann.get("image_id") not in by_image:
                problems.append(
                    f"annotation {ann.get('id')}: unknown image_id {ann.get('image_id')}"
                )
            else:
                by_image[ann["image_id"]].append(ann)
        images, targets = [], []
        for entry in sorted(data["images"], key=lambda e: e["id"]):
            file = folder / entry["file_name"]
            if not file.is_file():
                problems.append(f"image {entry['id']}: file {file} does not exist")
                continue
            raw = read_rgb(file)
            h, w = raw.shape[-2:]
            boxes, labels = [], []
            for ann in by_image[entry["id"]]:
                issue = self._check(ann, index, w, h)
                if issue:
                    problems.append(f"annotation {ann.get('id')} of {entry['file_name']}: {issue}")
                    continue
                x, y, bw, bh = (float(v) for v in ann["bbox"])
                boxes.append([x, y, x + bw, y + bh])
                labels.append(index[ann["category_id"]])
            canvas, (sx, sy) = fit_to_canvas(raw, self.image_size, self.resize_mode)
            scale = torch.tensor([sx, sy, sx, sy])
            images.append(canvas)
            targets.append(self._target(boxes, labels, scale))
        self._report(path, problems)
        if not images:
            raise DataError(f"{path}: no usable images in {folder}")
        return torch.stack(images), targets

    @staticmethod
    def _target(boxes: list[list[float]], labels: list[int], scale: torch.Tensor) -> Target:
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4) * scale,
            "labels": torch.tensor(labels, dtype=torch.long),
        }

    @staticmethod
    def _check(ann: dict[str, Any], index: dict[Any, int], width: int, height: int) -> str:
        """What is wrong with one annotation ("" when nothing is)."""
        if ann.get("category_id") not in index:
            return f"unknown category_id {ann.get('category_id')} (known: {sorted(index)})"
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            return f"bbox {bbox!r} is not [x, y, width, height]"
        x, y, bw, bh = (float(v) for v in bbox)
        if bw <= 0 or bh <= 0:
            return f"bbox {bbox} has zero area"
        if x < 0 or y < 0 or x + bw > width + 0.5 or y + bh > height + 0.5:
            return f"bbox {bbox} lies outside the {width}x{height} image"
        return ""

    def _report(self, path: Path, problems: list[str]) -> None:
        if not problems:
            return
        listed = "; ".join(problems[:LISTED])
        more = f"; and {len(problems) - LISTED} more" if len(problems) > LISTED else ""
        if self.on_bad == "error":
            raise DataError(
                f"{path}: {len(problems)} bad annotations or images: {listed}{more}. Fix them, "
                f"or set data.on_bad=skip to leave them out"
            )
        log.warning(
            "%s: skipped %d bad annotations or images (%s%s)", path, len(problems), listed, more
        )
