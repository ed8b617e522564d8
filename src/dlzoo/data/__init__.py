"""LightningDataModules, one per dataset."""

from dlzoo.data.base import InMemoryDataModule
from dlzoo.data.images import FashionMNISTDataModule, IdxImageDataModule
from dlzoo.data.spec import DataSpec
from dlzoo.data.synthetic import CurveDataModule, SyntheticLinearDataModule, TwoClustersDataModule
from dlzoo.data.tabular import CaliforniaHousingDataModule, IrisDataModule
from dlzoo.data.text import TextDataModule, TextFileDataModule, TimeMachineDataModule
from dlzoo.data.vocab import Vocab

__all__ = [
    "CaliforniaHousingDataModule",
    "CurveDataModule",
    "DataSpec",
    "FashionMNISTDataModule",
    "IdxImageDataModule",
    "InMemoryDataModule",
    "IrisDataModule",
    "SyntheticLinearDataModule",
    "TextDataModule",
    "TextFileDataModule",
    "TimeMachineDataModule",
    "TwoClustersDataModule",
    "Vocab",
]
