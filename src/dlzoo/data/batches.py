"""Mini-batches cut from tensors held in memory, indexed a whole batch at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor


class InMemoryBatches:
    """An iterable of mini-batches over in-memory tensors.

    Unlike ``DataLoader(TensorDataset)``, which indexes one sample at a time and collates,
    this gathers each batch with a single indexing op, which removes most of the per-step
    data overhead for small models. Shuffling is seeded per epoch (``seed + epoch``), so a
    run is repeatable, and the position inside an epoch is part of ``state_dict`` so a
    resumed run continues with the same batches.

    Under distributed training every rank sees a disjoint shard. Training shards are padded
    by wrap-around to equal length so all ranks run the same number of steps; evaluation
    shards are not padded, so no example is counted twice.
    """

    def __init__(
        self,
        tensors: Sequence[Tensor],
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        pad_shards: bool = True,
    ) -> None:
        if not tensors:
            raise ValueError("InMemoryBatches needs at least one tensor")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors must have the same first dimension")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.tensors = tuple(tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.pad_shards = pad_shards
        self.epoch = 0
        self._skip = 0  # batches already consumed in `epoch` (restored from a checkpoint)
        self._yielded = 0

    @property
    def num_examples(self) -> int:
        """Examples this rank sees per epoch."""
        n = len(self.tensors[0])
        if self.world_size == 1:
            return n
        if self.pad_shards:
            return -(-n // self.world_size)
        return len(range(self.rank, n, self.world_size))

    def __len__(self) -> int:
        n = self.num_examples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _indices(self) -> Tensor | None:
        n = len(self.tensors[0])
        order = None
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=gen)
        if self.world_size == 1:
            return order
        if order is None:
            order = torch.arange(n)
        if self.pad_shards:
            total = self.num_examples * self.world_size
            order = torch.cat([order, order[: total - n]])
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self._indices()
        n = self.num_examples
        stop = n - n % self.batch_size if self.drop_last else n
        start_batch, self._skip = self._skip, 0
        self._yielded = start_batch
        for start in range(start_batch * self.batch_size, stop, self.batch_size):
            end = min(start + self.batch_size, stop)
            if order is None:
                batch = tuple(t[start:end] for t in self.tensors)
            else:
                idx = order[start:end]
                batch = tuple(t[idx] for t in self.tensors)
            self._yielded += 1
            yield batch
        self.epoch += 1
        self._yielded = 0

    # Lightning saves and restores these with the fit loop, so a resumed run replays the
    # same shuffle order and skips the batches it already trained on.
    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batches_yielded": self._yielded}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self._skip = int(state["batches_yielded"])
