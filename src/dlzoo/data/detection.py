"""The shared half of the detection datamodules: ragged box targets, served resumably.

A split is a uint8 image tensor ``(N, C, H, W)`` (every image already sized to the
configured canvas) and one target dict per image: ``boxes`` ``(G, 4)`` float pixels
``x1, y1, x2, y2`` and ``labels`` ``(G,)`` in ``0..C-1``. Batches are
``(images, [target, ...])``; images become floats in [0, 1] on the batch's device.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dlzoo.data.base import check_global_batch_size, resolve_batch_size
from dlzoo.data.batches import ResumableBatches, shard
from dlzoo.data.spec import DetectionSpec
from dlzoo.errors import ConfigError, DataError

Target = dict[str, Tensor]
DetectionSplit = tuple[Tensor, list[Target]]
RESIZE_MODES = ("letterbox", "stretch")


def empty_target() -> Target:
    return {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}


class DetectionBatches(ResumableBatches):
    """Mini-batches of images with their ragged targets (a list of dicts), seeded per epoch,
    resumable mid-epoch and sharded under DDP like every dlzoo loader."""

    def __init__(
        self,
        images: Tensor,
        targets: Sequence[Target],
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        pad_shards: bool = True,
    ) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        super().__init__(seed, rank, world_size)
        self.images, self.targets = images, list(targets)
        self.batch_size, self.shuffle, self.pad_shards = batch_size, shuffle, pad_shards

    def _order(self, epoch: int) -> Tensor:
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator(epoch)) if self.shuffle else None
        order = torch.arange(n) if order is None else order
        return shard(order, self.rank, self.world_size, "pad" if self.pad_shards else "exact")

    def __len__(self) -> int:
        return -(-len(self._order(0)) // self.batch_size)

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[tuple[Tensor, list[Target]]]:
        order = self._order(epoch)
        for first in range(start * self.batch_size, len(order), self.batch_size):
            idx = order[first : first + self.batch_size]
            yield self.images[idx], [self.targets[i] for i in idx.tolist()]


def fit_to_canvas(
    image: Tensor, size: tuple[int, int], mode: str = "letterbox"
) -> tuple[Tensor, tuple[float, float]]:
    """A uint8 image ``(C, h, w)`` sized to ``size`` (H, W), and the x/y scale applied.

    ``letterbox`` keeps the aspect ratio and pads right and bottom with black; ``stretch``
    scales each axis on its own. Boxes follow by multiplying x by the first scale and y by
    the second (no offset: the image stays at the top-left).
    """
    if mode not in RESIZE_MODES:
        raise ConfigError(f"data.resize_mode={mode!r} is unknown; choose one of {RESIZE_MODES}")
    h, w = image.shape[-2:]
    height, width = size
    if mode == "stretch":
        new_h, new_w = height, width
    else:
        s = min(height / h, width / w)
        new_h, new_w = max(1, round(h * s)), max(1, round(w * s))
    sx, sy = new_w / w, new_h / h
    if (new_h, new_w) != (h, w):
        resized = F.interpolate(
            image[None].float(), size=(new_h, new_w), mode="bilinear", antialias=True
        )
        image = resized[0].round_().clamp_(0, 255).to(torch.uint8)
    canvas = torch.zeros(image.shape[0], height, width, dtype=torch.uint8)
    canvas[:, :new_h, :new_w] = image
    return canvas, (sx, sy)


def read_rgb(path: Path) -> Tensor:
    """One image file as a uint8 RGB tensor ``(3, h, w)``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


