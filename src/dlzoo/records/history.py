"""A per-epoch record of every logged scalar, one JSON line per epoch (``history.jsonl``).

Sweep summaries read it to draw every run's validation curve on one plot; it is also the
quickest way to look at a run's progress without TensorBoard.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"


def read_history(run_dir: str | Path, filename: str = HISTORY_FILE) -> list[dict[str, Any]]:
    """The rows of a run's history (empty if it has none)."""
    path = Path(run_dir) / filename
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash
                break
    return rows
