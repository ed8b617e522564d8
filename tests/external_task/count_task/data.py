"""Bit strings of ``length`` random bits; the target is how many are ones."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.spec import DataSpec


@dataclass(frozen=True)
class CountSpec(DataSpec):
    """Examples of ``input_shape``; the target counts up to ``max_count``."""

    max_count: int = 0
    task: str = field(default="count", init=False)

    def describe(self) -> str:
        return f"a counting dataset (0 to {self.max_count})"


class BitStrings(InMemoryDataModule):
    """Seeded random bit strings: 1000 / 200 / 200."""

    def __init__(
        self, length: int = 12, data_seed: int = 0, batch_size: int = 50, seed: int = 0
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.length = length
        self.data_seed = data_seed

    @property
    def spec(self) -> CountSpec:
        return CountSpec((self.length,), max_count=self.length)

    def load_splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.data_seed)
        bits = torch.randint(0, 2, (1400, self.length), generator=generator).float()
        counts = bits.sum(dim=1)
        return {
            "train": (bits[:1000], counts[:1000]),
            "val": (bits[1000:1200], counts[1000:1200]),
            "test": (bits[1200:], counts[1200:]),
        }

    def bits_of(self, text: str) -> list[float]:
        """A line such as ``0110`` as the network's input."""
        if len(text) != self.length or set(text) - {"0", "1"}:
            raise ValueError(f"{text!r}: give {self.length} characters, each 0 or 1")
        return [float(c) for c in text]