class DetectionDataModule(L.LightningDataModule):
    """Splits of images with box targets held in memory, served as
    :class:`DetectionBatches`.

    Args:
        image_size: canvas side (or ``[H, W]``) every image is sized to.
        resize_mode: ``letterbox`` (keep the aspect ratio, pad) or ``stretch``.
        batch_size, eval_batch_size: global batch sizes (training; validation and test).
        seed: seed of the per-epoch shuffle.
    """

    def __init__(
        self,
        image_size: int | Sequence[int] = 128,
        resize_mode: str = "letterbox",
        batch_size: int | str = 32,
        eval_batch_size: int | str | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        size = [image_size] * 2 if isinstance(image_size, int) else list(image_size)
        if len(size) != 2 or min(size) < 8:
            raise ConfigError(f"data.image_size={image_size}: give a side >= 8 or [H, W]")
        if resize_mode not in RESIZE_MODES:
            raise ConfigError(
                f"data.resize_mode={resize_mode!r} is unknown; choose one of {RESIZE_MODES}"
            )
        self.image_size = (int(size[0]), int(size[1]))
        self.resize_mode = resize_mode
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size if eval_batch_size is not None else batch_size
        self.seed = seed
        self.splits: dict[str, DetectionSplit] = {}
        self.restored_state: dict[str, Any] = {}

    # -- what a dataset declares -----------------------------------------------------------
    @property
    @abstractmethod
    def class_names(self) -> tuple[str, ...]:
        """The object classes (label ``i`` is ``class_names[i]``)."""

    @abstractmethod
    def load_splits(self) -> dict[str, DetectionSplit]:
        """``{"train": (images, targets), "val": ..., "test": ...}``."""

    @property
    def spec(self) -> DetectionSpec:
        return DetectionSpec((3, *self.image_size), tuple(self.class_names))

    # -- fitted state (the class list of a dataset read from files) -------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"class_names": list(self.class_names)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.restored_state = dict(state_dict)

    # -- preprocessing ---------------------------------------------------------------------
    def preprocess(self, images: Tensor) -> Tensor:
        """uint8 canvases -> floats in [0, 1] (detectors normalise inside if they need to)."""
        return images.to(torch.float32).div_(255)

    def prepare_file(self, path: Path) -> tuple[Tensor, tuple[float, float]]:
        """A user's image as a training canvas (uint8) and the x/y scale to map boxes back."""
        return fit_to_canvas(read_rgb(path), self.image_size, self.resize_mode)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, targets = batch
        return self.preprocess(images), targets

    # -- loaders ---------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.load_splits()

    def _loader(self, split: str, batch_size: int | str, train: bool) -> DetectionBatches:
        self.setup()
        images, targets = self.splits[split]
        rank, world = (0, 1) if self.trainer is None else self._world()
        size = resolve_batch_size(batch_size, len(images))
        if world > 1 and train:
            check_global_batch_size(size, world)
            size //= world
        loader = DetectionBatches(
            images, targets, size, shuffle=train, seed=self.seed, rank=rank,
            world_size=world, pad_shards=train,
        )  # fmt: skip
        if train and self.trainer is not None:
            trainer = self.trainer
            loader.epoch_source = lambda: int(getattr(trainer, "current_epoch", 0))
        return loader

    def _world(self) -> tuple[int, int]:
        return self.trainer.global_rank, self.trainer.world_size

    def train_dataloader(self) -> DetectionBatches:
        return self._loader("train", self.batch_size, train=True)

    def val_dataloader(self) -> DetectionBatches:
        return self._loader("val", self.eval_batch_size, train=False)

    def test_dataloader(self) -> DetectionBatches:
        return self._loader("test", self.eval_batch_size, train=False)

    @property
    def validates_on_test(self) -> bool:
        return False

    def split_sizes(self) -> dict[str, int]:
        self.setup()
        return {name: len(images) for name, (images, _) in self.splits.items()}


def carve_validation(
    split: DetectionSplit, val_fraction: float, seed: int
) -> tuple[DetectionSplit, DetectionSplit]:
    """Hold out a seeded ``val_fraction`` of a split's images for validation."""
    images, targets = split
    n = len(images)
    n_val = int(round(n * val_fraction))
    if not 0 < n_val < n:
        raise ConfigError(
            f"data.val_fraction={val_fraction}: leaves no validation or training images of {n}"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val, train = order[:n_val], order[n_val:]
    return (
        (images[train], [targets[i] for i in train.tolist()]),
        (images[val], [targets[i] for i in val.tolist()]),
    )
