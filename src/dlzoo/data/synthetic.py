"""Generated datasets of the curriculum's small recipes (seeded: identical every run)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.spec import ClassificationSpec, DataSpec, RegressionSpec


class SyntheticDataModule(InMemoryDataModule):
    """Base of generated data: each split is drawn from its own seeded generator.

    Args:
        num_train, num_val, num_test: examples per split.
        data_seed: seed of the generator (independent of the training seed, so every run
            sees the same data).
    """

    def __init__(
        self,
        num_train: int = 1000,
        num_val: int = 200,
        num_test: int = 200,
        data_seed: int = 42,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.num_train = num_train
        self.num_val = num_val
        self.num_test = num_test
        self.data_seed = data_seed

    def generate(self, n: int, gen: torch.Generator, split: str) -> Split:
        raise NotImplementedError

    def load_splits(self) -> dict[str, Split]:
        sizes = {"train": self.num_train, "val": self.num_val, "test": self.num_test}
        return {
            split: self.generate(n, torch.Generator().manual_seed(self.data_seed + i), split)
            for i, (split, n) in enumerate(sizes.items())
        }


class SyntheticLinearDataModule(SyntheticDataModule):
    """y = Xw + b + N(0, noise²) with X ~ N(0, 1) (d2l's linear regression from scratch, R10)."""

    def __init__(
        self,
        weights: Sequence[float] = (2.0, -3.4),
        bias: float = 4.2,
        noise: float = 0.01,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.weights = torch.tensor(list(weights), dtype=torch.float32)
        self.bias = float(bias)
        self.noise = float(noise)

    @property
    def spec(self) -> DataSpec:
        return RegressionSpec((len(self.weights),))

    def generate(self, n: int, gen: torch.Generator, split: str) -> Split:
        x = torch.randn(n, len(self.weights), generator=gen)
        y = x @ self.weights + self.bias + self.noise * torch.randn(n, generator=gen)
        return x, y.unsqueeze(1)


class CurveDataModule(SyntheticDataModule):
    """y = x² + noise·U(0, 1) on [-1, 1] (the curve-fitting recipe R4).

    The training split is the recipe's evenly spaced grid; validation and test points are
    drawn uniformly from the same interval.
    """

    def __init__(self, noise: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.noise = float(noise)

    @property
    def spec(self) -> DataSpec:
        return RegressionSpec((1,))

    def generate(self, n: int, gen: torch.Generator, split: str) -> Split:
        x = torch.linspace(-1, 1, n) if split == "train" else torch.rand(n, generator=gen) * 2 - 1
        y = x.pow(2) + self.noise * torch.rand(n, generator=gen)
        return x.unsqueeze(1), y.unsqueeze(1)


class TwoClustersDataModule(SyntheticDataModule):
    """Two Gaussian blobs in 2-D: N(+offset, 1) labelled 0, N(-offset, 1) labelled 1 (R5).

    ``num_*`` count points per split; half come from each blob. A 2-class dataset, usable
    both as multiclass (softmax, two outputs) and binary (sigmoid, one output).
    """

    CLASSES = ("positive blob", "negative blob")

    def __init__(self, offset: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.offset = float(offset)

    @property
    def spec(self) -> DataSpec:
        return ClassificationSpec((2,), self.CLASSES)

    def generate(self, n: int, gen: torch.Generator, split: str) -> Split:
        half = n // 2
        pos = torch.randn(half, 2, generator=gen) + self.offset
        neg = torch.randn(n - half, 2, generator=gen) - self.offset
        x = torch.cat([pos, neg])
        y: Tensor = torch.cat([torch.zeros(half), torch.ones(n - half)]).long()
        return x, y


class NWRegressionDataModule(SyntheticDataModule):
    """The book's attention-pooling toy (11.2): ``num_train`` sorted x ~ U(0, 5),
    y = 2 sin(x) + x^0.8 + N(0, noise²); validation and test are the noise-free curve on
    an even grid of [0, 5)."""

    def __init__(self, noise: float = 0.5, **kwargs) -> None:
        kwargs.setdefault("num_train", 50)
        kwargs.setdefault("num_val", 50)
        kwargs.setdefault("num_test", 50)
        super().__init__(**kwargs)
        self.noise = float(noise)

    @property
    def spec(self) -> DataSpec:
        return RegressionSpec((1,))

    @staticmethod
    def truth(x: Tensor) -> Tensor:
        return 2 * torch.sin(x) + x.pow(0.8)

    def generate(self, n: int, gen: torch.Generator, split: str) -> Split:
        if split == "train":
            x = (torch.rand(n, generator=gen) * 5).sort().values
            y = self.truth(x) + self.noise * torch.randn(n, generator=gen)
        else:
            x = torch.arange(n, dtype=torch.float32) * (5 / n)
            y = self.truth(x)
        return x.unsqueeze(1), y.unsqueeze(1)
