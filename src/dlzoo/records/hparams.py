"""The hyperparameters people compare, for TensorBoard's HPARAMS tab.

The whole config flattened is 70+ columns, alphabetical, the interesting ones off-screen:
HPARAMS gets the few settings runs are compared by (model, data, optimizer, learning rate,
batch size, epochs, weight decay, scheduler, seed) plus every key the command line set (in a
sweep, the keys it varies), at most :data:`MAX_HPARAMS`. The full config stays in
``config.yaml``. Each run is named by its run folder's short name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

MAX_HPARAMS = 20

#: column -> config key, in the order HPARAMS shows them
BASE_COLUMNS = {
    "model": "model.name",
    "data": "data.name",
    "optimizer": "optimizer",
    "lr": "optimizer.lr",
    "weight_decay": "optimizer.weight_decay",
    "scheduler": "scheduler",
    "batch_size": "data.batch_size",
    "epochs": "trainer.max_epochs",
    "seed": "seed",
}

#: command-line keys that are not hyperparameters (where things go, what is printed)
NOT_HPARAMS = (
    "hydra",
    "paths",
    "logger",
    "print_config",
    "resume",
    "trust_checkpoint",
    "ckpt_path",
    "task_name",
    "test",
    "callbacks.progress_bar",
    "callbacks.model_summary",
    "callbacks.image_predictions",
    "callbacks.epoch_history",
    "callbacks.lr_monitor",
    "callbacks.tensorboard_layout",
    "callbacks.model_checkpoint",
)


def _hydra() -> Any:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _choice(cfg: DictConfig, group: str) -> str | None:
    """A config group's chosen option (``adamw``, ``comparison/sgd``), else the class name."""
    hydra = _hydra()
    choices = OmegaConf.select(hydra, "runtime.choices", default=None) if hydra else None
    if choices is not None and choices.get(group):
        return str(choices.get(group))
    node = OmegaConf.select(cfg, group)
    if isinstance(node, DictConfig):
        target = node.get("_target_") or OmegaConf.select(node, f"{group}._target_")
        if target:
            return str(target).rsplit(".", 1)[-1]
        return "none" if group in node and node[group] is None else None
    return None


def display_value(value: Any) -> bool | int | float | str:
    """Numbers stay numbers (HPARAMS sorts and plots them); booleans, ``None`` and lists become
    text (TensorBoard shows a boolean as ``0.0000``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return value
    if value is None:
        return "null"
    if isinstance(value, DictConfig) or OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    return json.dumps(value, separators=(", ", ": "))


def override_keys() -> list[str]:
    """The keys this job's command line (or its sweep) set, e.g. ``optimizer.lr``, ``model``."""
    hydra = _hydra()
    if hydra is None:
        return []
    keys = []
    for override in OmegaConf.select(hydra, "overrides.task", default=None) or []:
        key = str(override).split("=", 1)[0].lstrip("+~")
        if key and not any(key == p or key.startswith(p + ".") for p in NOT_HPARAMS):
            keys.append(key)
    return keys


def compared_hparams(cfg: DictConfig, limit: int = MAX_HPARAMS) -> dict[str, Any]:
    """``{"model": "mlp", "optimizer": "adamw", "lr": 0.003, ...}``: the base columns, then
    each command-line key not already among them, at most ``limit``."""
    out: dict[str, Any] = {}
    for column, key in BASE_COLUMNS.items():
        value = _choice(cfg, key) if key in ("optimizer", "scheduler") else None
        if value is None and key not in ("optimizer", "scheduler"):
            value = OmegaConf.select(cfg, key, default=None)
        if key == "trainer.max_epochs" and value is None:
            value = OmegaConf.select(cfg, "data.default_epochs", default=None)
        if value is not None:
            out[column] = display_value(value)
    taken = set(BASE_COLUMNS.values())
    for key in override_keys():
        if len(out) >= limit:
            break
        if key in taken or key in out:
            continue
        hydra = _hydra()
        choices = OmegaConf.select(hydra, "runtime.choices", default={}) if hydra else {}
        if key in (choices or {}):  # a config group (experiment=..., model=...)
            value = choices.get(key)
        else:
            value = OmegaConf.select(cfg, key, default=None)
        out[key] = display_value(value)
        taken.add(key)
    return dict(list(out.items())[:limit])


def run_name(cfg: DictConfig) -> str:
    """The run folder's short name: ``2026-11-23_06-39-22`` for a run; in a multirun the job
    folder first, then its sweep, ``0_model=mlp (2026-11-23_06-39-22)``, since HPARAMS shows
    only the first ~17 characters of a trial name until its column is widened."""
    run_dir = Path(str(OmegaConf.select(cfg, "paths.output_dir", default=".")))
    log_dir = OmegaConf.select(cfg, "paths.log_dir", default=None)
    try:
        parts = list(run_dir.resolve().relative_to(Path(str(log_dir)).resolve()).parts)
    except (TypeError, ValueError):
        return run_dir.name
    if parts and parts[0] == str(cfg.get("task_name", "")):
        parts = parts[1:]
    if parts and parts[0] in ("runs", "multiruns"):
        parts = parts[1:]
    if len(parts) >= 2:
        return f"{'/'.join(parts[1:])} ({parts[0]})"
    return "/".join(parts) or run_dir.name


def hparams_summaries(hparams: Mapping[str, Any], trial: str, status: str = "success") -> list:
    """Session start and end summaries for HPARAMS; the metric columns TensorBoard reads from
    the run's own scalars (no experiment summary: TensorBoard then takes the union of the
    columns of every run it shows, instead of one arbitrary run's)."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata
    from tensorboard.plugins.hparams import plugin_data_pb2 as pb
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb

    statuses = {"success": api_pb2.STATUS_SUCCESS, "failure": api_pb2.STATUS_FAILURE}
    end_info = pb.SessionEndInfo(
        status=statuses.get(status, api_pb2.STATUS_UNKNOWN), end_time_secs=time.time()
    )
    end = Summary()
    end.value.add(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(pb.HParamsPluginData(session_end_info=end_info)),
        tensor=metadata.NULL_TENSOR,
    )
    return [hparams_pb(dict(hparams), trial_id=trial), end]
