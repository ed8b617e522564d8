"""Resumable mini-batches held in memory: tensors cut a whole batch at a time, and
token streams cut into windows. One base class owns the epoch counter, the saved position
and DDP sharding for both."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from dlzoo.errors import ConfigError, DataError

SAMPLINGS = ("random", "sequential")


def shard(order: Tensor, rank: int, world_size: int, mode: str) -> Tensor:
    """This rank's share of ``order`` under DDP (every ``world_size``-th item from ``rank``).

    ``pad``: wrap around so every rank gets the same count (training: equal step counts);
    ``truncate``: drop the remainder (equal counts, nothing repeated); ``exact``: no padding,
    so no example is counted twice (evaluation).
    """
    if world_size == 1:
        return order
    n = len(order)
    if mode == "pad":
        total = -(-n // world_size) * world_size
        order = torch.cat([order, order[: total - n]])
    elif mode == "truncate":
        order = order[: n - n % world_size]
    return order[rank::world_size]


class ResumableBatches:
    """The shared half of every dlzoo loader: which epoch is served and how far it got.

    The epoch advances when an iteration *starts*: Lightning stops pulling batches once it
    has seen ``len(self)`` of them, so the generator is usually abandoned rather than
    exhausted and an end-of-loop increment would never run. Shuffles are seeded with
    ``seed + epoch``, so each epoch has its own order and a run is repeatable.

    ``state_dict`` (saved by Lightning with the fit loop) is the epoch being served and how
    many of its batches were handed out; a resumed run replays that epoch's order and skips
    what it already trained on.
    """

    def __init__(self, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        #: the trainer's epoch counter, read when an epoch starts from its first batch: a
        #: run resumed at an epoch boundary (where Lightning restores no loader state)
        #: still serves that epoch's own shuffle
        self.epoch_source: Callable[[], int] | None = None
        self.epoch = 0
        self._skip = 0  # batches already consumed in `epoch` (restored from a checkpoint)
        self._yielded = 0
        self._active_epoch: int | None = None  # the epoch the current iteration serves

    def __len__(self) -> int:
        raise NotImplementedError

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[tuple[Any, ...]]:
        """Epoch ``epoch``'s batches from batch number ``start`` on."""
        raise NotImplementedError

    def generator(self, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed + epoch)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if self._skip == 0 and self.epoch_source is not None:
            self.epoch = int(self.epoch_source())
        self._active_epoch, self.epoch = self.epoch, self.epoch + 1
        start, self._skip = self._skip, 0
        self._yielded = start
        for batch in self._epoch_batches(self._active_epoch, start):
            self._yielded += 1
            yield batch
        self._active_epoch = None  # finished: a checkpoint now means "start the next epoch"

    def state_dict(self) -> dict[str, Any]:
        """The epoch being iterated and how many of its batches were handed out."""
        if self._active_epoch is None or self._yielded >= len(self):  # between epochs
            return {"epoch": self.epoch, "batches_yielded": 0}
        return {"epoch": self._active_epoch, "batches_yielded": self._yielded}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        epoch, done = int(state["epoch"]), int(state["batches_yielded"])
        if done >= len(self):  # saved after the epoch's last batch: start the next epoch
            epoch, done = epoch + 1, 0
        self.epoch, self._skip = epoch, done
        self._active_epoch = None


