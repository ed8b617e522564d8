"""The Hydra callback that summarises a multirun when its last job has finished."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("dlzoo")


class SummarizeSweep(Callback):
    """Writes ``summary.md``, ``summary.csv`` and ``curves.png`` into the sweep folder.

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
        except Exception as err:  # noqa: BLE001 - the sweep itself succeeded
            log.warning("could not summarise %s: %s", sweep_dir, err)
            return
        log.info("sweep summary: %s", ", ".join(str(p) for p in written.values()))
