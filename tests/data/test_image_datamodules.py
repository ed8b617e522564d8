"""MNIST, CIFAR-10 and image-folder datamodules, channel-aware normalisation, augmentation."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_tiny_idx_dataset
from dlzoo.data import CIFAR10DataModule, ImageFolderDataModule, MNISTDataModule
from dlzoo.data.augment import BatchAugment, make_augment
from dlzoo.errors import ConfigError, DataError
from image_data import write_png_folder, write_tiny_cifar10


def test_mnist_reads_the_torchvision_layout(tmp_path: Path):
    write_tiny_idx_dataset(tmp_path, folder="MNIST")
    dm = MNISTDataModule(data_dir=str(tmp_path), val_size=20, download=False)
    assert dm.spec.input_shape == (1, 28, 28) and dm.spec.class_names[3] == "3"
    assert dm.split_sizes() == {"train": 100, "val": 20, "test": 40}


def test_mnist_missing_offline_names_the_folder(tmp_path: Path):
    with pytest.raises(DataError, match="MNIST/raw"):
        MNISTDataModule(data_dir=str(tmp_path), download=False).setup()


def test_cifar10_reads_torchvision_batches(tmp_path: Path):
    write_tiny_cifar10(tmp_path, per_batch=10, n_test=12)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), val_size=5, download=False)
    assert dm.spec.input_shape == (3, 32, 32) and dm.spec.class_names[0] == "airplane"
    assert dm.split_sizes() == {"train": 45, "val": 5, "test": 12}
    x, y = dm.splits["test"]
    assert x.dtype == torch.uint8 and x.shape == (12, 3, 32, 32)
    # pixel rows are channel-major, as in the real files: the test image equals its bytes
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    np.testing.assert_array_equal(x[3].numpy().reshape(-1), raw[b"data"][3])
    assert y.tolist() == list(raw[b"labels"])


def test_cifar10_refuses_pickles_that_run_code(tmp_path: Path):
    write_tiny_cifar10(tmp_path, per_batch=4, n_test=4)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    with pytest.raises(DataError, match="not allowed"):
        CIFAR10DataModule(data_dir=str(tmp_path), val_size=2, download=False).setup()


def test_cifar10_missing_offline(tmp_path: Path):
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        CIFAR10DataModule(data_dir=str(tmp_path), download=False).setup()


def test_per_channel_normalisation(tmp_path: Path):
    write_tiny_cifar10(tmp_path, per_batch=4, n_test=4)
    mean, std = [0.1, 0.5, 0.9], [0.5, 0.25, 0.125]
    dm = CIFAR10DataModule(data_dir=str(tmp_path), val_size=2, mean=mean, std=std, download=False)
    images = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    out = dm.preprocess(images)
    for c in range(3):
        torch.testing.assert_close(out[:, c], (images[:, c].float() / 255 - mean[c]) / std[c])
    dm.mean, dm.std = [0.1, 0.2], [1.0, 1.0]
    with pytest.raises(ConfigError, match="one per channel"):
        dm.preprocess(images)


def test_image_folder_random_split(tmp_path: Path):
    write_png_folder(tmp_path, per_class=10)
    dm = ImageFolderDataModule(
        root=str(tmp_path), channels=3, image_size=16, val_fraction=0.1, test_fraction=0.2
    )
    assert dm.spec.class_names == ("cat", "dog", "fox") and dm.spec.input_shape == (3, 16, 16)
    assert dm.split_sizes() == {"train": 21, "val": 3, "test": 6}
    x, y = dm.splits["train"]
    assert x.dtype == torch.uint8
    # each class is bright in its own colour channel: the labels follow the folders
    brightest = x.float().mean(dim=(2, 3)).argmax(dim=1)
    assert torch.equal(brightest, y)


def test_image_folder_split_folders_and_grey(tmp_path: Path):
    write_png_folder(tmp_path / "train", classes=("a", "b"), per_class=3)
    write_png_folder(tmp_path / "test", classes=("a", "b"), per_class=2)
    dm = ImageFolderDataModule(root=str(tmp_path), channels=1, image_size=8)
    assert dm.spec.input_shape == (1, 8, 8)
    assert dm.split_sizes() == {"train": 6, "val": 4, "test": 4}


def test_image_folder_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="data.root"):
        ImageFolderDataModule(root=str(tmp_path / "nope"))
    (tmp_path / "only").mkdir()
    with pytest.raises(DataError, match="at least two"):
        ImageFolderDataModule(root=str(tmp_path))
    write_png_folder(tmp_path / "imgs", per_class=2)
    (tmp_path / "imgs" / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        ImageFolderDataModule(root=str(tmp_path / "imgs")).setup()


def test_augment_crop_and_flip_move_pixels_but_keep_shape():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float).reshape(2, 1, 6, 6)
    flip = BatchAugment(hflip=1.0).geometric(x)
    torch.testing.assert_close(flip, x.flip(-1))
    gen = torch.Generator().manual_seed(0)
    crops = BatchAugment(crop_padding=2).geometric(x.repeat(50, 1, 1, 1), generator=gen)
    assert crops.shape == (100, 1, 6, 6)
    # every crop is a shifted window of the zero-padded image
    padded = torch.nn.functional.pad(x[0:1], (2, 2, 2, 2))
    windows = {
        tuple(padded[0, 0, i : i + 6, j : j + 6].flatten().tolist())
        for i in range(5)
        for j in range(5)
    }
    assert all(tuple(c[0].flatten().tolist()) in windows for c in crops[::2])
    assert len({tuple(c.flatten().tolist()) for c in crops[::2]}) > 5  # offsets really vary


def test_augment_erasing_blanks_one_box():
    x = torch.ones(64, 1, 10, 10)
    out = BatchAugment(erasing=1.0).erase(x, generator=torch.Generator().manual_seed(0))
    for img in out[:, 0] == 0:
        rows, cols = img.any(dim=1).sum(), img.any(dim=0).sum()
        assert 0 < img.sum() == rows * cols < 50  # one box, about 2-33% of the image
    assert torch.equal(BatchAugment(erasing=0.0).erase(x), x)


def test_augment_config_errors_and_off():
    assert make_augment({"crop_padding": 0, "hflip": 0.0, "erasing": 0.0}) is None
    with pytest.raises(ConfigError, match="hflip=1.5"):
        make_augment({"hflip": 1.5})
    with pytest.raises(ConfigError, match="allowed keys"):
        make_augment({"rotate": 10})


def test_augmentation_only_in_training(make_cfg, tmp_path: Path):
    """transform_batch augments while the trainer trains, and never when it evaluates."""
    from dlzoo.config.builders import build_datamodule

    cfg = make_cfg("data.val_size=20", "data.augment.hflip=1.0", "data.mean=null", "data.std=null")
    dm = build_datamodule(cfg.data)
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    labels = torch.zeros(3, dtype=torch.long)

    class FakeTrainer:
        training = True

    dm.trainer = FakeTrainer()  # type: ignore[assignment]
    train_x, _ = dm.transform_batch((images, labels))
    torch.testing.assert_close(train_x, images.float().div(255).flip(-1))
    FakeTrainer.training = False
    eval_x, _ = dm.transform_batch((images, labels))
    torch.testing.assert_close(eval_x, images.float().div(255))


def test_image_folder_trains_through_train(make_cfg, tmp_path: Path):
    from dlzoo.commands.train import train

    write_png_folder(tmp_path / "imgs", per_class=6)
    cfg = make_cfg(
        "data=image_folder",
        f"data.root={tmp_path / 'imgs'}",
        "data.image_size=28",
        "data.augment.crop_padding=2",
        "model=lenet_modern",
        "debug=fdr",
        "trainer.detect_anomaly=false",
    )
    record = train(cfg)
    assert record["data"] == "image_folder" and record["global_steps"] == 1


def test_normalisation_constants_are_made_once_per_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Copying mean/std to a GPU for every batch would wait for the GPU each step."""
    from dlzoo.data import images as images_module

    write_tiny_cifar10(tmp_path, per_batch=4, n_test=4)
    dm = CIFAR10DataModule(
        data_dir=str(tmp_path), val_size=2, mean=[0.4, 0.5, 0.6], std=0.25, download=False
    )
    made: list[str] = []
    channel_stats = images_module.channel_stats
    monkeypatch.setattr(
        images_module,
        "channel_stats",
        lambda value, x, key: made.append(key) or channel_stats(value, x, key),
    )
    batch = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    first, second = dm.preprocess(batch), dm.preprocess(batch)
    assert made == ["mean", "std"]
    torch.testing.assert_close(first, second)


