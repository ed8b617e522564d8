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
        step_size: int | None = None,
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
        #: batch size of one optimizer step when a batch holds several steps' examples
        #: (``speed.steps_per_call``); ``None``: one batch is one step
        self.step_size = step_size
        self.epoch = 0
        self._skip = 0  # batches already consumed in `epoch` (restored from a checkpoint)
        self._yielded = 0
        self._active_epoch: int | None = None  # the epoch the current iteration serves

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

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch (batches, or steps of ``step_size`` within them)."""
        if not self.step_size:
            return len(self)
        n = self.num_examples
        if self.drop_last:
            n -= n % self.batch_size
        return -(-n // self.step_size)

    def _indices(self, epoch: int) -> Tensor | None:
        n = len(self.tensors[0])
        order = None
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + epoch)
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
        # The epoch advances when an iteration *starts*: Lightning stops pulling batches once
        # it has seen ``len(self)`` of them (or ``limit_train_batches``), so the generator is
        # usually abandoned rather than exhausted and an end-of-loop increment would never run.
        self._active_epoch, self.epoch = self.epoch, self.epoch + 1
        start_batch, self._skip = self._skip, 0
        self._yielded = start_batch
        order = self._indices(self._active_epoch)
        device = self.tensors[0].device
        if order is not None and order.device != device:
            order = order.to(device)  # once per epoch: each batch is then indexed on `device`
        n = self.num_examples
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(start_batch * self.batch_size, stop, self.batch_size):
            end = min(start + self.batch_size, stop)
            if order is None:
                batch = tuple(t[start:end] for t in self.tensors)
            else:
                idx = order[start:end]
                batch = tuple(t[idx] for t in self.tensors)
            self._yielded += 1
            yield batch
        self._active_epoch = None  # finished: a checkpoint now means "start the next epoch"

    # Lightning saves and restores these with the fit loop (``loops.fit_loop.state_dict.
    # combined_loader`` in a checkpoint), so a resumed run replays the same shuffle order and
    # skips the batches it already trained on.
    def state_dict(self) -> dict[str, Any]:
        """The epoch being iterated and how many of its batches were handed out."""
        if self._active_epoch is None:
            return {"epoch": self.epoch, "batches_yielded": 0}
        return {"epoch": self._active_epoch, "batches_yielded": self._yielded}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        epoch, done = int(state["epoch"]), int(state["batches_yielded"])
        if done >= len(self):  # saved after the epoch's last batch: start the next epoch
            epoch, done = epoch + 1, 0
        self.epoch, self._skip = epoch, done
        self._active_epoch = None