class InMemoryBatches(ResumableBatches):
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
        super().__init__(seed, rank, world_size)
        self.tensors = tuple(tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.pad_shards = pad_shards
        #: batch size of one optimizer step when a batch holds several steps' examples
        #: (``speed.steps_per_call``); ``None``: one batch is one step
        self.step_size = step_size

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
        order = torch.randperm(n, generator=self.generator(epoch)) if self.shuffle else None
        if self.world_size == 1:
            return order
        if order is None:
            order = torch.arange(n)
        return shard(order, self.rank, self.world_size, "pad" if self.pad_shards else "exact")

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[tuple[Tensor, ...]]:
        order = self._indices(epoch)
        device = self.tensors[0].device
        if order is not None and order.device != device:
            order = order.to(device)  # once per epoch: each batch is then indexed on `device`
        n = self.num_examples
        stop = n - n % self.batch_size if self.drop_last else n
        for first in range(start * self.batch_size, stop, self.batch_size):
            end = min(first + self.batch_size, stop)
            if order is None:
                yield tuple(t[first:end] for t in self.tensors)
            else:
                idx = order[first:end]
                yield tuple(t[idx] for t in self.tensors)


class SequenceBatches(ResumableBatches):
    """Batches of ``num_steps``-token windows ``x`` and their shifted targets ``y``.

    ``random`` sampling: the stream (from a random offset in ``[0, num_steps)`` when
    shuffling) is cut into non-overlapping windows, served in a random order; windows of a
    batch have nothing to do with those of the previous batch, so a model starts each batch
    from a fresh state. Batches are ``(x, y)``.

    ``sequential`` sampling: the stream is cut into ``batch_size`` contiguous sub-streams
    laid side by side; batch ``i`` holds window ``i`` of every sub-stream, so row ``b`` of a
    batch continues row ``b`` of the previous one and a recurrent model can carry its
    hidden state across batches. Batches are ``(x, y, continues)`` with ``continues`` a
    Python bool (not a tensor: reading it after the batch is moved to a GPU would wait for
    the GPU every step), false on the first batch of an epoch.

    Shuffling (the random offset, the window order) is seeded per epoch (``seed + epoch``).
    Under DDP each rank takes every ``world_size``-th window (random) or sub-stream
    (sequential).
    """

    def __init__(
        self,
        tokens: Tensor,
        num_steps: int,
        batch_size: int,
        sampling: str = "random",
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        split: str = "train",
    ) -> None:
        if sampling not in SAMPLINGS:
            raise ConfigError(
                f"data.sampling={sampling!r} is unknown; choose one of {list(SAMPLINGS)}"
            )
        if num_steps < 1 or batch_size < 1:
            raise ConfigError(f"num_steps={num_steps} and batch_size={batch_size} must be >= 1")
        if sampling == "sequential" and batch_size % world_size:
            raise ConfigError(
                f"data.batch_size={batch_size} (sub-streams of sequential sampling) must be "
                f"divisible by the number of processes ({world_size})"
            )
        super().__init__(seed, rank, world_size)
        self.tokens = tokens.long()
        self.num_steps = num_steps
        self.batch_size = batch_size
        self.sampling = sampling
        self.shuffle = shuffle
        self.split = split
        if len(self) == 0:
            need = num_steps + 1 if sampling == "random" else batch_size * num_steps + 1
            raise DataError(
                f"the {split} split has {len(self.tokens)} tokens, too few for one batch of "
                f"{sampling} sampling (needs about {need} with num_steps={num_steps}, "
                f"batch_size={batch_size}): use a longer text, a smaller data.num_steps or "
                f"batch size, or larger split fractions"
            )

    def _offset(self, gen: torch.Generator) -> int:
        if not self.shuffle:
            return 0
        return int(torch.randint(0, self.num_steps, (1,), generator=gen))

    def _windows(self, offset: int) -> int:
        return max((len(self.tokens) - 1 - offset) // self.num_steps, 0)

    def __len__(self) -> int:
        """The same every epoch: counted at the largest random offset, and each epoch serves
        exactly this many batches (Lightning reads the length before iterating)."""
        offset = self.num_steps - 1 if self.shuffle else 0
        if self.sampling == "random":
            per_rank = self._windows(offset) // self.world_size
            return -(-per_rank // self.batch_size)
        return max((len(self.tokens) - 1 - offset) // self.batch_size // self.num_steps, 0)

    def _random(self, gen: torch.Generator, offset: int) -> Iterator[tuple[Tensor, ...]]:
        n, t = self._windows(offset), self.num_steps
        x = self.tokens[offset : offset + n * t].view(n, t)
        y = self.tokens[offset + 1 : offset + 1 + n * t].view(n, t)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        order = shard(order, self.rank, self.world_size, "truncate")
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield x[idx], y[idx]

    def _sequential(self, offset: int) -> Iterator[tuple[Tensor, Tensor, bool]]:
        b, t = self.batch_size, self.num_steps
        length = (len(self.tokens) - 1 - offset) // b
        xs = self.tokens[offset : offset + b * length].view(b, length)
        ys = self.tokens[offset + 1 : offset + 1 + b * length].view(b, length)
        rows = shard(torch.arange(b), self.rank, self.world_size, "exact")
        xs, ys = xs[rows], ys[rows]
        for i in range(length // t):
            cols = slice(i * t, (i + 1) * t)
            yield xs[:, cols], ys[:, cols], i > 0

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[tuple[Any, ...]]:
        gen = self.generator(epoch)
        offset = self._offset(gen)
        batches = (
            self._random(gen, offset) if self.sampling == "random" else self._sequential(offset)
        )
        for i, batch in enumerate(batches):
            if i >= len(self):
                return
            if i < start:
                continue
            yield batch  # resumed mid-epoch: the task's checkpoint holds the carried state
