"""Which checkpoint a run continues from: ``ckpt_path=<file>`` or ``resume=auto|<run dir>``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from dlzoo.config.checkpoints import load_checkpoint
from dlzoo.errors import ConfigError, RunDirError

log = logging.getLogger(__name__)

LAST = "last.ckpt"
#: overrides that may differ between an interrupted run and the launch that resumes it
IGNORED_OVERRIDE_PREFIXES = (
    "resume",
    "ckpt_path",
    "hydra.",
    "paths.",
    "print_config",
    "trainer.max_epochs",
    "callbacks.progress_bar",
    "callbacks.model_summary",
)
#: metrics.json statuses of runs that ``resume=auto`` may pick up
#: records of runs that stopped before finishing (a failed run with a checkpoint, e.g. after
#: a full disk, continues too)
RESUMABLE_STATUSES = ("running", "interrupted", "failed")


@dataclass
class ResumePlan:
    """Where training starts from, decided once before anything is built: ``checkpoint``
    (``None``: from scratch) and the step it saved, the run folder that gets the logs
    (switched when resuming another folder), where ``last.ckpt`` goes, and the command that
    continues the run."""

    checkpoint: str | None = None
    step: int = 0
    run_dir: str | None = None
    checkpoint_dir: Path | None = None
    resume_hint: str = ""


def checkpoint_dir(cfg: DictConfig) -> Path:
    """The folder of ``last.ckpt``: the model checkpoint callback's, else ``<run>/checkpoints``."""
    dirpath = OmegaConf.select(cfg, "callbacks.model_checkpoint.dirpath", default=None)
    return Path(dirpath) if dirpath else Path(cfg.paths.output_dir) / "checkpoints"


def logged_steps(path: str | Path, trust: bool = False) -> int:
    """How many optimizer steps the logger had recorded when the checkpoint was saved (the
    step from which TensorBoard events of the interrupted run are superseded). Like every
    load, refuses a checkpoint that needs full unpickling unless ``trust``."""
    ckpt = load_checkpoint(path, trust=trust, mmap=True)
    loop = ckpt.get("loops", {}).get("fit_loop", {}).get("epoch_loop.state_dict", {})
    return int(loop.get("_batches_that_stepped", ckpt.get("global_step", 0)))


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "metrics.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def _overrides(run_dir: Path) -> list[str] | None:
    try:
        loaded = OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")
    except OSError:
        return None
    return _relevant([str(o) for o in loaded])


def _relevant(overrides: list[str]) -> list[str]:
    return sorted(o for o in overrides if not o.lstrip("+~").startswith(IGNORED_OVERRIDE_PREFIXES))


def _current_overrides() -> list[str] | None:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return _relevant(list(HydraConfig.get().overrides.task))


def find_interrupted_run(run_dir: Path) -> Path | None:
    """The newest sibling run folder that stopped before finishing (``metrics.json`` missing,
    ``running`` or ``interrupted``), has ``checkpoints/last.ckpt`` and was launched with the
    same overrides as this one (ignoring paths, hydra and resume options)."""
    wanted = _current_overrides()
    if wanted is None or not run_dir.parent.is_dir():
        return None
    candidates = []
    for other in run_dir.parent.iterdir():
        last = other / "checkpoints" / LAST
        if other == run_dir or not last.is_file():
            continue
        if _status(other) not in (None, *RESUMABLE_STATUSES) or _overrides(other) != wanted:
            continue
        candidates.append((last.stat().st_mtime, other))
    return max(candidates)[1] if candidates else None


def _switch_run_dir(cfg: DictConfig, new_dir: Path) -> None:
    """Point every ``${paths.output_dir}`` of the config at ``new_dir`` and append this
    launch's log to that folder's log file too."""
    old_dir = Path(cfg.paths.output_dir)
    with open_dict(cfg):
        cfg.paths.output_dir = str(new_dir)
    root = logging.getLogger()
    handler = logging.FileHandler(new_dir / f"{cfg.get('task_name', 'train')}.log", mode="a")
    for existing in root.handlers:
        if isinstance(existing, logging.FileHandler) and existing.formatter:
            handler.setFormatter(existing.formatter)
    root.addHandler(handler)
    log.info("continuing the run in %s (%s keeps only this launch's log)", new_dir, old_dir)


def plan_resume(cfg: DictConfig) -> ResumePlan:
    """Decide where training starts (:func:`_starting_point`), check that a continued
    checkpoint holds this model and dataset, and name the folders and the resume command."""
    plan = _starting_point(cfg)
    if plan.checkpoint:
        check_resume_matches(cfg, plan.checkpoint)
    plan.checkpoint_dir = checkpoint_dir(cfg)
    plan.resume_hint = resume_command(cfg.paths.output_dir)
    return plan