def test_hidden_files_and_empty_class_folders_are_not_data(tmp_path: Path) -> None:
    """A folder copied from a Mac carries ._x.png resource forks; an empty folder is no class."""
    root = write_png_folder(tmp_path / "imgs")
    (root / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 not an image")
    (root / ".thumbnails").mkdir()
    (root / ".thumbnails" / "0.png").write_bytes(b"junk")
    (root / "empty_class").mkdir()
    dm = ImageFolderDataModule(root=str(root), image_size=8)
    assert dm.class_names == ("cat", "dog", "fox")
    dm.setup()
    assert sum(dm.split_sizes().values()) == 18


@pytest.mark.parametrize("mode", ["error", "skip"])
def test_corrupt_images_are_named_or_skipped_with_a_count(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_png_folder(tmp_path / "imgs")
    (root / "dog" / "3.png").write_bytes(b"\x89PNG truncated")
    (root / "fox" / "4.png").write_bytes(b"")
    dm = ImageFolderDataModule(root=str(root), image_size=8, bad_images=mode)
    if mode == "error":
        with pytest.raises(
            DataError,
            match=r"2 of 18 images cannot be read: .*dog/3\.png.*fox/4\.png.*data\.bad_images=skip",
        ):
            dm.setup()
        return
    dm.setup()
    assert sum(dm.split_sizes().values()) == 16
    assert "skipped 2 unreadable images" in caplog.text


def test_bad_images_option_is_checked(tmp_path: Path) -> None:
    root = write_png_folder(tmp_path / "imgs")
    with pytest.raises(
        ConfigError, match=r"data\.bad_images='ignore': choose one of \['error', 'skip'\]"
    ):
        ImageFolderDataModule(root=str(root), bad_images="ignore")
