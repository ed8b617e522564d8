"""A test-only callback: stops making progress at a given step so a test can kill the process
at a known point (imported by training subprocesses via ``+callbacks.stall._target_``)."""

from __future__ import annotations

import time
from pathlib import Path

from lightning.pytorch.callbacks import Callback


class StallAtStep(Callback):
    """At ``step`` optimizer steps, write ``marker`` (holding the step) and sleep forever.

    It runs before the checkpoint callback of the same step (Lightning runs checkpoint
    callbacks last), so the newest checkpoint on disk is from an earlier step."""

    def __init__(self, step: int, marker: str) -> None:
        self.step = step
        self.marker = Path(marker)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step:
            self.marker.write_text(f"{trainer.global_step} {trainer.current_epoch} {batch_idx}")
            while True:
                time.sleep(60)
