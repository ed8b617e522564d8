"""The private Lightning (and torchmetrics) API dlzoo relies on, checked on a real fit.

Each function of :mod:`dlzoo.lightning_internals` is exercised on the objects Lightning
really builds. A Lightning upgrade that renames or removes any of them fails here, loudly,
instead of degrading a run into a logged warning.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torchmetrics.classification import MulticlassAccuracy

from dlzoo import lightning_internals as internals
from dlzoo.data.tabular import IrisDataModule
from dlzoo.models.mlp import MLP
from dlzoo.tasks import MulticlassTask


class LogsAMean(MulticlassTask):
    """Also logs a plain tensor with an epoch mean (what ``running_epoch_means`` reads)."""

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        loss = super().training_step(batch, batch_idx)
        self.log("probe", loss.detach(), on_step=False, on_epoch=True)
        return loss


class Probe(Callback):
    def __init__(self) -> None:
        self.seen: dict[str, object] = {}

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        internals.apply_pending_loader_state(trainer)
        self.seen["steps_per_epoch"] = internals.train_loader_steps_per_epoch(trainer)
        self.seen["full_precision"] = internals.is_full_precision(trainer)
        self.seen["bare"] = internals.can_step_bare(module.optimizers())

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        self.seen.setdefault("updates", []).append(internals.should_update_logs(trainer))  # type: ignore[union-attr]
        if batch_idx == 1:
            self.seen["means"] = sorted(internals.running_epoch_means(trainer))
            internals.flush_step_logs(trainer)


def test_every_internal_works_on_a_real_fit(tmp_path: Path) -> None:
    dm = IrisDataModule(batch_size=16)
    spec = dm.spec
    task = LogsAMean(MLP([4], 3, hidden_sizes=[8]), lambda p: torch.optim.SGD(p, lr=0.1), spec=spec)
    probe = Probe()
    trainer = L.Trainer(
        max_epochs=1,
        callbacks=[probe],
        logger=L.pytorch.loggers.TensorBoardLogger(tmp_path),
        log_every_n_steps=2,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=dm)
    assert probe.seen["steps_per_epoch"] == 7  # 108 training rows in batches of 16
    assert probe.seen["full_precision"] is True and probe.seen["bare"] is True
    assert probe.seen["updates"][:4] == [False, True, False, True]  # log_every_n_steps=2
    assert probe.seen["means"] == ["training_step.probe"]
    writer = internals.tensorboard_file_writer(trainer.logger.experiment)
    assert hasattr(writer, "add_summary")


def test_metric_internals() -> None:
    metric = MulticlassAccuracy(3, average="micro")
    metric.update(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]))
    assert internals.metric_update_count(metric) == 1
    assert set(internals.metric_sum_states(metric)) >= {"tp", "fn"}
    internals.add_metric_updates(metric, 2)
    assert internals.metric_update_count(metric) == 3


def test_bare_optimizer_step_counts_global_steps() -> None:
    dm = IrisDataModule(batch_size=16)
    task = MulticlassTask(
        MLP([4], 3, hidden_sizes=[8]), lambda p: torch.optim.SGD(p, lr=0.1), spec=dm.spec
    )
    from dlzoo.tasks.steps_per_call import StepsPerCall

    StepsPerCall(3).attach(task)
    dm.steps_per_call = 3
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(task, datamodule=dm)
    assert trainer.global_step == 7  # 7 optimizer steps (batches of 16) in 3 calls


def test_lists_come_from_lightning() -> None:
    assert {"32-true", "bf16-mixed", "16-mixed", "auto"} <= set(internals.PRECISIONS)
    assert {"auto", "cpu", "gpu", "cuda"} <= set(internals.ACCELERATORS)


def test_the_checkpoint_callbacks_private_members_exist(tmp_path: Path) -> None:
    """ModelCheckpointWithLast overrides or sets these; a Lightning upgrade that renames one
    would silently stop last.ckpt from moving or the best checkpoint from being kept."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    callback = ModelCheckpoint(dirpath=tmp_path)
    assert hasattr(callback, "_last_global_step_saved")
    for name in ("_save_last_checkpoint", "_monitor_candidates", "_should_save_on_train_epoch_end"):
        assert callable(getattr(ModelCheckpoint, name, None)), name


def test_the_rich_bar_counts_epochs_from_one() -> None:
    """The terminal's bar says "Epoch 1/3" for the first of three epochs, as the plain
    progress lines and the stop messages do (Lightning's own bar says "Epoch 0/2")."""
    from types import SimpleNamespace

    from dlzoo.lightning_internals import RichProgressCountingFromOne

    bar = RichProgressCountingFromOne()
    bar._trainer = SimpleNamespace(max_epochs=3)
    assert bar._get_train_description(0).strip() == "Epoch 1/3"
    bar._trainer = SimpleNamespace(max_epochs=-1)  # no limit: no total
    assert bar._get_train_description(4).strip() == "Epoch 5"


