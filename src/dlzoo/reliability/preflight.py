"""Checks of the run directory made before training starts (not after an hour)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from dlzoo.errors import RunDirError

MiB = 1024 * 1024
#: room kept for logs, TensorBoard events and metrics besides the checkpoints
LOG_RESERVE = 32 * MiB


def checkpoint_bytes(num_parameters: int) -> int:
    """A generous estimate of one checkpoint: fp32 weights plus two optimizer moments."""
    return num_parameters * 4 * 3


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(run_dir: str | Path) -> Path:
    """Create ``run_dir`` and write a probe file there; a clear error when that fails."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".dlzoo_write_probe.{os.getpid()}"  # one per launch
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as err:
        raise RunDirError(
            f"the run directory {run_dir} is not writable ({err.strerror or err}): set "
            f"paths.log_dir (or hydra.run.dir) to a folder you can write to"
        ) from None
    return run_dir


def check_free_space(run_dir: str | Path, needed: int) -> None:
    """Fail when the disk holding ``run_dir`` has less than ``needed`` bytes free."""
    free = shutil.disk_usage(_nearest_existing(Path(run_dir))).free
    if free < needed:
        raise RunDirError(
            f"not enough free disk space for the run directory {run_dir}: {free / MiB:.1f} MiB "
            f"free, about {needed / MiB:.1f} MiB needed for checkpoints and logs. Free some "
            f"space or set paths.log_dir to another disk"
        )


def preflight(run_dir: str | Path, num_parameters: int, checkpoints_kept: int) -> None:
    """Both checks; ``checkpoints_kept`` is how many checkpoint files the run keeps at once
    (top-k + last + one being written)."""
    check_writable(run_dir)
    check_free_space(run_dir, checkpoint_bytes(num_parameters) * checkpoints_kept + LOG_RESERVE)


class RunDirCheck(Callback):
    """A Hydra callback (``conf/hydra/default.yaml``) checking the run/sweep folder can be
    created *before* Hydra tries, so an unwritable ``paths.log_dir`` gives one clear line
    instead of Hydra's traceback."""

    def _check(self, folder: str) -> None:
        # create it (Hydra would next): permission bits say nothing to root, and some
        # folders (/proc, read-only mounts) refuse every writer
        path = Path(folder)
        created = [p for p in (path, *path.parents) if not p.exists()]
        problem = ""
        for _ in range(5):  # a launch beside this one may remove its empty probe parents
            try:
                path.mkdir(parents=True, exist_ok=True)
                problem = "" if os.access(folder, os.W_OK | os.X_OK) else "it is not writable"
                break
            except FileNotFoundError as err:  # a parent vanished under us: try again
                problem = err.strerror or str(err)
            except OSError as err:
                problem = err.strerror or str(err)
                break
        for probe in created:  # a probe only: Hydra (or a resumed sweep) makes the real one
            with contextlib.suppress(OSError):
                probe.rmdir()
        if problem:
            print(
                f"error: cannot create the run directory {folder} ({problem}). Set "
                f"paths.log_dir (or hydra.run.dir / hydra.sweep.dir) to a writable folder.",
                file=sys.stderr,
            )
            sys.exit(2)

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        self._check(str(config.hydra.run.dir))
        refuse_an_occupied_run_dir(config)
        keep_the_runs_config_if_nothing_changes(config)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self._check(str(config.hydra.sweep.dir))


def refuse_an_occupied_run_dir(config: Any) -> None:
    """A fresh training run into a fixed ``hydra.run.dir`` that holds an earlier run would
    mix the two (checkpoints beside the old ones, both runs' TensorBoard events, the next
    ``resume=auto`` continuing the old weights under the new record): refused, before
    Hydra writes its own files there."""
    if "resume" not in config or config.get("resume") not in (None, False):
        return  # not a training entry point, or a run that continues the folder on purpose
    folder = Path(str(config.hydra.run.dir))
    held = [p for p in (folder / "metrics.json", *folder.glob("checkpoints/*.ckpt")) if p.is_file()]
    if held == [folder / "metrics.json"] and _refused_before_training(held[0]):
        return  # a launch refused before training left only its record: nothing to mix
    if not held:
        return
    print(
        f"error: {folder} already holds a run ({held[0].name}): resume=auto "
        f"continues it; to start afresh, set another hydra.run.dir or move the old run "
        f"aside first (mv {folder} {folder}.old)",
        file=sys.stderr,
    )
    sys.exit(2)


def _refused_before_training(record: Path) -> bool:
    """Whether ``record`` is that of a launch that failed with no step trained."""
    try:
        saved = json.loads(record.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(saved, dict):
        return False
    trained = saved.get("global_steps") or saved.get("epoch_times_s")
    return saved.get("status") == "failed" and not trained


def _run_files(folder: Path) -> set[tuple[str, int, int]]:
    """What a launch that trained would have touched: the record, history, checkpoints."""
    paths = [folder / "metrics.json", folder / "history.jsonl", *folder.glob("checkpoints/*")]
    return {(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.is_file()}


def keep_the_runs_config_if_nothing_changes(config: Any) -> None:
    """Hydra rewrites a fixed run folder's ``.hydra/`` files with each launch's config
    before dlzoo checks it; a continuing launch that is then refused (another model, fewer
    epochs) would leave the run described by the refused command, and ``resume=<run>``
    alone would rebuild the wrong model. If the launch changed none of the run's files,
    its first config files are put back as the process exits."""
    if "resume" not in config or config.get("resume") in (None, False):
        return
    folder = Path(str(config.hydra.run.dir))
    subdir = config.hydra.get("output_subdir")
    saved = folder / str(subdir) if subdir else None
    if saved is None or not saved.is_dir():
        return
    files = {p: p.read_bytes() for p in saved.glob("*.yaml") if p.is_file()}
    before = _run_files(folder)

    def put_back() -> None:
        if _run_files(folder) == before:
            for path, content in files.items():
                with contextlib.suppress(OSError):
                    path.write_bytes(content)

    atexit.register(put_back)
