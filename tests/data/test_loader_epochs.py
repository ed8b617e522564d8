"""The resumable loaders under Lightning's own loop: every epoch gets its own shuffle and the
saved loader state names the right epoch (Lightning never exhausts a loader's iterator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from dlzoo.data.spec import TokenStreamSpec
from dlzoo.data.tabular import IrisDataModule
from dlzoo.data.text import TextFileDataModule
from dlzoo.models.mlp import MLP
from dlzoo.models.rnn import RNNLM
from dlzoo.tasks import LanguageModelTask, MulticlassTask

EPOCHS = 4


class FirstBatches(Callback):
    """Keeps the inputs of each epoch's first training batch."""

    def __init__(self) -> None:
        self.first: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer: L.Trainer, module: Any, batch: Any, idx: int) -> None:
        if idx == 0:
            self.first.append(batch[0].clone())


def fit(
    module: L.LightningModule, dm: L.LightningDataModule, root: Path
) -> tuple[FirstBatches, dict]:
    seen = FirstBatches()
    trainer = L.Trainer(
        max_epochs=EPOCHS,
        callbacks=[seen],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=root,
    )
    trainer.fit(module, datamodule=dm)
    trainer.save_checkpoint(root / "end.ckpt")
    checkpoint = torch.load(root / "end.ckpt", weights_only=True)
    return seen, checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]


def distinct_first_batches(seen: FirstBatches) -> int:
    assert len(seen.first) == EPOCHS
    distinct: list[torch.Tensor] = []
    for batch in seen.first:
        if not any(batch.shape == d.shape and torch.equal(batch, d) for d in distinct):
            distinct.append(batch)
    return len(distinct)


@pytest.mark.parametrize("sampling", ["random", "sequential"])
def test_a_language_model_sees_a_new_shuffle_every_epoch(tmp_path: Path, sampling: str) -> None:
    text = tmp_path / "text.txt"
    text.write_text("the time machine by h g wells " * 200)
    dm = TextFileDataModule(path=str(text), num_steps=8, sampling=sampling, batch_size=4, seed=1)
    spec = dm.spec
    assert isinstance(spec, TokenStreamSpec)
    net = RNNLM([8], spec.num_classes, cell="gru", hidden_size=16)
    task = LanguageModelTask(net=net, optimizer=torch.optim.SGD, spec=spec)
    task.optimizer_factory = lambda params: torch.optim.SGD(params, lr=0.1)
    seen, state = fit(task, dm, tmp_path)
    # random sampling shuffles the windows; sequential only moves the start offset (one of
    # num_steps), so two of four epochs may share an offset, but not all of them
    minimum = EPOCHS if sampling == "random" else 2
    assert distinct_first_batches(seen) >= minimum
    # saved after the last epoch: a resumed run starts epoch EPOCHS with a fresh shuffle
    assert state == {"epoch": EPOCHS, "batches_yielded": 0}


def test_in_memory_batches_reshuffle_every_epoch(tmp_path: Path) -> None:
    dm = IrisDataModule(batch_size=16, seed=1)
    spec = dm.spec
    net = MLP([4], spec.num_classes, hidden_sizes=[8])
    task = MulticlassTask(net=net, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), spec=spec)
    seen, state = fit(task, dm, tmp_path)
    assert distinct_first_batches(seen) == EPOCHS
    assert state == {"epoch": EPOCHS, "batches_yielded": 0}
