"""Your own images: a folder of class sub-folders of PNG/JPG files, decoded once into memory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import Split
from dlzoo.data.images import IdxImageDataModule
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SPLIT_FOLDERS = ("train", "val", "test")


BAD_IMAGES = ("error", "skip")


def list_classes(folder: Path) -> list[str]:
    """Class names = the sub-folders holding images, sorted (label i is the i-th name).
    Hidden folders and folders without images are not classes."""
    names, empty = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        (names if list_images(sub) else empty).append(sub.name)
    if empty:
        log.warning("%s: sub-folders without images are not classes: %s", folder, empty)
    return names


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def list_images(folder: Path) -> list[Path]:
    """Image files below ``folder``; hidden files and folders (``.DS_Store``, macOS's
    ``._x.png`` resource forks) are not images."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in EXTENSIONS and p.is_file() and not _hidden(p, folder)
    )


def load_image(path: Path, channels: int, size: int) -> np.ndarray:
    """Decode one image file to uint8 (C, size, size): grey for 1 channel, RGB for 3."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def load_images(
    paths: Sequence[Path], channels: int, size: int, bad_images: str = "error"
) -> tuple[Tensor, list[int]]:
    """Decode many images into one uint8 tensor (N, C, size, size), and which of ``paths``
    it holds. Unreadable files are all named in one error (``bad_images=error``) or left
    out with a warning that counts them (``skip``)."""
    arrays, kept, bad = [], [], []
    for i, path in enumerate(paths):
        try:
            arrays.append(load_image(path, channels, size))
            kept.append(i)
        except DataError as err:
            bad.append(str(err.__cause__ or err))
            bad[-1] = f"{path} ({bad[-1]})"
    if bad and bad_images == "error":
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DataError(
            f"{len(bad)} of {len(paths)} images cannot be read: {shown}. Remove or replace "
            f"them, or set data.bad_images=skip to train without them"
        )
    if bad:
        log.warning("skipped %d unreadable images (data.bad_images=skip): %s", len(bad), bad[:5])
    if not arrays:
        return torch.zeros(0, channels, size, size, dtype=torch.uint8), kept
    return torch.from_numpy(np.stack(arrays)), kept


class ImageFolderDataModule(IdxImageDataModule):
    """Images in class sub-folders (``root/<class>/*.png``), for your own data.

    If ``root`` has ``train/`` and ``test/`` (and optionally ``val/``) folders, each holding
    class sub-folders, those are the splits; otherwise all images are split at random
    (``split_seed``) into ``test_fraction`` test, ``val_fraction`` validation and the rest
    training. Every image is decoded once (PIL), converted to ``channels`` and resized to
    ``image_size`` x ``image_size``, and kept as uint8; ``resize``, ``mean``/``std`` and
    ``augment`` then act per batch as for the built-in datasets.

    Args:
        root: the image folder (required).
        channels: 1 (grey) or 3 (RGB).
        image_size: side length images are stored at.
        val_fraction, test_fraction: split sizes when there are no split folders.
        bad_images: ``error`` (stop before training, naming every unreadable image) or
            ``skip`` (train without them; the log counts them).
    """

    def __init__(
        self,
        root: str | None = None,
        channels: int = 3,
        image_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        bad_images: str = "error",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("system_dir", None)
        kwargs.pop("val_size", None)
        super().__init__(val_size=0, **kwargs)
        if not root:
            raise ConfigError("data.root is required: the folder holding one sub-folder per class")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ConfigError(f"data.root={root!r}: no such folder")
        if channels not in (1, 3):
            raise ConfigError(f"data.channels={channels}: must be 1 (grey) or 3 (RGB)")
        if int(image_size) < 1:
            raise ConfigError(f"data.image_size={image_size}: must be a positive integer")
        for key, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0.0 <= frac < 1.0:
                raise ConfigError(f"data.{key}={frac}: must be in [0, 1)")
        if val_fraction + test_fraction >= 1.0:
            raise ConfigError("data.val_fraction + data.test_fraction must leave training images")
        if bad_images not in BAD_IMAGES:
            raise ConfigError(f"data.bad_images={bad_images!r}: choose one of {list(BAD_IMAGES)}")
        self.bad_images = bad_images
        self.channels = int(channels)
        self.image_size = int(image_size)
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.has_split_folders = all((self.root / s).is_dir() for s in ("train", "test"))
        self.class_names = tuple(
            list_classes(self.root / "train" if self.has_split_folders else self.root)
        )
        if len(self.class_names) < 2:
            raise DataError(
                f"{self.root} has {len(self.class_names)} class sub-folder(s); image_folder needs "
                f"at least two (root/<class>/*.png, or root/train/<class> and root/test/<class>)"
            )

    @property
    def validates_on_test(self) -> bool:
        if self.has_split_folders:
            return not (self.root / "val").is_dir()
        return self.val_fraction == 0

    def _load_labelled(self, folder: Path) -> Split:
        paths, labels = [], []
        for label, name in enumerate(self.class_names):
            found = list_images(folder / name) if (folder / name).is_dir() else []
            paths += found
            labels += [label] * len(found)
        extra = set(list_classes(folder)) - set(self.class_names)
        if extra:
            raise DataError(f"{folder} has classes {sorted(extra)} that the training folder lacks")
        images, kept = load_images(paths, self.channels, self.image_size, self.bad_images)
        return images, torch.tensor([labels[i] for i in kept], dtype=torch.long)

    def load_splits(self) -> dict[str, Split]:
        self.source = str(self.root)
        if self.has_split_folders:
            train = self._load_labelled(self.root / "train")
            test = self._load_labelled(self.root / "test")
            val = self._load_labelled(self.root / "val") if (self.root / "val").is_dir() else test
            if not len(train[0]):
                raise DataError(f"{self.root / 'train'} holds no images ({', '.join(EXTENSIONS)})")
            return {"train": train, "val": val, "test": test}
        x, y = self._load_labelled(self.root)
        n = len(x)
        n_test, n_val = int(round(n * self.test_fraction)), int(round(n * self.val_fraction))
        if n - n_test - n_val < 1 or (self.test_fraction and not n_test):
            raise DataError(f"{self.root} holds {n} images: too few to split into train/val/test")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed))
        test_idx, val_idx, train_idx = (
            order[:n_test],
            order[n_test : n_test + n_val],
            order[n_test + n_val :],
        )
        test = (x[test_idx], y[test_idx])
        return {
            "train": (x[train_idx], y[train_idx]),
            "val": (x[val_idx], y[val_idx]) if n_val else test,
            "test": test,
        }
