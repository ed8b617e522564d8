"""Find what an interrupted grid sweep already did, so a relaunch does only the rest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml
from omegaconf import DictConfig

#: overrides that may differ between a sweep and the launch that resumes it
RELAUNCH_KEYS = ("resume", "ckpt_path", "hydra.")


def job_key(overrides: Sequence[str]) -> tuple[str, ...]:
    """A job's overrides without those of the relaunch (``resume=auto``), order-free."""
    return tuple(sorted(o for o in overrides if not o.lstrip("+~").startswith(RELAUNCH_KEYS)))


def resuming(config: DictConfig) -> bool:
    """Whether this multirun was launched with ``resume=...`` (continue, don't start over)."""
    return any(
        str(o).startswith("resume=") and str(o) != "resume=null"
        for o in config.hydra.overrides.task
    )


def previous_sweep_dir(config: DictConfig) -> Path | None:
    """The newest sibling sweep folder launched with the same overrides, if any (a command
    line that names ``hydra.sweep.dir`` keeps that folder)."""
    if any(str(o).startswith("hydra.sweep.dir=") for o in config.hydra.overrides.hydra):
        return Path(str(config.hydra.sweep.dir))
    here = Path(str(config.hydra.sweep.dir))
    wanted = job_key([str(o) for o in config.hydra.overrides.task])
    candidates = []
    for saved in here.parent.glob("*/multirun.yaml"):
        if saved.parent == here:
            continue
        try:
            task = yaml.safe_load(saved.read_text())["hydra"]["overrides"]["task"]
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            continue
        if job_key([str(o) for o in task or []]) == wanted:
            candidates.append((saved.stat().st_mtime, saved.parent))
    return max(candidates)[1] if candidates else None


def completed_jobs(sweep_dir: Path) -> set[tuple[str, ...]]:
    """The override keys of the run folders below ``sweep_dir`` whose record is completed."""
    done = set()
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        run = overrides_file.parent.parent
        try:
            status = json.loads((run / "metrics.json").read_text()).get("status")
            overrides = yaml.safe_load(overrides_file.read_text()) or []
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if status == "completed":
            done.add(job_key([str(o) for o in overrides]))
    return done