def _starting_point(cfg: DictConfig) -> ResumePlan:
    """Decide where training starts; may switch ``cfg.paths.output_dir`` to the run resumed.

    * ``ckpt_path=<file>``: continue from that checkpoint, logging into this run's folder.
    * ``resume=auto``: continue ``<this run dir>/checkpoints/last.ckpt`` if it exists (a fixed
      ``hydra.run.dir``, a requeued cluster job); otherwise the newest interrupted run with the
      same overrides next to this one; otherwise start from scratch.
    * ``resume=<run dir or checkpoint file>``: continue that run in its own folder.
    """
    resume: Any = cfg.get("resume")
    explicit = cfg.get("ckpt_path")
    trust = bool(cfg.get("trust_checkpoint", False))
    run_dir = Path(cfg.paths.output_dir)
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"ckpt_path={explicit!r}: no such checkpoint file")
        return ResumePlan(str(explicit), logged_steps(explicit, trust), str(run_dir))
    if resume in (None, False):
        if (checkpoint_dir(cfg) / LAST).is_file():  # the command line refuses it earlier
            raise RunDirError(
                f"{run_dir} already holds a run (checkpoints/{LAST}): resume=auto continues "
                f"it; a fresh run needs a folder of its own"
            )
        return ResumePlan(None, 0, str(run_dir))
    if resume == "auto":
        last = checkpoint_dir(cfg) / LAST
        if last.is_file():
            return ResumePlan(str(last), logged_steps(last, trust), str(run_dir))
        other = find_interrupted_run(run_dir)
        if other is None:
            log.info(
                "resume=auto: no interrupted run with these overrides has a checkpoint to "
                "continue from (a run stopped before its first checkpoint has none); starting "
                "from scratch"
            )
            return ResumePlan(None, 0, str(run_dir))
        _switch_run_dir(cfg, other)
        last = checkpoint_dir(cfg) / LAST
        return ResumePlan(str(last), logged_steps(last, trust), str(other))
    target = Path(str(resume))
    if target.is_file():
        ckpt, folder = target, target.parent.parent
    elif (target / "checkpoints" / LAST).is_file():
        ckpt, folder = target / "checkpoints" / LAST, target
    else:
        raise ConfigError(
            f"resume={resume!r}: allowed are null (start fresh), 'auto', a run folder holding "
            f"checkpoints/{LAST}, or a checkpoint file"
        )
    if folder.resolve() != run_dir.resolve():
        _switch_run_dir(cfg, folder)
    return ResumePlan(str(ckpt), logged_steps(ckpt, trust), str(folder))


def with_purge_step(loggers: DictConfig | None, plan: ResumePlan) -> DictConfig | None:
    """On resume, give TensorBoard loggers ``purge_step`` so the events the interrupted run
    logged after its last checkpoint are hidden: the continued curves have no duplicate steps."""
    if loggers is None or plan.checkpoint is None:
        return loggers
    from hydra.utils import get_class
    from lightning.pytorch.loggers import TensorBoardLogger

    loggers = loggers.copy()
    for conf in loggers.values():
        target = conf.get("_target_") if isinstance(conf, DictConfig) else None
        try:
            is_tb = target is not None and issubclass(get_class(target), TensorBoardLogger)
        except Exception:  # an unknown target fails later, with Hydra's own message
            is_tb = False
        if is_tb:
            with open_dict(conf):
                conf.purge_step = plan.step + 1
    return loggers


def after_earlier_event_files(run_dir: str | Path, poll_s: float = 0.05) -> None:
    """Wait, if needed, until the clock is past the newest TensorBoard event file's second.

    Event files are named ``events.out.tfevents.<unix second>.<host>.<pid>.<n>`` and
    TensorBoard reads them in name order. A run resumed within the same second as the
    interrupted run's file could sort *before* it (a smaller pid), and TensorBoard would then
    read the old steps after the new ones and drop them as out of order.
    """
    import time

    seconds = [
        int(f.name.split(".")[3])
        for f in Path(run_dir).rglob("events.out.tfevents.*")
        if f.name.split(".")[3].isdigit()
    ]
    newest = max(seconds, default=None)
    while newest is not None and int(time.time()) <= newest:
        time.sleep(poll_s)


def resume_command(run_dir: str | Path) -> str:
    """The command line that continues this run in ``run_dir``."""
    import shlex
    import sys

    from hydra.core.hydra_config import HydraConfig

    args: list[str] = []
    if HydraConfig.initialized():
        args = [
            o
            for o in HydraConfig.get().overrides.task
            if not o.lstrip("+~").startswith(("resume", "ckpt_path"))
        ]
    # the command as the user started it: python scripts/train.py, or dlzoo-train
    started = sys.argv[0] if sys.argv and sys.argv[0] else "scripts/train.py"
    program = ["python", started] if started.endswith(".py") else [Path(started).name]
    return " ".join(shlex.quote(p) for p in [*program, *args, f"resume={run_dir}"])


def _flat(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}.{key}"))
        return out
    return {prefix: node}


def check_resume_matches(cfg: DictConfig, checkpoint: str, trust: bool = False) -> None:
    """A resumed run must build the network its checkpoint holds: the model settings and
    the dataset may not change (the training length, optimizer or logging may)."""
    from dlzoo.config.checkpoints import CONFIG_KEY
    from dlzoo.lightning_internals import completed_epochs

    saved = load_checkpoint(checkpoint, trust=bool(cfg.get("trust_checkpoint", trust)), mmap=True)
    done = completed_epochs(saved)
    wanted = cfg.get("trainer", {}).get("max_epochs")
    if done is not None and isinstance(wanted, int) and 0 <= wanted < done:
        raise ConfigError(
            f"trainer.max_epochs={wanted}: the run in {checkpoint} has finished {done} epochs "
            f"already; set trainer.max_epochs above {done} to train on, or evaluate it as it "
            f"is (scripts/eval.py ckpt_path=<run>)"
        )
    before = saved.get(CONFIG_KEY)
    if not isinstance(before, dict):
        return  # not written by dlzoo's training: Lightning checks the weights themselves
    now = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(now, dict)
    old = {
        **_flat(before.get("model", {}), "model"),
        "data.name": before.get("data", {}).get("name"),
    }
    new = {**_flat(now.get("model", {}), "model"), "data.name": now.get("data", {}).get("name")}
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        shown = ", ".join(f"{k}={new.get(k)!r} (checkpoint: {old.get(k)!r})" for k in changed[:6])
        raise ConfigError(
            f"cannot resume from {checkpoint} with a different model or dataset: {shown}. "
            f"Resume with the run's own settings, or start a new run"
        )
