"""MNIST-style image datasets, decoded once into uint8 tensors held in memory."""

from __future__ import annotations

import contextlib
import gzip
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from dlzoo.data.augment import make_augment
from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.idx import read_idx
from dlzoo.data.spec import ClassificationSpec
from dlzoo.errors import ConfigError, DataError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_files(
    data_dir: Path, folder: str, system_dir: Path | None, download: bool
) -> tuple[dict[str, tuple[Path, Path]], str]:
    """Locate the four IDX files, offline first.

    Order: ``<data_dir>/<folder>/raw`` (torchvision's cache layout, read in place) ->
    ``system_dir`` holding ``*.gz`` files (a Debian dataset package; decompressed into the
    data dir when it is writable, else read compressed) -> torchvision's download -> error.
    Returns the paths per split and a word on where they came from.
    """
    names = [n for pair in IDX_FILES.values() for n in pair]
    raw = data_dir / folder / "raw"

    def layout(root: Path, suffix: str = "") -> dict[str, tuple[Path, Path]]:
        return {s: (root / (a + suffix), root / (b + suffix)) for s, (a, b) in IDX_FILES.items()}

    if all((raw / n).is_file() for n in names):
        return layout(raw), f"{raw}"
    if system_dir is not None and all((system_dir / f"{n}.gz").is_file() for n in names):
        try:
            raw.mkdir(parents=True, exist_ok=True)
            for n in names:
                with gzip.open(system_dir / f"{n}.gz") as src, open(raw / n, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            return layout(raw), f"{system_dir} (decompressed into {raw})"
        except OSError:  # read-only data dir: read the compressed files directly
            return layout(system_dir, ".gz"), f"{system_dir}"
    if download:
        import torchvision.datasets as tvd

        created = [p for p in (raw, raw.parent, data_dir) if not p.exists()]
        try:
            getattr(tvd, folder)(root=str(data_dir), train=True, download=True)
            getattr(tvd, folder)(root=str(data_dir), train=False, download=True)
        except Exception as err:  # network errors come in many types
            remove_empty_folders(created)  # a failed download leaves no empty folders behind
            raise DataError(_missing_message(folder, raw, system_dir, err)) from err
        return layout(raw), f"downloaded into {raw}"
    raise DataError(_missing_message(folder, raw, system_dir, None))


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) if it exists and is empty."""
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty, or already gone
            folder.rmdir()


def _missing_message(folder: str, raw: Path, system_dir: Path | None, err: Exception | None) -> str:
    from dlzoo.data.sources import DATA_DIR_VARIABLE, debian_package, describe_error

    why = f"the download failed ({describe_error(err)})" if err else "downloads are off"
    package = debian_package(folder)
    debian = (
        f" or, on Debian/Ubuntu, `apt-get install {package}` (puts them in {system_dir})"
        if system_dir and package
        else ""
    )
    return (
        f"{folder} is not available: {why}. Put the four IDX files "
        f"({', '.join(n for pair in IDX_FILES.values() for n in pair)}) in {raw}{debian}; "
        f"or `export {DATA_DIR_VARIABLE}=<folder that has {folder}/raw>` (or pass "
        f"paths.data_dir=<folder>)."
    )


#: ``preprocess_once: auto`` keeps the float splits in memory only up to this size
AUTO_PREPROCESS_MAX_BYTES = 1 << 30


class IdxImageDataModule(InMemoryDataModule):
    """A torchvision MNIST-family dataset held in memory as uint8 tensors.

    The IDX files are decoded once; every batch is converted to float, optionally resized
    and normalised on its device (``transform_batch``), so there is no per-sample PIL work.

    Args:
        data_dir: dataset root (torchvision layout: ``<data_dir>/<folder>/raw``).
        val_size: training images held out for validation (fixed ``split_seed``).
        split_seed: seed of the train/validation split.
        resize: side length to resize images to (``null`` keeps 28).
        mean, std: normalisation constants (``null`` skips normalisation, giving [0, 1]);
            one number for all channels or one per channel.
        augment: training-only augmentation (``crop_padding``, ``hflip``, ``erasing``; see
            :class:`~dlzoo.data.augment.BatchAugment`), or ``null``.
        system_dir: folder of a system dataset package with ``*.gz`` IDX files.
        download: allow torchvision to download when nothing local is found.
        preprocess_once: convert and normalise the whole splits once, at setup, instead of
            every batch: ``auto`` does it when training on a CPU without resizing or
            augmentation and the float splits take at most 1 GiB (4x the memory of the
            uint8 images, less work per step); ``true``
            forces it (also without a CPU), ``false`` never.
    """

    folder: str = ""
    class_names: tuple[str, ...] = ()
    channels: int = 1
    image_size: int = 28
    debian_dir: str | None = None

    def __init__(
        self,
        data_dir: str = "data",
        val_size: int = 5000,
        split_seed: int = 42,
        resize: int | None = None,
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
        system_dir: str | None = "default",
        download: bool = True,
        augment: dict | None = None,
        preprocess_once: bool | str = "auto",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        whole = isinstance(resize, int) and not isinstance(resize, bool)
        if resize is not None and (not whole or resize < 1):
            raise ConfigError(
                f"data.resize={resize!r}: must be a positive whole image size (pixels) or null"
            )
        if (mean is None) != (std is None):
            raise ConfigError("data.mean and data.std must be given together (or both null)")
        self.data_dir = Path(data_dir)
        self.val_size = val_size
        self.split_seed = split_seed
        self.resize = int(resize) if resize is not None else None
        self.mean, self.std = mean, std
        self.system_dir = Path(self.debian_dir or "") if system_dir == "default" else system_dir
        if isinstance(self.system_dir, str):
            self.system_dir = Path(self.system_dir)
        self.download = download
        self.augment = make_augment(augment)
        if preprocess_once not in (True, False, "auto"):
            raise ConfigError(f"data.preprocess_once={preprocess_once!r}: use auto, true or false")
        self.preprocess_once = preprocess_once
        self.preprocessed = False  # the splits hold preprocessed float images
        self._normalisers: dict[tuple[Any, ...], tuple[Tensor, Tensor]] = {}
        self.source = ""

    @property
    def spec(self) -> ClassificationSpec:
        side = self.resize or self.image_size
        return ClassificationSpec((self.channels, side, side), tuple(self.class_names))

    def load_splits(self) -> dict[str, Split]:
        files, self.source = find_idx_files(
            self.data_dir, self.folder, self.system_dir if self.system_dir else None, self.download
        )
        data = {}
        for split, (img_path, lbl_path) in files.items():
            images, labels = read_idx(img_path), read_idx(lbl_path)
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise DataError(
                    f"{img_path} / {lbl_path}: expected N images of HxW and N labels, got "
                    f"shapes {tuple(images.shape)} and {tuple(labels.shape)}"
                )
            if len(labels) and int(labels.max()) >= len(self.class_names):
                raise DataError(f"{lbl_path}: label {int(labels.max())} out of range")
            data[split] = (images.unsqueeze(1).contiguous(), labels.long())
        return self.split_train_val(data["train"], data["test"])

    @property
    def validates_on_test(self) -> bool:
        return self.val_size == 0

    def split_train_val(self, train: Split, test: Split) -> dict[str, Split]:
        """Hold out ``val_size`` training examples (seeded) for validation; with
        ``val_size=0`` the test split doubles as validation."""
        train_x, train_y = train
        if not 0 <= self.val_size < len(train_x):
            raise ConfigError(
                f"data.val_size={self.val_size}: must be between 0 and {len(train_x) - 1}"
            )
        order = torch.randperm(
            len(train_x), generator=torch.Generator().manual_seed(self.split_seed)
        )
        val_idx, train_idx = order[: self.val_size], order[self.val_size :]
        return {
            "train": (train_x[train_idx], train_y[train_idx]),
            "val": (train_x[val_idx], train_y[val_idx]) if self.val_size else test,
            "test": test,
        }

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if not self.preprocessed and self._should_preprocess_once():
            self.splits = {name: (self.preprocess(x), y) for name, (x, y) in self.splits.items()}
            self.preprocessed = True

    def _should_preprocess_once(self) -> bool:
        if self.preprocess_once is False or self.resize is not None or self.augment is not None:
            return False
        if self.preprocess_once is True:
            return True
        trainer = self.trainer  # auto: only when training (or testing) on a CPU
        if trainer is None or trainer.strategy.root_device.type != "cpu":
            return False
        floats = sum(x.numel() for x, _ in self.splits.values()) * 4
        return floats <= AUTO_PREPROCESS_MAX_BYTES

    def transform_batch(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        if self.preprocessed:
            return batch
        x, *rest = batch
        trainer = self.trainer
        training = trainer is not None and trainer.training
        return (self.preprocess(x, augment=training), *rest)

    def preprocess(self, images: Tensor, augment: bool = False) -> Tensor:
        """uint8 images (N, C, H, W) -> float, resized and normalised like in training;
        ``augment`` adds the configured training augmentation."""
        x = images.to(torch.float32, copy=True).div_(255)  # a new tensor: in place from here
        if self.resize is not None and tuple(x.shape[-2:]) != (self.resize, self.resize):
            x = F.interpolate(
                x, size=(self.resize, self.resize), mode="bilinear", align_corners=False
            )
        aug = self.augment if augment else None
        if aug is not None:
            x = aug.geometric(x)
        if self.mean is not None:
            mean, std = self._normaliser(x)
            x = x.sub_(mean).div_(std)
        if aug is not None:
            x = aug.erase(x)
        return x

    def _normaliser(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``data.mean``/``data.std`` as tensors on ``x``'s device, made once per device and
        dtype (copying them to a GPU for every batch would wait for the GPU each step)."""
        key = (x.device, x.dtype, x.shape[1], repr(self.mean), repr(self.std))
        if key not in self._normalisers:
            mean = channel_stats(self.mean, x, "mean")
            self._normalisers[key] = (mean, channel_stats(self.std, x, "std"))
        return self._normalisers[key]


def channel_stats(value: float | Sequence[float], x: Tensor, key: str) -> Tensor:
    """``data.mean``/``data.std`` as a (C, 1, 1) tensor: one value for all channels, or one
    per channel (3 for RGB)."""
    t = torch.as_tensor(value, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
    if len(t) not in (1, x.shape[1]):
        raise ConfigError(
            f"data.{key}={list(t.flatten().tolist())}: give one value or one per channel "
            f"({x.shape[1]} for these images)"
        )
    return t


class FashionMNISTDataModule(IdxImageDataModule):
    """Fashion-MNIST (Zalando): 60k train / 10k test 28x28 grey images of 10 clothing types."""

    folder = "FashionMNIST"
    debian_dir = "/usr/share/datasets/fashion-mnist"
    class_names = (
        "t-shirt",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    )
