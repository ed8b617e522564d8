"""CIFAR-10 from torchvision's on-disk layout (``cifar-10-batches-py``), held in memory."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.base import Split
from dlzoo.data.images import IdxImageDataModule
from dlzoo.errors import DataError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)

#: the only globals a CIFAR batch file may name: numpy's array reconstruction (and the
#: bytes codec that Python 3's protocol-2 pickles use for raw bytes)
_ALLOWED = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only, so a tampered file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def read_batch(path: Path) -> dict[str, Any]:
    """One pickled CIFAR batch as a dict with ``str`` keys (``data``, ``labels`` ...)."""
    try:
        raw = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as err:
        raise DataError(f"cannot read CIFAR batch file {path}: {err}") from err
    if not isinstance(raw, dict):
        raise DataError(f"{path} is not a CIFAR batch file (it holds a {type(raw).__name__})")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def load_batches(paths: list[Path], num_classes: int) -> Split:
    """Concatenate batch files into uint8 images (N, 3, 32, 32) and int64 labels."""
    images, labels = [], []
    for path in paths:
        batch = read_batch(path)
        if "data" not in batch or not ({"labels", "fine_labels"} & batch.keys()):
            raise DataError(f"{path}: a CIFAR batch needs 'data' and 'labels' entries")
        data = np.asarray(batch["data"], dtype=np.uint8)
        lbl = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(lbl):
            raise DataError(
                f"{path}: expected N rows of 3072 bytes and N labels, got data of shape "
                f"{data.shape} and {len(lbl)} labels"
            )
        if len(lbl) and (lbl.min() < 0 or lbl.max() >= num_classes):
            raise DataError(f"{path}: labels must be in 0..{num_classes - 1}")
        images.append(torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()))
        labels.append(torch.from_numpy(lbl))
    return torch.cat(images), torch.cat(labels)


class CIFAR10DataModule(IdxImageDataModule):
    """CIFAR-10: 50k train / 10k test 32x32 colour images of 10 classes.

    Looked up offline first in ``<data_dir>/cifar-10-batches-py`` (torchvision's layout:
    ``torchvision.datasets.CIFAR10(root=data_dir)`` uses the same folder), then downloaded
    by torchvision when ``download`` is true. Images are stored as uint8 and converted,
    resized, augmented and normalised per batch like the MNIST-style datasets.
    """

    folder = FOLDER
    channels = 3
    image_size = 32
    class_names = (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )

    def __init__(self, *args: Any, system_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, system_dir=system_dir, **kwargs)

    def find_files(self) -> Path:
        root = self.data_dir / FOLDER
        names = (*TRAIN_FILES, *TEST_FILES)
        if all((root / n).is_file() for n in names):
            self.source = str(root)
            return root
        if self.download:
            import torchvision.datasets as tvd

            try:
                tvd.CIFAR10(root=str(self.data_dir), train=True, download=True)
            except Exception as err:  # network errors come in many types
                from dlzoo.data.sources import describe_error

                raise DataError(
                    self._missing(f"the download failed ({describe_error(err)})")
                ) from err
            self.source = f"downloaded into {root}"
            return root
        raise DataError(self._missing("downloads are off"))

    def _missing(self, why: str) -> str:
        return (
            f"CIFAR-10 is not available: {why}. Put torchvision's {FOLDER} folder (files "
            f"{', '.join((*TRAIN_FILES, *TEST_FILES))}) in {self.data_dir}, or point "
            f"DLZOO_DATA_DIR (or paths.data_dir) at a folder that holds it."
        )

    def load_splits(self) -> dict[str, Split]:
        root = self.find_files()
        n = len(self.class_names)
        train = load_batches([root / f for f in TRAIN_FILES], n)
        test = load_batches([root / f for f in TEST_FILES], n)
        return self.split_train_val(train, test)
