"""The Hydra callback that summarises a multirun when its last job has finished."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlzoo.utils.failing import fail

log = logging.getLogger("dlzoo")


def failed_jobs(sweep_dir: Path) -> list[str]:
    """The sweep's jobs whose record says they failed (diverged, or any error)."""
    from dlzoo.sweeps.summary import find_run_dirs, load_run

    bad = []
    for run_dir in find_run_dirs(sweep_dir):
        run = load_run(run_dir)
        if run.status not in ("completed", "pruned", "running"):
            bad.append(f"{run_dir.name} ({run.status})")
    return bad


class SummarizeSweep(Callback):
    """Writes ``summary.md``, ``summary.csv`` and ``curves.png`` into the sweep folder, then
    ends the process with exit status 1 if any job failed (after every job has run).

    A summary that cannot be made is reported, never raised: the runs are already done.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        from dlzoo.sweeps.summary import summarize

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            written = summarize(sweep_dir)
            log.info("sweep summary: %s", ", ".join(str(p) for p in written.values()))
        except Exception as err:  # noqa: BLE001 - the sweep itself succeeded
            log.warning("could not summarise %s: %s", sweep_dir, err)
        bad = failed_jobs(sweep_dir)
        if bad:
            message = (
                f"{len(bad)} job(s) of the sweep failed: {', '.join(bad[:10])}. Their records "
                f"(metrics.json) say why; the summary is in {sweep_dir}"
            )
            fail(message, 1, log.name)
