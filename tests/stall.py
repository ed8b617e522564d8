"""A test-only callback: slows down or stops a run at a given step so a test can kill or
interrupt the process at a known point (imported by training subprocesses via
``+callbacks.stall._target_=stall.StallAtStep``)."""

from __future__ import annotations

import time
from pathlib import Path

from lightning.pytorch.callbacks import Callback


class StallAtStep(Callback):
    """From ``step`` optimizer steps on, write ``marker`` (step, epoch, batch) and then sleep
    forever (``pause=null``) or ``pause`` seconds after every step.

    It runs before the checkpoint callback of the same step (Lightning runs checkpoint
    callbacks last), so the newest checkpoint on disk is from an earlier step."""

    def __init__(self, step: int, marker: str, pause: float | None = None) -> None:
        self.step = step
        self.marker = Path(marker)
        self.pause = pause

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step < self.step:
            return
        if not self.marker.exists():
            self.marker.write_text(f"{trainer.global_step} {trainer.current_epoch} {batch_idx}")
        if self.pause is not None:
            time.sleep(self.pause)
            return
        while True:
            time.sleep(60)


class InterruptAtStep(Callback):
    """At ``step`` optimizer steps, do what a Ctrl-C does: set the ``TrainingGuard``'s flag."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        from dlzoo.callbacks.training_guard import TrainingGuard

        if trainer.global_step == self.step:
            for callback in trainer.callbacks:
                if isinstance(callback, TrainingGuard):
                    callback.interrupt_requested = True


class StallAt(Callback):
    """Write ``marker`` and sleep forever at one point of a run: the ``hook`` (a Lightning
    callback hook name) of epoch ``epoch`` (and batch ``batch`` for batch hooks), so a test
    can SIGKILL the process there. Checkpoint callbacks run after this one in each hook."""

    def __init__(self, hook: str, epoch: int, marker: str, batch: int = 0) -> None:
        self.hook, self.epoch, self.batch = hook, epoch, batch
        self.marker = Path(marker)
        setattr(self, hook, self._maybe_stall)

    def _maybe_stall(self, trainer, *args) -> None:  # type: ignore[no-untyped-def]
        if trainer.sanity_checking or trainer.current_epoch != self.epoch:
            return
        batch_idx = args[-1] if self.hook.endswith("batch_end") else 0
        if batch_idx != self.batch:
            return
        self.marker.write_text(f"{self.hook} {trainer.global_step}")
        while True:
            time.sleep(60)


class StallOnce(Callback):
    """Sleep forever from ``step`` on, once: only in the run whose folder name starts with
    ``run_prefix`` (or whose environment has ``env`` = ``NAME=value``) and only while
    ``marker`` does not exist yet (it is written first). A relaunch of the same command then
    runs through, which lets a test kill a sweep in the middle of a chosen job."""

    def __init__(
        self, step: int, marker: str, run_prefix: str | None = None, env: str | None = None
    ) -> None:
        self.step = step
        self.marker = Path(marker)
        self.run_prefix = run_prefix
        self.env = env
        self.armed = False

    def on_fit_start(self, trainer, pl_module) -> None:
        import os

        from hydra.core.hydra_config import HydraConfig

        run_dir = (
            Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path()
        )
        name, _, value = (self.env or "").partition("=")
        chosen = (self.run_prefix is None or run_dir.name.startswith(self.run_prefix)) and (
            self.env is None or os.environ.get(name) == value
        )
        self.armed = chosen and not self.marker.exists()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.armed or trainer.global_step < self.step:
            return
        self.marker.write_text(f"{trainer.global_step} {trainer.current_epoch} {batch_idx}")
        while True:
            time.sleep(60)


class TerminateWhileTesting(Callback):
    """Send this process a SIGTERM (kill, a scheduler's preemption) when testing starts."""

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        import os
        import signal

        if batch_idx == 0:
            os.kill(os.getpid(), signal.SIGTERM)


class TerminateWhileValidating(Callback):
    """Send this process a SIGTERM when the second epoch's validation starts."""

    def on_validation_batch_start(
        self, trainer, pl_module, batch, batch_idx, dataloader_idx=0
    ) -> None:
        import os
        import signal

        if batch_idx == 0 and trainer.current_epoch == 1 and not trainer.sanity_checking:
            os.kill(os.getpid(), signal.SIGTERM)
