"""A quiet console: what a run prints is about the run.

Lightning advertises its cloud products ("💡 Tip: ... litlogger", "... litmodels") through
its ``rank_zero`` info logger on every fit; a few dependencies warn about their own
internals on every command. Both are dropped here, by logger and by exact message, so any
other warning still shows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Lightning's loggers that ``rank_zero_info`` writes to
LIGHTNING_INFO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)
#: words that mark an advert (the products Lightning advertises)
ADVERT_MARKERS = ("Tip:", "litlogger", "litmodels", "lightning.ai/")


@dataclass(frozen=True)
class KnownWarning:
    """A dependency's warning known to be harmless for dlzoo, and why."""

    message: str  # a regular expression matched at the start of the message
    category: type[Warning]
    why: str


KNOWN_HARMLESS: tuple[KnownWarning, ...] = (
    KnownWarning(
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        FutureWarning,
        "torch deprecates a pytree API that Lightning still calls, on every fit",
    ),
    KnownWarning(
        r"The number of training batches \(\d+\) is smaller than the logging interval",
        UserWarning,
        "dlzoo logs the training loss and metrics per epoch whatever the interval "
        "(train/loss_epoch); only train/loss_step is thinner on tiny datasets",
    ),
    KnownWarning(
        r"`torch\.jit\.(trace|trace_method|load|save|script)` is deprecated",
        FutureWarning,
        "TorchScript export is asked for explicitly (format=torchscript)",
    ),
    KnownWarning(
        r"You are using the legacy TorchScript-based ONNX export",
        DeprecationWarning,
        "the legacy exporter needs no onnxscript; format=onnx checks the file with onnxruntime",
    ),
    KnownWarning(
        r"The feature will be removed\. Please remove usage of this function",
        DeprecationWarning,
        "raised inside torch's own legacy ONNX exporter",
    ),
)


def pytest_filters() -> list[str]:
    """The known-harmless warnings as pytest ``filterwarnings`` lines (one source of truth
    for the console and the test run)."""
    return [f"ignore:{w.message}:{w.category.__name__}" for w in KNOWN_HARMLESS]


def ignore_known_warnings() -> None:
    for known in KNOWN_HARMLESS:
        warnings.filterwarnings("ignore", message=known.message, category=known.category)


class DropAdverts(logging.Filter):
    """Drops Lightning's product adverts; keeps every other info line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(marker in message for marker in ADVERT_MARKERS)


def quiet_console() -> None:
    """Install the advert filter and the known-warning filters (idempotent)."""
    for name in LIGHTNING_INFO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropAdverts) for f in logger.filters):
            logger.addFilter(DropAdverts())
    ignore_known_warnings()


#: what Lightning says when a run continues in its own folder, which resuming does on purpose
RESUME_WARNINGS = (
    r"Checkpoint directory .* exists and is not empty",
    r"Experiment logs directory .* exists and is not empty",
)


@contextmanager
def resuming(active: bool) -> Iterator[None]:
    """Silence the "folder exists and is not empty" warnings while a resumed run continues
    in its folder (a fresh run into a used folder still gets them: that one may overwrite)."""
    with warnings.catch_warnings():
        if active:
            for message in RESUME_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
        yield
