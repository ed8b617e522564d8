"""Generated detection canvases of Fashion-MNIST items (like the book's banana dataset,
but with 10 classes and several objects per image), made in memory in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dlzoo.data.detection import DetectionDataModule, DetectionSplit, Target
from dlzoo.data.idx import read_idx
from dlzoo.data.images import FashionMNISTDataModule, find_idx_files
from dlzoo.errors import ConfigError

BACKGROUNDS = ("texture", "black")
#: an item pixel is part of the object (and of its box) above this intensity (0..1)
VISIBLE = 0.1


#: canvases whose backgrounds are drawn in one go (bounds the float memory)
CHUNK = 256


def backgrounds(
    rng: np.random.Generator, count: int, height: int, width: int, kind: str
) -> np.ndarray:
    """``count`` backgrounds ``(N, 3, H, W)`` in 0..1: black, or dim coloured smooth
    patterns with fine grain (``texture``)."""
    if kind == "black":
        return np.zeros((count, 3, height, width), np.float32)
    coarse = torch.from_numpy(rng.uniform(0.0, 0.35, size=(count, 3, 6, 6)).astype(np.float32))
    smooth = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
    grain = rng.standard_normal(size=(count, 3, height, width), dtype=np.float32) * 0.04
    return np.clip(smooth.numpy() + grain, 0.0, 1.0)


def max_iou(box: list[int], others: list[list[int]]) -> float:
    """The largest IoU of ``box`` with any of ``others`` (0 when there are none)."""
    if not others:
        return 0.0
    o = np.asarray(others, dtype=np.float64)
    iw = np.clip(np.minimum(o[:, 2], box[2]) - np.maximum(o[:, 0], box[0]), 0, None)
    ih = np.clip(np.minimum(o[:, 3], box[3]) - np.maximum(o[:, 1], box[1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    union = area + (o[:, 2] - o[:, 0]) * (o[:, 3] - o[:, 1]) - inter
    return float((inter / union).max())


def make_canvases(
    items: Tensor,
    labels: Tensor,
    count: int,
    rng: np.random.Generator,
    size: tuple[int, int],
    item_size: tuple[int, int],
    max_items: int,
    max_overlap: float,
    background: str,
) -> DetectionSplit:
    """``count`` canvases holding 1..``max_items`` items each, boxes tight around each
    item's visible pixels (after later items are drawn over it)."""
    height, width = size
    images = np.zeros((count, 3, height, width), dtype=np.uint8)
    targets: list[Target] = []
    tiles: dict[tuple[int, int], np.ndarray] = {}
    for n in range(count):
        if n % CHUNK == 0:
            chunk = backgrounds(rng, min(CHUNK, count - n), height, width, background)
        canvas = chunk[n % CHUNK]
        owner = np.full((height, width), -1, dtype=np.int64)
        placed: list[list[int]] = []
        kept_labels: list[int] = []
        for _ in range(int(rng.integers(1, max_items + 1))):
            side = int(rng.integers(item_size[0], item_size[1] + 1))
            pick = int(rng.integers(len(items)))
            if (pick, side) not in tiles:
                tiles[pick, side] = F.interpolate(
                    items[pick][None, None].float() / 255, size=(side, side), mode="bilinear",
                    align_corners=False, antialias=side < items.shape[-1],
                )[0, 0].numpy()  # fmt: skip
            tile = tiles[pick, side]
            ys, xs = np.nonzero(tile > VISIBLE)
            if len(ys) == 0:
                continue
            tight = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            for _attempt in range(20):
                x0 = int(rng.integers(0, width - side + 1))
                y0 = int(rng.integers(0, height - side + 1))
                box = [tight[0] + x0, tight[1] + y0, tight[2] + x0, tight[3] + y0]
                if max_iou(box, placed) <= max_overlap:
                    break
            else:
                continue
            alpha = tile[None]
            color = rng.uniform(0.6, 1.0, size=(3, 1, 1)).astype(np.float32)
            region = canvas[:, y0 : y0 + side, x0 : x0 + side]
            canvas[:, y0 : y0 + side, x0 : x0 + side] = region * (1 - alpha) + color * alpha
            owner[y0 : y0 + side, x0 : x0 + side][tile > VISIBLE] = len(placed)
            placed.append([int(v) for v in box])
            kept_labels.append(int(labels[pick]))
        images[n] = np.round(canvas * 255).astype(np.uint8)
        targets.append(visible_boxes(owner, kept_labels))
    return torch.from_numpy(images), targets


