"""The base LightningDataModule: splits held in memory, served as whole mini-batches."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import lightning as L
import torch
from torch import Tensor

from dlzoo.data.batches import InMemoryBatches
from dlzoo.data.spec import DataSpec
from dlzoo.errors import ConfigError

Split = tuple[Tensor, Tensor]
SPLITS = ("train", "val", "test")


def resolve_batch_size(batch_size: int | str, num_examples: int) -> int:
    """``"full"`` means one batch holding the whole split (full-batch gradient descent)."""
    if isinstance(batch_size, str):
        if batch_size.strip().lower() == "full":
            return max(num_examples, 1)
        raise ConfigError(f"data.batch_size={batch_size!r}: use a positive integer or 'full'")
    if int(batch_size) < 1:
        raise ConfigError(f"data.batch_size={batch_size}: must be a positive integer or 'full'")
    return int(batch_size)


class InMemoryDataModule(L.LightningDataModule):
    """A dataset whose train/val/test splits fit in memory as tensors.

    Subclasses describe the data (``spec``) and load it (``load_splits``); this class serves
    the splits as :class:`InMemoryBatches` (sharded per rank under DDP) and applies
    ``transform_batch`` after the batch reaches its device, so per-batch work such as
    normalisation runs on the GPU when there is one.

    Args:
        batch_size: training batch size (global: divided by the number of processes under
            DDP), or ``"full"`` for full-batch gradient descent.
        eval_batch_size: batch size for validation and test (defaults to ``batch_size``).
        seed: seed of the per-epoch shuffle.
        default_epochs: how many epochs this dataset usually needs; the trainer config reads
            it as the default of ``trainer.max_epochs``.
    """

    def __init__(
        self,
        batch_size: int | str = 64,
        eval_batch_size: int | str | None = None,
        seed: int = 0,
        default_epochs: int = 10,
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size if eval_batch_size is not None else batch_size
        self.seed = seed
        self.default_epochs = default_epochs
        self.splits: dict[str, Split] = {}
        #: training batches served per loader batch (``speed.steps_per_call``): the task
        #: cuts each loader batch back into steps of ``step_batch_size`` examples
        self.steps_per_call = 1
        self.step_batch_size: int | None = None

    @property
    @abstractmethod
    def spec(self) -> DataSpec:
        """What the data looks like (task, input shape, classes), known without loading."""

    @abstractmethod
    def load_splits(self) -> dict[str, Split]:
        """Return ``{"train": (x, y), "val": (x, y), "test": (x, y)}``."""

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.load_splits()

    def transform_batch(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """Per-batch work on the batch's device (normalising, resizing, augmenting)."""
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        return self.transform_batch(batch)

    # -- loaders -------------------------------------------------------------------------
    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def _loader(self, split: str, batch_size: int | str, train: bool) -> InMemoryBatches:
        self.setup()
        tensors = self.splits[split]
        rank, world = self._world()
        size = resolve_batch_size(batch_size, len(tensors[0]))
        if world > 1 and train and batch_size != "full":
            if size % world:
                raise ConfigError(
                    f"data.batch_size={size} is the global batch size and must be divisible "
                    f"by the number of processes ({world})"
                )
            size //= world
        elif world > 1:
            size = max(-(-size // world), 1)
        step_size = None
        if train and self.steps_per_call > 1:
            self.step_batch_size = step_size = size
            size *= self.steps_per_call
        return InMemoryBatches(
            tensors,
            batch_size=size,
            step_size=step_size,
            shuffle=train,
            seed=self.seed,
            rank=rank,
            world_size=world,
            pad_shards=train,
        )

    def train_dataloader(self) -> InMemoryBatches:
        return self._loader("train", self.batch_size, train=True)

    def val_dataloader(self) -> InMemoryBatches:
        return self._loader("val", self.eval_batch_size, train=False)

    def test_dataloader(self) -> InMemoryBatches:
        return self._loader("test", self.eval_batch_size, train=False)

    def predict_dataloader(self) -> InMemoryBatches:
        return self._loader("test", self.eval_batch_size, train=False)

    @property
    def validates_on_test(self) -> bool:
        """True when there is no separate validation split (validation reuses the test
        split); training then tests its last weights, since picking the best checkpoint by
        test-split accuracy would leak the test set into model selection."""
        return False

    def split_sizes(self) -> dict[str, int]:
        self.setup()
        return {name: len(x) for name, (x, _) in self.splits.items()}


def as_targets(y: Any, task: str) -> Tensor:
    """Targets as the task's loss wants them: class indices or a float column."""
    t = torch.as_tensor(y)
    if task == "regression":
        t = t.float()
        return t.unsqueeze(1) if t.ndim == 1 else t
    return t.long()
