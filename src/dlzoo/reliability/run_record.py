"""A run folder's record (``metrics.json``, ``config.yaml``) across one launch.

A launch that fails never leaves a record at ``running`` and never damages an earlier run's
record: when it continued an earlier run (``resume=...``) and failed before training moved
on, that run's files are put back as they were; otherwise the record says ``failed`` with
the message.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from dlzoo.errors import DlzooError
from dlzoo.records.metrics_file import METRICS_FILE, write_metrics

KEPT_FILES = (METRICS_FILE, "config.yaml")


class DiskFull(DlzooError):
    """The disk filled up while the run was writing."""


class RunRecord:
    """Remembers the run folder's record files as they were before this launch."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.before: dict[str, bytes] = {}
        for name in KEPT_FILES:
            path = self.run_dir / name
            if path.is_file():
                self.before[name] = path.read_bytes()

    def restore(self) -> None:
        """Put the earlier run's files back byte for byte (atomically, one by one)."""
        for name, content in self.before.items():
            path = self.run_dir / name
            tmp = path.with_name(f".{name}.restore.tmp")
            tmp.write_bytes(content)
            tmp.replace(path)

    def failed(
        self,
        err: BaseException,
        fields: dict[str, Any],
        progressed: bool,
        last_checkpoint: str | None,
    ) -> BaseException:
        """Record a failed launch; returns the error to raise (a full disk becomes one
        readable message)."""
        raise_as: BaseException = err
        message = str(err) if isinstance(err, DlzooError) else f"{type(err).__name__}: {err}"
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            where = f" while writing {err.filename}" if err.filename else ""
            kept = f"; the last good checkpoint is {last_checkpoint}" if last_checkpoint else ""
            message = (
                f"the disk is full{where}{kept}. Free some space and continue with "
                f"`python scripts/train.py resume={self.run_dir}`"
            )
            raise_as = DiskFull(message)
        try:
            if self.before and not progressed:
                self.restore()
            else:
                write_metrics(self.run_dir, {**fields, "status": "failed", "message": message})
        except OSError as write_err:
            note = f" (the run's record could not be updated either: {write_err})"
            raise_as = DiskFull(message + note) if isinstance(raise_as, DiskFull) else raise_as
        return raise_as