def visible_boxes(owner: np.ndarray, labels: list[int]) -> Target:
    """Boxes tight around the pixels each item still owns; fully covered items are not
    objects any more."""
    boxes, classes = [], []
    for i, label in enumerate(labels):
        ys, xs = np.nonzero(owner == i)
        if len(ys):
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            classes.append(label)
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(classes, dtype=torch.long),
    }


class FashionDetectionDataModule(DetectionDataModule):
    """Canvases of 1..``max_items`` Fashion-MNIST items, scaled and placed at random.

    Training canvases use items of Fashion-MNIST's training split (validation canvases a
    seeded ``val_item_fraction`` of those items, never shown in training canvases); test
    canvases use its test split. Everything is seeded by ``data_seed``.

    Args:
        data_dir: dataset root holding ``FashionMNIST/raw`` (see ``data=fashion_mnist``).
        num_train, num_val, num_test: canvases per split.
        item_size: ``[min, max]`` side in pixels an item's 28x28 tile is scaled to.
        max_items: most items per canvas (at least one).
        max_overlap: largest IoU a new item's box may have with one already placed.
        background: ``texture`` (dim coloured noise) or ``black``.
    """

    def __init__(
        self,
        data_dir: str = "data",
        num_train: int = 4000,
        num_val: int = 500,
        num_test: int = 500,
        item_size: tuple[int, int] = (20, 64),
        max_items: int = 4,
        max_overlap: float = 0.2,
        background: str = "texture",
        val_item_fraction: float = 0.1,
        data_seed: int = 0,
        download: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        lo, hi = (int(v) for v in item_size)
        if not 4 <= lo <= hi <= min(self.image_size):
            raise ConfigError(
                f"data.item_size={list(item_size)}: need 4 <= min <= max <= the canvas side "
                f"({min(self.image_size)})"
            )
        if background not in BACKGROUNDS:
            raise ConfigError(f"data.background={background!r}: choose one of {BACKGROUNDS}")
        if max_items < 1 or min(num_train, num_val, num_test) < 1:
            raise ConfigError("data.max_items and data.num_train/num_val/num_test must be >= 1")
        self.data_dir = Path(data_dir)
        self.counts = {"train": num_train, "val": num_val, "test": num_test}
        self.item_size = (lo, hi)
        self.max_items, self.max_overlap = int(max_items), float(max_overlap)
        self.background, self.val_item_fraction = background, float(val_item_fraction)
        self.data_seed, self.download = int(data_seed), download

    @property
    def class_names(self) -> tuple[str, ...]:
        return FashionMNISTDataModule.class_names

    def load_splits(self) -> dict[str, DetectionSplit]:
        files, _ = find_idx_files(
            self.data_dir,
            "FashionMNIST",
            Path(FashionMNISTDataModule.debian_dir or ""),
            self.download,
        )
        raw = {s: (read_idx(i), read_idx(lb).long()) for s, (i, lb) in files.items()}
        train_x, train_y = raw["train"]
        order = torch.randperm(
            len(train_x), generator=torch.Generator().manual_seed(self.data_seed)
        )
        n_val = int(len(order) * self.val_item_fraction)
        pools = {
            "train": (train_x[order[n_val:]], train_y[order[n_val:]]),
            "val": (train_x[order[:n_val]], train_y[order[:n_val]]),
            "test": raw["test"],
        }
        splits = {}
        for i, (name, (x, y)) in enumerate(pools.items()):
            rng = np.random.default_rng([self.data_seed, i])
            splits[name] = make_canvases(
                x, y, self.counts[name], rng, self.image_size, self.item_size,
                self.max_items, self.max_overlap, self.background,
            )  # fmt: skip
        return splits
