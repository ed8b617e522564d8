"""LightningDataModules, one per dataset."""

from dlzoo.data.banana import BananaDataModule
from dlzoo.data.base import InMemoryDataModule
from dlzoo.data.cifar import CIFAR10DataModule
from dlzoo.data.coco import CocoDetectionDataModule
from dlzoo.data.fashion_detection import FashionDetectionDataModule
from dlzoo.data.folder import ImageFolderDataModule
from dlzoo.data.images import FashionMNISTDataModule, IdxImageDataModule
from dlzoo.data.mnist import MNISTDataModule
from dlzoo.data.spec import DataSpec
from dlzoo.data.synthetic import (
    CurveDataModule,
    NWRegressionDataModule,
    SyntheticLinearDataModule,
    TwoClustersDataModule,
)
from dlzoo.data.tabular import CaliforniaHousingDataModule, IrisDataModule
from dlzoo.data.text import TextDataModule, TextFileDataModule, TimeMachineDataModule
from dlzoo.data.translation import ReverseDigitsDataModule, TranslationDataModule
from dlzoo.data.vocab import Vocab

__all__ = [
    "BananaDataModule",
    "CocoDetectionDataModule",
    "CIFAR10DataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "CaliforniaHousingDataModule",
    "CurveDataModule",
    "DataSpec",
    "FashionDetectionDataModule",
    "FashionMNISTDataModule",
    "IdxImageDataModule",
    "InMemoryDataModule",
    "IrisDataModule",
    "SyntheticLinearDataModule",
    "TextDataModule",
    "TextFileDataModule",
    "TimeMachineDataModule",
    "TwoClustersDataModule",
    "NWRegressionDataModule",
    "ReverseDigitsDataModule",
    "TranslationDataModule",
    "Vocab",
]