class Recorder(Callback):
    """Records the hooks it defines, and logs from one (which needs the hook's name set)."""

    def __init__(self, name: str, calls: list[tuple[str, str]]) -> None:
        self.name, self.calls = name, calls

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((self.name, "on_train_batch_end"))
        module.log("recorded", float(batch_idx), on_step=False, on_epoch=True)

    def on_before_zero_grad(self, trainer, module, optimizer) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((self.name, "on_before_zero_grad"))

    def on_validation_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((self.name, "on_validation_end"))

    def on_train_epoch_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((self.name, "on_train_epoch_end"))  # before the monitoring ones


class RecordingStopper(L.pytorch.callbacks.EarlyStopping):
    """A monitoring callback: Lightning calls these apart (``monitoring_callbacks``)."""

    def __init__(self, calls: list[tuple[str, str]]) -> None:
        super().__init__(monitor="val/loss", patience=100)
        self.calls = calls

    def on_validation_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("stopper", "on_validation_end"))
        super().on_validation_end(trainer, module)

    def on_train_epoch_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("stopper", "on_train_epoch_end"))  # after the others
        super().on_train_epoch_end(trainer, module)


def _recorded_fit(skip: bool, tmp_path: Path) -> tuple[list[tuple[str, str]], float]:
    calls: list[tuple[str, str]] = []
    quiet = Callback()  # inherits every hook: never called when skipping
    by_attribute = Callback()  # a hook set on the instance is its own, and is called
    by_attribute.on_train_epoch_start = lambda trainer, module: calls.append(("attr", "epoch"))  # type: ignore[method-assign]
    dm = IrisDataModule(batch_size=16)
    torch.manual_seed(0)
    task = MulticlassTask(
        MLP([4], 3, hidden_sizes=[8]), lambda p: torch.optim.SGD(p, lr=0.1), spec=dm.spec
    )
    trainer = L.Trainer(
        max_epochs=2,
        callbacks=[
            Recorder("a", calls),
            quiet,
            RecordingStopper(calls),
            by_attribute,
            Recorder("b", calls),
        ],  # fmt: skip
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    if skip:
        internals.skip_inherited_callback_hooks(trainer)
    trainer.fit(task, datamodule=dm)
    return calls, float(trainer.callback_metrics["recorded"])


def test_skipping_inherited_hooks_makes_the_same_calls_in_the_same_order(tmp_path: Path) -> None:
    """dlzoo's trainers call only the hooks a callback defines; what runs, in what order,
    and what the hooks log are Lightning's."""
    lightning_calls, lightning_logged = _recorded_fit(False, tmp_path)
    skipping_calls, skipping_logged = _recorded_fit(True, tmp_path)
    assert skipping_calls == lightning_calls
    assert skipping_logged == lightning_logged
    assert ("stopper", "on_validation_end") in skipping_calls
    ends = [name for name, hook in skipping_calls if hook == "on_train_epoch_end"]
    assert ends == ["a", "b", "stopper"] * 2
    assert lightning_calls.count(("attr", "epoch")) == 2
    assert lightning_calls.count(("a", "on_before_zero_grad")) == 14  # 7 steps x 2 epochs


def test_skipping_inherited_hooks_leaves_other_trainers_and_profiled_runs_alone(
    tmp_path: Path,
) -> None:
    """Lightning names every call's profiler section by the callback's ``state_key``: a
    callback that only inherits its hooks has it read about once a hook call there, and not
    at all in the per-step hooks of a marked trainer."""
    from lightning.pytorch.profilers import SimpleProfiler
    from lightning.pytorch.trainer import call

    reads: list[int] = []

    class Counting(Callback):
        @property
        def state_key(self) -> str:
            reads.append(1)
            return "Counting"

    def fit(skip: bool, profiler: object = None) -> int:
        reads.clear()
        dm = IrisDataModule(batch_size=16)
        task = MulticlassTask(
            MLP([4], 3, hidden_sizes=[8]), lambda p: torch.optim.SGD(p, lr=0.1), spec=dm.spec
        )
        trainer = L.Trainer(
            max_epochs=1, callbacks=[Counting()], logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, profiler=profiler,
        )  # fmt: skip
        if skip:
            internals.skip_inherited_callback_hooks(trainer)
        trainer.fit(task, datamodule=dm)
        return len(reads)

    skipping = fit(True)
    assert getattr(call._call_callback_hooks, "skips_inherited_hooks", False)
    lightning = fit(False)  # a trainer not marked: Lightning's dispatch, patch installed
    assert lightning >= 7 * 6 and skipping < 7  # 7 steps, six hooks a step
    profiler = SimpleProfiler(dirpath=tmp_path, filename="report")  # its report names them
    fit(True, profiler)
    assert any(k.endswith("Counting.on_before_zero_grad") for k in profiler.recorded_durations)
