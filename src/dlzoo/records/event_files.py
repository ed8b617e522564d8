"""A run that fails before it logs anything leaves no TensorBoard event file: TensorBoard
lists every folder with one as a run, and an empty one is a run with nothing in it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lightning.pytorch.loggers import Logger, TensorBoardLogger

#: written at the start of every run (dlzoo.records.tensorboard): not data by itself
LAYOUT_TAG = "custom_scalars__config__"


def holds_data(path: str | Path) -> bool:
    """Whether an event file holds any logged value besides the custom-scalars layout."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    try:
        for event in EventFileLoader(str(path)).Load():
            if any(value.tag != LAYOUT_TAG for value in event.summary.value):
                return True
    except Exception:  # unreadable: keep it, someone may want to look
        return True
    return False


def remove_empty_event_files(loggers: Iterable[Logger], since: float) -> list[Path]:
    """Close the TensorBoard writers and delete their event files written after ``since``
    (seconds since the epoch) that hold no data; returns the removed paths."""
    removed = []
    for logger in loggers:
        if not isinstance(logger, TensorBoardLogger) or logger._experiment is None:
            continue
        logger.experiment.flush()
        logger.experiment.close()
        folder = Path(logger.log_dir)
        for path in folder.glob("events.out.tfevents.*"):
            if path.stat().st_mtime >= since - 1 and not holds_data(path):
                path.unlink()
                removed.append(path)
        if folder.is_dir() and not any(folder.glob("events.out.tfevents.*")):
            for leftover in folder.glob("hparams.yaml"):  # Lightning's, empty of values
                leftover.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
    return removed


@contextmanager
def no_empty_event_files(loggers: Iterable[Logger]) -> Iterator[None]:
    """On any exception, remove the event files this block's run left empty, then re-raise."""
    started = time.time()
    try:
        yield
    except BaseException:
        remove_empty_event_files(list(loggers), started)
        raise
