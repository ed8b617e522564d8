"""LightningDataModules, one per dataset.

The names below are imported on first use (PEP 562): a command that only checks its
arguments, or builds one datamodule, does not pay for every dataset's imports (torchvision,
Lightning) at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_LAZY = {
    "BananaDataModule": "dlzoo.data.banana",
    "CIFAR10DataModule": "dlzoo.data.cifar",
    "CaliforniaHousingDataModule": "dlzoo.data.tabular",
    "CocoDetectionDataModule": "dlzoo.data.coco",
    "CurveDataModule": "dlzoo.data.synthetic",
    "DataSpec": "dlzoo.data.spec",
    "FashionDetectionDataModule": "dlzoo.data.fashion_detection",
    "FashionMNISTDataModule": "dlzoo.data.images",
    "IdxImageDataModule": "dlzoo.data.images",
    "ImageFolderDataModule": "dlzoo.data.folder",
    "InMemoryDataModule": "dlzoo.data.base",
    "IrisDataModule": "dlzoo.data.tabular",
    "MNISTDataModule": "dlzoo.data.mnist",
    "NWRegressionDataModule": "dlzoo.data.synthetic",
    "ReverseDigitsDataModule": "dlzoo.data.translation",
    "SyntheticLinearDataModule": "dlzoo.data.synthetic",
    "TextDataModule": "dlzoo.data.text",
    "TextFileDataModule": "dlzoo.data.text",
    "TimeMachineDataModule": "dlzoo.data.text",
    "TranslationDataModule": "dlzoo.data.translation",
    "TwoClustersDataModule": "dlzoo.data.synthetic",
    "Vocab": "dlzoo.data.vocab",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'dlzoo.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
