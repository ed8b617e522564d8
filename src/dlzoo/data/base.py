"""The base LightningDataModule: splits held in memory, served as whole mini-batches."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import lightning as L
import torch
from torch import Tensor

from dlzoo.data.batches import InMemoryBatches, ResumableBatches
from dlzoo.data.spec import DataSpec
from dlzoo.errors import ConfigError

Split = tuple[Tensor, Tensor]
SPLITS = ("train", "val", "test")
#: ``speed.data_on_device=auto`` copies the splits to a GPU when they take at most this share
#: of its free memory
AUTO_ON_DEVICE_SHARE = 0.25


def resolve_batch_size(batch_size: int | str, num_examples: int) -> int:
    """``"full"`` means one batch holding the whole split (full-batch gradient descent)."""
    if isinstance(batch_size, str):
        if batch_size.strip().lower() == "full":
            return max(num_examples, 1)
        raise ConfigError(f"data.batch_size={batch_size!r}: use a positive integer or 'full'")
    if int(batch_size) < 1:
        raise ConfigError(f"data.batch_size={batch_size}: must be a positive integer or 'full'")
    return int(batch_size)


def check_global_batch_size(batch_size: int, world_size: int) -> None:
    """``data.batch_size`` is global: each of the ``world_size`` processes takes an equal part."""
    if batch_size % world_size:
        raise ConfigError(
            f"data.batch_size={batch_size} is the global batch size and must be divisible by "
            f"the number of processes ({world_size}): each takes batch_size / {world_size}; "
            f"use e.g. {batch_size - batch_size % world_size or world_size}"
        )


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

    Transforms fitted on the training data (scalers, columns, vocabularies) are returned by
    :meth:`state_dict`, which Lightning saves in every checkpoint; :meth:`load_state_dict`
    takes them back when a checkpoint is restored for prediction (``dlzoo.config.restore``).
    """

    def __init__(
        self,
        batch_size: int | str = 64,
        eval_batch_size: int | str | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size if eval_batch_size is not None else batch_size
        self.seed = seed
        #: the fitted transforms of a restored checkpoint (see :meth:`load_state_dict`)
        self.restored_state: dict[str, Any] = {}
        self.splits: dict[str, Split] = {}
        #: training batches served per loader batch (``speed.steps_per_call``): the task
        #: cuts each loader batch back into steps of ``step_batch_size`` examples
        self.steps_per_call = 1
        self.step_batch_size: int | None = None
        #: keep the splits on the training device (``speed.data_on_device``: ``"auto"``,
        #: ``True`` or ``False``); see :meth:`_device_for_splits`
        self.on_device: bool | str = "auto"
        self._device_splits: dict[tuple[str, str, int], tuple[Tensor, ...]] = {}
        self._auto_decisions: dict[str, bool] = {}

    @property
    @abstractmethod
    def spec(self) -> DataSpec:
        """What the data looks like (task, input shape, classes), known without loading."""

    @abstractmethod
    def load_splits(self) -> dict[str, Split]:
        """Return ``{"train": (x, y), "val": (x, y), "test": (x, y)}``."""

    # -- fitted transforms in checkpoints --------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What this datamodule fitted on its training data, as plain values and tensors
        (loadable with ``weights_only``); empty when nothing is fitted."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.restored_state = dict(state_dict)

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

    def _device_for_splits(self) -> torch.device | None:
        """The accelerator to hold the splits on, or ``None`` to keep them in host memory.

        On a GPU, a batch cut from host memory is copied to the GPU every step, and a copy
        from ordinary (pageable) memory waits for the GPU to finish its queued work. Held on
        the GPU, each batch is one indexing op there and no copy is made. ``auto`` does it
        when the splits take at most a quarter of the GPU's free memory.
        """
        trainer = self.trainer
        if self.on_device is False or trainer is None:
            return None
        device = trainer.strategy.root_device
        if device.type == "cpu":
            return None
        if self.on_device is True:
            return device
        if device.type != "cuda":
            return None
        if str(device) not in self._auto_decisions:  # decided once, before any split moves
            size = sum(t.numel() * t.element_size() for sp in self.splits.values() for t in sp)
            free, _ = torch.cuda.mem_get_info(device)
            self._auto_decisions[str(device)] = size <= AUTO_ON_DEVICE_SHARE * free
        return device if self._auto_decisions[str(device)] else None

    def _split_tensors(self, split: str) -> tuple[Tensor, ...]:
        tensors = self.splits[split]
        device = self._device_for_splits()
        if device is None:
            return tuple(tensors)
        key = (split, str(device), id(tensors[0]))  # a replaced split is copied again
        if key not in self._device_splits:
            stale = [k for k in self._device_splits if k[0] == split]
            for old in stale:  # free the copy of the split it replaces
                del self._device_splits[old]
            self._device_splits[key] = tuple(t.to(device) for t in tensors)
        return self._device_splits[key]

    def _loader(self, split: str, batch_size: int | str, train: bool) -> InMemoryBatches:
        self.setup()
        tensors = self._split_tensors(split)
        rank, world = self._world()
        size = resolve_batch_size(batch_size, len(tensors[0]))
        if world > 1 and train and batch_size != "full":
            check_global_batch_size(size, world)
            size //= world
        elif world > 1:
            size = max(-(-size // world), 1)
        step_size = None
        if train and self.steps_per_call > 1:
            self.step_batch_size = step_size = size
            size *= self.steps_per_call
        loader = InMemoryBatches(
            tensors,
            batch_size=size,
            step_size=step_size,
            shuffle=train and not self.overfitting,
            seed=self.seed,
            rank=rank,
            world_size=world,
            pad_shards=train,
        )
        return self.follow_trainer_epochs(loader) if train else loader

    @property
    def overfitting(self) -> bool:
        """``trainer.overfit_batches`` (``debug=overfit``): the same few batches every epoch,
        so no shuffle."""
        return bool(self.trainer is not None and getattr(self.trainer, "overfit_batches", 0))

    def follow_trainer_epochs(self, loader: ResumableBatches) -> ResumableBatches:
        """Let a training loader read the trainer's epoch when an epoch starts."""
        if self.trainer is not None:
            trainer = self.trainer
            loader.epoch_source = lambda: int(getattr(trainer, "current_epoch", 0))
        return loader

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

    def split_targets(self, split: str) -> Tensor:
        """The targets of one split (for baselines and checks)."""
        self.setup()
        return self.splits[split][1]

    def split_sizes(self) -> dict[str, int]:
        self.setup()
        return {name: len(tensors[0]) for name, tensors in self.splits.items()}


def class_targets(y: Any) -> Tensor:
    """Class indices, as cross-entropy wants them."""
    return torch.as_tensor(y).long()


def value_targets(y: Any) -> Tensor:
    """Real-valued targets as a float column (one per target)."""
    t = torch.as_tensor(y).float()
    return t.unsqueeze(1) if t.ndim == 1 else t
