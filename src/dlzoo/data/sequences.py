"""Mini-batches of (input, next-token target) windows cut from a 1-D token stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from dlzoo.errors import ConfigError, DataError

SAMPLINGS = ("random", "sequential")


class SequenceBatches:
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
        self.tokens = tokens.long()
        self.num_steps = num_steps
        self.batch_size = batch_size
        self.sampling = sampling
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.split = split
        self.epoch = 0
        self._skip = 0
        self._yielded = 0
        if len(self) == 0:
            need = num_steps + 1 if sampling == "random" else batch_size * num_steps + 1
            raise DataError(
                f"the {split} split has {len(self.tokens)} tokens, too few for one batch of "
                f"{sampling} sampling (needs about {need} with num_steps={num_steps}, "
                f"batch_size={batch_size}): use a longer text, a smaller data.num_steps or "
                f"batch size, or larger split fractions"
            )

    def _generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed + self.epoch)

    def _offset(self, gen: torch.Generator) -> int:
        if not self.shuffle:
            return 0
        return int(torch.randint(0, self.num_steps, (1,), generator=gen))

    def _windows(self, offset: int) -> int:
        return (len(self.tokens) - 1 - offset) // self.num_steps

    def __len__(self) -> int:
        offset = self._offset(self._generator())
        if self.sampling == "random":
            per_rank = self._windows(offset) // self.world_size
            return -(-per_rank // self.batch_size)
        return (len(self.tokens) - 1 - offset) // self.batch_size // self.num_steps

    def _random(self, gen: torch.Generator, offset: int) -> Iterator[tuple[Tensor, ...]]:
        n, t = self._windows(offset), self.num_steps
        x = self.tokens[offset : offset + n * t].view(n, t)
        y = self.tokens[offset + 1 : offset + 1 + n * t].view(n, t)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        per_rank = n // self.world_size
        order = order[self.rank :: self.world_size][:per_rank]
        for start in range(0, per_rank, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield x[idx], y[idx]

    def _sequential(self, offset: int) -> Iterator[tuple[Tensor, Tensor, bool]]:
        b, t = self.batch_size, self.num_steps
        length = (len(self.tokens) - 1 - offset) // b
        xs = self.tokens[offset : offset + b * length].view(b, length)
        ys = self.tokens[offset + 1 : offset + 1 + b * length].view(b, length)
        xs, ys = xs[self.rank :: self.world_size], ys[self.rank :: self.world_size]
        for i in range(length // t):
            cols = slice(i * t, (i + 1) * t)
            yield xs[:, cols], ys[:, cols], i > 0

    def __iter__(self) -> Iterator[tuple[Tensor | bool, ...]]:
        gen = self._generator()
        offset = self._offset(gen)
        batches = (
            self._random(gen, offset) if self.sampling == "random" else self._sequential(offset)
        )
        skip, self._skip = self._skip, 0
        self._yielded = 0
        for i, batch in enumerate(batches):
            if i < skip:
                continue
            if self.sampling == "sequential" and i == skip and skip:
                batch = (*batch[:2], False)  # resumed: no state to carry
            self._yielded = i + 1
            yield batch
        self.epoch += 1
        self._yielded = 0

    # saved and restored with Lightning's fit loop, so a resumed run continues the epoch
    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batches_yielded": self._yielded}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self._skip = int(state["batches_yielded"])
