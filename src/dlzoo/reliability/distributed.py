"""Bookkeeping for spawn-based DDP (``trainer=ddp_cpu``), where training runs in child
processes and the main process only gets back what Lightning sends it."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator

import lightning as L


def from_worker(err: BaseException) -> BaseException:
    """``ddp_spawn`` re-raises a worker's exception in the main process as a
    ``ProcessRaisedException`` holding only the traceback text; turn dlzoo's divergence and
    Ctrl-C errors back into their own types (so they get their status and exit code)."""
    from dlzoo.errors import TrainingDiverged, TrainingInterrupted

    text = str(err)
    for cls in (TrainingDiverged, TrainingInterrupted):
        marker = f"{cls.__module__}.{cls.__name__}: "
        if marker in text:
            message = text.split(marker, 1)[1].strip()
            new = cls(message)
            # the worker's step and checkpoint, which the main process's trainer lacks
            if step := re.search(r" at step (\d+) ", message):
                new.step = int(step.group(1))  # type: ignore[attr-defined]
            if "interrupted (SIGTERM)" in message:
                new.exit_code = 143  # type: ignore[attr-defined]
            if path := re.search(r"(?:kept: |checkpoint saved to )(\S+?)\.?(?:\n|$)", message):
                new.checkpoint = path.group(1)  # type: ignore[attr-defined]
            return new
    return err


@contextlib.contextmanager
def main_process_ignores_sigint(trainer: L.Trainer) -> Iterator[None]:
    """With spawned DDP workers, a Ctrl-C reaches the whole process group: the workers save a
    checkpoint and stop cleanly (``TrainingGuard``), while the main process, which only
    waits for them, must not abort on it."""
    from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher

    spawned = isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)
    if not spawned or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
