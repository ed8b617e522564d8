"""Datamodules: shapes, dtypes, split sizes, determinism, scaling, offline file lookup."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_tiny_idx_dataset
from dlzoo.data import (
    CaliforniaHousingDataModule,
    CurveDataModule,
    FashionMNISTDataModule,
    IrisDataModule,
    SyntheticLinearDataModule,
    TwoClustersDataModule,
)
from dlzoo.data.base import resolve_batch_size
from dlzoo.data.idx import read_idx, write_idx
from dlzoo.errors import ConfigError, DataError

IDX_NAMES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def test_fashion_mnist_from_idx_files(tiny_data_dir: Path) -> None:
    dm = FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=20, download=False)
    dm.setup()
    assert dm.split_sizes() == {"train": 100, "val": 20, "test": 40}
    x, y = dm.splits["train"]
    assert x.dtype == torch.uint8 and x.shape[1:] == (1, 28, 28), "kept as uint8 in memory"
    assert y.dtype == torch.int64
    assert dm.spec.class_names[9] == "ankle boot" and dm.spec.num_classes == 10
    batch = dm.transform_batch((x[:8], y[:8]))
    assert batch[0].dtype == torch.float32 and batch[0].shape == (8, 1, 28, 28)


def test_fashion_mnist_split_is_fixed_and_disjoint(tiny_data_dir: Path) -> None:
    def splits(seed: int) -> dict:
        dm = FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=20, split_seed=seed)
        dm.setup()
        return dm.splits

    a, b, c = splits(42), splits(42), splits(7)
    assert torch.equal(a["val"][0], b["val"][0])
    assert not torch.equal(a["val"][0], c["val"][0])
    train_rows = {bytes(r.numpy()) for r in a["train"][0]}
    assert not any(bytes(r.numpy()) in train_rows for r in a["val"][0])


def test_fashion_mnist_normalise_and_resize(tiny_data_dir: Path) -> None:
    dm = FashionMNISTDataModule(
        data_dir=str(tiny_data_dir), val_size=20, resize=32, mean=0.5, std=0.5
    )
    assert dm.spec.input_shape == (1, 32, 32)
    dm.setup()
    x = dm.transform_batch(dm.splits["test"])[0]
    assert x.shape == (40, 1, 32, 32)
    assert x.min() >= -1.0 and x.max() <= 1.0
    plain = FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=20, mean=None, std=None)
    plain.setup()
    raw = plain.transform_batch(plain.splits["test"])[0]
    assert raw.min() >= 0.0 and raw.max() <= 1.0


def test_complete_dataset_dir_is_only_read(tiny_data_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny_data_dir.rglob("*")}
    FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=20).setup()
    after = {p: p.stat().st_mtime_ns for p in tiny_data_dir.rglob("*")}
    assert before == after


def test_system_package_gz_files_are_decompressed_into_data_dir(tmp_path: Path) -> None:
    source = write_tiny_idx_dataset(tmp_path / "src") / "FashionMNIST" / "raw"
    system = tmp_path / "usr_share"
    system.mkdir()
    for name in IDX_NAMES:
        with open(source / name, "rb") as f, gzip.open(system / f"{name}.gz", "wb") as g:
            shutil.copyfileobj(f, g)
    data_dir = tmp_path / "data"
    dm = FashionMNISTDataModule(
        data_dir=str(data_dir), system_dir=str(system), download=False, val_size=10
    )
    dm.setup()
    assert all((data_dir / "FashionMNIST" / "raw" / n).is_file() for n in IDX_NAMES)
    assert dm.split_sizes()["test"] == 40


def test_missing_dataset_error_says_where_to_put_files(tmp_path: Path) -> None:
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "empty"), system_dir=None, download=False)
    with pytest.raises(DataError) as info:
        dm.setup()
    message = str(info.value)
    assert "FashionMNIST is not available" in message
    assert str(tmp_path / "empty" / "FashionMNIST" / "raw") in message
    assert "DLZOO_DATA_DIR" in message


def test_idx_round_trip_and_truncation(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte", data)
    assert torch.equal(read_idx(tmp_path / "a-idx3-ubyte"), torch.from_numpy(data))
    (tmp_path / "b").write_bytes((tmp_path / "a-idx3-ubyte").read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "b")


def test_iris_split_and_scaler_fit_on_train_only() -> None:
    dm = IrisDataModule(val_fraction=0.1)
    dm.setup()
    assert dm.split_sizes() == {"train": 108, "val": 12, "test": 30}
    x_train, y_train = dm.splits["train"]
    x_test, _ = dm.splits["test"]
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert torch.allclose(x_train.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x_train.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    assert not torch.allclose(x_test.mean(0), torch.zeros(4), atol=1e-3), "test not refit"


def test_iris_without_validation_split_validates_on_test() -> None:
    dm = IrisDataModule(val_fraction=0.0)
    dm.setup()
    assert dm.split_sizes() == {"train": 120, "val": 30, "test": 30}
    assert dm.validates_on_test


def test_california_from_cache_layout(tiny_data_dir: Path) -> None:
    dm = CaliforniaHousingDataModule(data_dir=str(tiny_data_dir), download=False)
    dm.setup()
    x, y = dm.splits["train"]
    assert x.shape[1] == 8 and y.shape[1] == 1 and y.dtype == torch.float32
    assert sum(dm.split_sizes().values()) == 300


def test_california_missing_is_a_clear_error(tmp_path: Path) -> None:
    dm = CaliforniaHousingDataModule(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError, match="cal_housing_py3.pkz"):
        dm.setup()


@pytest.mark.parametrize("cls", [SyntheticLinearDataModule, CurveDataModule, TwoClustersDataModule])
def test_generated_data_is_identical_across_runs(cls: type) -> None:
    a, b = cls(), cls()
    a.setup(), b.setup()
    for split in ("train", "val", "test"):
        assert torch.equal(a.splits[split][0], b.splits[split][0])
        assert torch.equal(a.splits[split][1], b.splits[split][1])
    assert not torch.equal(a.splits["val"][0][:10], a.splits["test"][0][:10])


def test_synthetic_linear_follows_its_formula() -> None:
    dm = SyntheticLinearDataModule(num_train=5000, noise=0.01)
    dm.setup()
    x, y = dm.splits["train"]
    residual = y.squeeze(1) - (x @ torch.tensor([2.0, -3.4]) + 4.2)
    assert abs(residual.std().item() - 0.01) < 0.001


def test_two_clusters_labels_match_blobs() -> None:
    dm = TwoClustersDataModule(num_train=200)
    dm.setup()
    x, y = dm.splits["train"]
    assert (y == 0).sum() == 100 and dm.spec.num_classes == 2
    assert x[y == 0].mean() > 1.5 and x[y == 1].mean() < -1.5


def test_full_batch_size() -> None:
    assert resolve_batch_size("full", 1234) == 1234
    assert resolve_batch_size(32, 1234) == 32
    with pytest.raises(ConfigError, match="'half'"):
        resolve_batch_size("half", 10)


def _attach(dm: SyntheticLinearDataModule, device: str) -> None:
    from types import SimpleNamespace

    strategy = SimpleNamespace(root_device=torch.device(device))
    dm.trainer = SimpleNamespace(strategy=strategy, global_rank=0, world_size=1)


def test_splits_move_to_the_training_device_once_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``speed.data_on_device``: batches are cut on the accelerator, the host copy stays."""
    dm = SyntheticLinearDataModule(num_train=40, num_val=8, num_test=8, batch_size=16)
    dm.setup()
    _attach(dm, "cpu")
    assert dm._device_for_splits() is None  # a CPU: nothing to move
    _attach(dm, "meta")  # an accelerator stand-in (shapes only)
    assert dm._device_for_splits() is None  # auto: only CUDA GPUs
    dm.on_device = True
    batch = next(iter(dm.train_dataloader()))
    assert all(t.device.type == "meta" for t in batch) and len(batch[0]) == 16
    assert dm.splits["train"][0].device.type == "cpu"
    assert dm._split_tensors("train")[0] is dm._split_tensors("train")[0]  # copied once
    first = dm._split_tensors("train")[0]
    dm.splits["train"] = (dm.splits["train"][0] * 2, dm.splits["train"][1])  # replaced
    assert dm._split_tensors("train")[0] is not first
    assert sum(key[0] == "train" for key in dm._device_splits) == 1  # the old copy is freed
    dm.on_device = False
    assert dm.train_dataloader().tensors[0].device.type == "cpu"

    # auto on a CUDA GPU: only when the splits take at most a quarter of its free memory
    dm.on_device = "auto"
    _attach(dm, "cuda")
    size = sum(t.numel() * t.element_size() for split in dm.splits.values() for t in split)
    for free, expected in ((4 * size - 1, None), (4 * size, "cuda")):
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device, free=free: (free, free))
        dm._auto_decisions.clear()
        device = dm._device_for_splits()
        assert (device.type if device is not None else None) == expected
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (0, 0))
    assert dm._device_for_splits().type == "cuda"  # decided once per device, not per loader


def test_a_failed_download_leaves_no_empty_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, torchvision's download creates <data>/FashionMNIST/raw and then fails; a
    later run must not find an empty dataset folder (nor the user a stray data/ folder)."""
    import torchvision.datasets as tvd

    def no_network(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("no network")

    monkeypatch.setattr(tvd.FashionMNIST, "download", no_network)
    data_dir = tmp_path / "data"
    dm = FashionMNISTDataModule(data_dir=str(data_dir), system_dir=None, download=True)
    with pytest.raises(DataError, match="the download failed"):
        dm.setup()
    assert not data_dir.exists()
