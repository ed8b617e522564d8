"""Exceptions that end a run with one readable message instead of a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DlzooError(Exception):
    """A user-facing error: the message says what is wrong and what is allowed."""


class ConfigError(DlzooError):
    """The composed configuration asks for something that cannot work."""


class DataError(DlzooError):
    """A dataset is missing, unreadable or malformed."""


class IncompatibleError(ConfigError):
    """The chosen model cannot be trained on the chosen dataset."""


class RunDirError(DlzooError):
    """The run directory cannot be written, or its disk is too full for the run."""


class TrainingDiverged(DlzooError):
    """The training loss (or the weights about to be checkpointed) became NaN or infinite."""

    status = "diverged"


class TrainingInterrupted(DlzooError):
    """The user pressed Ctrl-C: a checkpoint was saved and the run stopped cleanly."""

    status = "interrupted"
    #: the shell's convention for "ended by SIGINT" (128 + 2)
    exit_code = 130


def check_known_keys(keys: Iterable[str], known: Iterable[str], where: str, note: str = "") -> None:
    """An unknown key is an error naming the known ones (with a "did you mean"), never
    silently ignored (``+top_k=5`` once did nothing; ``eval.py +model=...`` evaluated the
    checkpoint's own model)."""
    known = sorted(set(known))
    unknown = [k for k in keys if k not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"{key}" + (f" (did you mean {close[0]}?)" if close else ""))
        raise ConfigError(
            f"unknown key(s) for {where}: {', '.join(hints)}{note}. Known keys: {', '.join(known)}"
        )
