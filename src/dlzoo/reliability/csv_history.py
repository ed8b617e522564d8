"""Keeping a CSV logger's history across a resume.

Lightning's ``CSVLogger`` starts a fresh ``metrics.csv`` when a resumed run logs again, which
would drop everything logged before the interruption. On resume the old file is set aside as
``metrics.part<N>.csv``, cut to the steps the checkpoint covers (later rows are replayed), and
when the run completes all parts and the new rows are joined back into ``metrics.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger

METRICS = "metrics.csv"


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _step(row: dict[str, str]) -> int | None:
    try:
        return int(float(row.get("step") or ""))
    except ValueError:
        return None


def _csv_dirs(loggers: Iterable[Logger]) -> list[Path]:
    return [Path(lg.log_dir) for lg in loggers if isinstance(lg, CSVLogger)]


def set_aside_before_resume(loggers: Iterable[Logger], purge_step: int) -> None:
    """Move ``metrics.csv`` to the next ``metrics.part<N>.csv``, keeping rows with
    ``step < purge_step`` (the same cut TensorBoard's ``purge_step`` makes)."""
    for folder in _csv_dirs(loggers):
        current = folder / METRICS
        if not current.is_file():
            continue
        header, rows = _read(current)
        kept = [r for r in rows if (s := _step(r)) is None or s < purge_step]
        n = len(list(folder.glob("metrics.part*.csv")))
        with open(folder / f"metrics.part{n:03d}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)
        current.unlink()


def join_after_completion(loggers: Iterable[Logger]) -> None:
    """Join the parts set aside by earlier resumes and the new rows into ``metrics.csv``."""
    for folder in _csv_dirs(loggers):
        parts = sorted(folder.glob("metrics.part*.csv"))
        if not parts:
            continue
        header: list[str] = []
        rows: list[dict[str, str]] = []
        for path in [*parts, folder / METRICS]:
            if not path.is_file():
                continue
            names, part_rows = _read(path)
            header += [n for n in names if n not in header]
            rows += part_rows
        tmp = folder / f".{METRICS}.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(folder / METRICS)
        for path in parts:
            path.unlink()
