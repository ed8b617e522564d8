"""Writers of tiny image datasets in the on-disk formats the image datamodules read."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

CIFAR_FOLDER = "cifar-10-batches-py"


def banded_images(
    rng: np.random.Generator, n: int, channels: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Learnable images: class ``k`` is a bright horizontal band at a class-specific row."""
    labels = rng.integers(0, 10, size=n)
    images = rng.integers(0, 60, size=(n, channels, size, size)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, :, 2 + 2 * label : 4 + 2 * label, :] = 250
    return images, labels


def write_tiny_cifar10(root: Path, per_batch: int = 24, n_test: int = 40, seed: int = 0) -> Path:
    """Write ``root/cifar-10-batches-py`` exactly as torchvision stores CIFAR-10: pickled
    dicts with bytes keys, ``data`` as (N, 3072) uint8 rows (channel-major) and ``labels``."""
    rng = np.random.default_rng(seed)
    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)

    def dump(name: str, n: int) -> None:
        images, labels = banded_images(rng, n, 3, 32)
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in labels],
            b"data": images.reshape(n, -1),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(n)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)

    for i in range(1, 6):
        dump(f"data_batch_{i}", per_batch)
    dump("test_batch", n_test)
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return root


def write_png_folder(
    root: Path,
    classes: tuple[str, ...] = ("cat", "dog", "fox"),
    per_class: int = 6,
    size: int = 20,
    seed: int = 0,
) -> Path:
    """Class sub-folders of small RGB PNG (and one JPG) images, each class a different colour."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 40, size=(size, size, 3)).astype(np.uint8)
            img[..., k % 3] = 220
            ext = "jpg" if i == 0 else "png"
            Image.fromarray(img).save(folder / f"{i}.{ext}")
    return root


@pytest.fixture(scope="module", autouse=False)
def one_thread() -> Iterator[None]:
    """Run torch on one thread for a module: on a small, crowded CPU, two OpenMP threads that
    wait for each other make small convolutions up to 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
