"""The book's banana-detection dataset (d2l 14.6): 256x256 images, one banana each."""

from __future__ import annotations

import csv
import logging
import zipfile
from pathlib import Path

import torch

from dlzoo.data.detection import (
    DetectionDataModule,
    DetectionSplit,
    carve_validation,
    fit_to_canvas,
    read_rgb,
)
from dlzoo.errors import DataError

log = logging.getLogger(__name__)
URL = "http://d2l-data.s3-accelerate.amazonaws.com/banana-detection.zip"
FOLDER = "banana-detection"
SPLIT_FOLDERS = {"train": "bananas_train", "test": "bananas_val"}


def download(data_dir: Path) -> None:
    """Fetch and unpack the book's zip into ``data_dir``."""
    from urllib.request import urlretrieve

    data_dir.mkdir(parents=True, exist_ok=True)
    archive = data_dir / "banana-detection.zip"
    urlretrieve(URL, archive)
    with zipfile.ZipFile(archive) as z:
        z.extractall(data_dir)


class BananaDataModule(DetectionDataModule):
    """``<data_dir>/banana-detection/bananas_{train,val}/label.csv`` and ``images/`` (the
    book's layout; downloaded when missing and ``download`` is true). The book's validation
    folder is the test split here; validation is a seeded ``val_fraction`` of training."""

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = True,
        val_fraction: float = 0.1,
        split_seed: int = 42,
        **kwargs,
    ) -> None:
        kwargs.setdefault("image_size", 256)
        super().__init__(**kwargs)
        self.data_dir = Path(data_dir)
        self.download = download
        self.val_fraction, self.split_seed = val_fraction, split_seed

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("banana",)

    def _root(self) -> Path:
        root = self.data_dir / FOLDER
        labels = [root / f / "label.csv" for f in SPLIT_FOLDERS.values()]
        if all(p.is_file() for p in labels):
            return root
        why = "downloads are off (data.download=false)"
        if self.download:
            try:
                download(self.data_dir)
                return root
            except OSError as err:  # network errors, a read-only folder
                why = f"the download from {URL} failed ({type(err).__name__}: {err})"
        raise DataError(
            f"the banana dataset is not available: {why}. Put the book's banana-detection "
            f"folder (bananas_train/ and bananas_val/, each with label.csv and images/) in "
            f"{self.data_dir}, or point DLZOO_DATA_DIR (paths.data_dir) at a folder that has it"
        )

    def _read(self, folder: Path) -> DetectionSplit:
        images, targets = [], []
        with open(folder / "label.csv", newline="") as f:
            for row in csv.DictReader(f):
                raw = read_rgb(folder / "images" / row["img_name"])
                canvas, (sx, sy) = fit_to_canvas(raw, self.image_size, self.resize_mode)
                box = [float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")]
                scale = torch.tensor([sx, sy, sx, sy])
                images.append(canvas)
                targets.append(
                    {
                        "boxes": torch.tensor([box]) * scale,
                        "labels": torch.tensor([int(row["label"])], dtype=torch.long),
                    }
                )
        return torch.stack(images), targets

    def load_splits(self) -> dict[str, DetectionSplit]:
        root = self._root()
        train = self._read(root / SPLIT_FOLDERS["train"])
        train, val = carve_validation(train, self.val_fraction, self.split_seed)
        return {"train": train, "val": val, "test": self._read(root / SPLIT_FOLDERS["test"])}
