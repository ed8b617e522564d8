"""Exceptions that end a run with one readable message instead of a traceback."""

from __future__ import annotations


class DlzooError(Exception):
    """A user-facing error: the message says what is wrong and what is allowed."""


class ConfigError(DlzooError):
    """The composed configuration asks for something that cannot work."""


class DataError(DlzooError):
    """A dataset is missing, unreadable or malformed."""


class IncompatibleError(ConfigError):
    """The chosen model cannot be trained on the chosen dataset."""
