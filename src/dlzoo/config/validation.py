"""Checks of the composed config that run before anything heavy starts.

Three layers, all reported together as one :class:`ConfigError` (key, bad value, what is
allowed):

1. **Types of the fixed top-level keys** are Hydra's: :mod:`dlzoo.config.schema` is in
   ``conf/train.yaml``'s defaults, so a wrong type stops the composition itself. Here:
   keys added to its typed nodes with ``+`` (``+monitor.metrc=...``), which Hydra lets in.
2. **Unknown keys** of every node with a ``_target_`` (data, model.net, optimizer, scheduler,
   trainer, callbacks, loggers) against the target's constructor signature, so a typo such as
   ``+optimizer.lrr=0.1`` or ``patience`` misspelt in a YAML file is caught with the allowed
   names, and every new model or optimizer is covered without editing a schema. Top-level and
   ``model`` keys that look like a typo of a known key are errors; other unknown keys there
   only warn (other features may add their own keys).
3. **Ranges and combinations** (:data:`RULES`, :func:`combination_errors`): lr > 0, dropout
   in [0, 1), batch size >= 1, resize >= the model's minimum input size, a global batch size
   divisible by the number of DDP processes, ...

(Hydra itself already rejects ``optimzer.lr=0.1`` on the command line, a key that is not in
the config, unless it is added with ``+``.)
"""

from __future__ import annotations

import difflib
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlzoo.config.builders import DATA_META_KEYS
from dlzoo.config.schema import GROUP_KEYS, TrainSchema
from dlzoo.data.base import check_global_batch_size
from dlzoo.errors import ConfigError
from dlzoo.lightning_internals import ACCELERATORS, PRECISIONS

log = logging.getLogger(__name__)


# -- 1. keys added with + to the typed nodes ------------------------------------------------
#: keys Hydra's instantiate reads itself
HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
#: keys of a group node that describe it rather than being constructor arguments
META_KEYS = {"data": set(DATA_META_KEYS), "callbacks": {"enabled"}, "logger": {"enabled"}}
#: keys ``conf/model/*.yaml`` may hold besides ``net``/``init``
MODEL_KEYS = {
    "name",
    "tasks",
    "task",
    "input",
    "min_input_size",
    "channels_last",
    "net",
    "init",
    "task_options",
}


def _unknown_schema_keys(cfg: DictConfig) -> list[str]:
    """Keys added with ``+`` to ``monitor`` or ``speed`` (Hydra opens the config for them)."""
    errors = []
    for name in ("monitor", "speed"):
        value = cfg.get(name)
        if not isinstance(value, DictConfig):
            continue
        allowed = {f.name for f in fields(TrainSchema.__dataclass_fields__[name].default_factory())}
        errors += [
            f"{name}.{k}: unknown key{_suggest(str(k), allowed)}; allowed keys: "
            f"{', '.join(sorted(allowed))}"
            for k in value
            if k not in allowed
        ]
    return errors


# -- 2. unknown keys ----------------------------------------------------------------------
def _parameters(target: Callable) -> set[str] | None:
    """Keyword names ``target`` accepts (following ``**kwargs`` up the class hierarchy);
    ``None`` when it accepts anything."""
    if inspect.isclass(target):
        names: set[str] = set()
        for klass in target.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            try:
                params = inspect.signature(init).parameters.values()
            except (TypeError, ValueError):
                return None
            names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            if not any(p.kind is p.VAR_KEYWORD for p in params):
                return names - {"self"}
        return None
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind is not p.VAR_POSITIONAL}


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_target_keys(node: DictConfig, path: str, meta: set[str]) -> list[str]:
    from hydra.utils import get_object

    target = node.get("_target_")
    try:
        obj = get_object(str(target))
    except Exception:
        return [f"{path}._target_={target!r}: cannot be imported (check the spelling)"]
    allowed = _parameters(obj)
    if allowed is None:
        return []
    # arguments dlzoo passes itself (sizes from the data, the parameters to optimise)
    injected = {
        "model.net": {"input_shape", "num_outputs", "src_vocab_size"},
        "optimizer": {"params"},
    }.get(path, set())
    errors = []
    for key in node:
        if key in HYDRA_KEYS or key in meta or key in allowed:
            continue
        shown = sorted(allowed - injected - {"self"})
        errors.append(
            f"{path}.{key}: unknown key for {target}{_suggest(str(key), shown)}; "
            f"allowed keys: {', '.join(shown)}"
        )
    return errors


def _target_nodes(cfg: DictConfig) -> Iterable[tuple[DictConfig, str, set[str]]]:
    def one(path: str, meta: set[str] = frozenset()) -> Iterable[tuple[DictConfig, str, set[str]]]:
        node = OmegaConf.select(cfg, path, default=None)
        if isinstance(node, DictConfig) and "_target_" in node:
            yield node, path, set(meta)

    yield from one("data", META_KEYS["data"])
    yield from one("model.net")
    yield from one("optimizer")
    yield from one("scheduler.scheduler")
    yield from one("trainer")
    for group in ("callbacks", "logger"):
        for name, node in (cfg.get(group) or {}).items():
            if isinstance(node, DictConfig) and "_target_" in node:
                yield node, f"{group}.{name}", META_KEYS[group]


def _unknown_keys(cfg: DictConfig) -> list[str]:
    errors = []
    for node, path, meta in _target_nodes(cfg):
        errors += _unknown_target_keys(node, path, meta)
    known_top = set(TrainSchema.__dataclass_fields__) | set(GROUP_KEYS)
    for key in cfg:
        if key not in known_top:
            hint = _suggest(str(key), known_top)
            if hint:
                errors.append(f"{key}: unknown top-level key{hint}")
            else:
                log.warning("config key %r is not used by dlzoo's training", key)
    model = cfg.get("model")
    if isinstance(model, DictConfig):
        for key in model:
            if key not in MODEL_KEYS:
                hint = _suggest(str(key), MODEL_KEYS)
                if hint:
                    errors.append(f"model.{key}: unknown key{hint}; allowed: {sorted(MODEL_KEYS)}")
        init = model.get("init")
        if isinstance(init, DictConfig):
            from dlzoo.models.init import initialize

            allowed = (_parameters(initialize) or set()) - {"net"}
            errors += [
                f"model.init.{k}: unknown key{_suggest(str(k), allowed)}; allowed keys: "
                f"{', '.join(sorted(allowed))}"
                for k in init
                if k not in allowed
            ]
    return errors


# -- 3. ranges and combinations -------------------------------------------------------------
def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _max_time(v: Any) -> bool:
    """Lightning's forms of a time cap: days:hours:minutes:seconds, or a timedelta's parts."""
    if isinstance(v, str):
        return re.fullmatch(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}", v) is not None
    if isinstance(v, DictConfig):
        parts = {"days", "hours", "minutes", "seconds"}
        return bool(v) and set(v.keys()) <= parts and all(_number(x) for x in v.values())
    return False


@dataclass(frozen=True)
class Rule:
    """``key`` (a dotted path; skipped when absent or null) must satisfy ``ok``;
    ``allowed`` says in words what is allowed."""

    key: str
    ok: Callable[[Any], bool]
    allowed: str


RULES: tuple[Rule, ...] = (
    Rule("optimizer.lr", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule("optimizer.weight_decay", lambda v: _number(v) and v >= 0, "a number >= 0"),
    Rule("optimizer.momentum", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule("optimizer.eps", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule(
        "optimizer.betas",
        lambda v: (
            isinstance(v, ListConfig | list)
            and len(v) == 2
            and all(_number(b) and 0 <= b < 1 for b in v)
        ),
        "two numbers in [0, 1), e.g. [0.9, 0.999]",
    ),
    Rule("model.net.dropout", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule("model.input", lambda v: v in ("any", "image"), "'any' or 'image'"),
    Rule("model.init.std", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule("model.min_input_size", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule("model.channels_last", lambda v: isinstance(v, bool), "true or false"),
    Rule(
        "data.batch_size",
        lambda v: (_int(v) and v >= 1) or (isinstance(v, str) and v.strip().lower() == "full"),
        "a positive integer or 'full'",
    ),
    Rule(
        "data.eval_batch_size",
        lambda v: (_int(v) and v >= 1) or (isinstance(v, str) and v.strip().lower() == "full"),
        "a positive integer or 'full'",
    ),
    Rule("data.val_size", lambda v: _int(v) and v >= 0, "an integer >= 0"),
    Rule("data.test_size", lambda v: _number(v) and 0 < v < 1, "a fraction between 0 and 1"),
    Rule("data.val_fraction", lambda v: _number(v) and 0 <= v < 1, "a fraction in [0, 1)"),
    Rule("data.test_fraction", lambda v: _number(v) and 0 <= v < 1, "a fraction in [0, 1)"),
    Rule("scheduler.scheduler.step_size", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule("scheduler.scheduler.gamma", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule("scheduler.scheduler.T_max", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule("speed.steps_per_call", lambda v: _int(v) and v >= 1, "a positive integer"),
    Rule("speed.cpu_threads", lambda v: _int(v) and v >= 1, "a positive integer or null"),
    Rule(
        "speed.data_on_device",
        lambda v: v is True or v is False or v == "auto",
        "auto, true or false",
    ),
    Rule(
        "speed.loss_check_every_n_steps",
        lambda v: _int(v) and v >= 1,
        "a positive integer, or null (every step on a CPU, trainer.log_every_n_steps on a GPU)",
    ),
    Rule(
        "data.std",
        lambda v: (
            _number(v)
            and v > 0
            or (isinstance(v, ListConfig | list) and all(_number(s) and s > 0 for s in v))
        ),
        "a number > 0 (or one per channel)",
    ),
    Rule(
        "trainer.max_epochs",
        lambda v: _int(v) and (v >= 1 or v == -1),
        "an integer >= 1, or -1 (no limit)",
    ),
    Rule("trainer.min_epochs", lambda v: _int(v) and v >= 0, "an integer >= 0"),
    Rule("trainer.accelerator", lambda v: v in ACCELERATORS, f"one of {list(ACCELERATORS)}"),
    Rule(
        "trainer.devices",
        lambda v: (
            (_int(v) and (v >= 1 or v == -1))
            or v == "auto"
            or (isinstance(v, str) and v.strip("-").isdigit())
            or isinstance(v, ListConfig | list)
        ),
        "a positive integer, -1 (all), 'auto' or a list of device indices",
    ),
    Rule("trainer.num_nodes", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule(
        "trainer.max_time",
        lambda v: _max_time(v),
        "null, 'DD:HH:MM:SS' (e.g. 00:00:30:00 for 30 minutes) or {hours: 1, minutes: 30}",
    ),
    Rule("trainer.precision", lambda v: str(v) in PRECISIONS, f"one of {list(PRECISIONS)}"),
    Rule("trainer.gradient_clip_val", lambda v: _number(v) and v >= 0, "a number >= 0 or null"),
    Rule("trainer.log_every_n_steps", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule("trainer.check_val_every_n_epoch", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule("trainer.accumulate_grad_batches", lambda v: _int(v) and v >= 1, "an integer >= 1"),
    Rule(
        "trainer.deterministic",
        lambda v: isinstance(v, bool) or v == "warn",
        "true, false or 'warn'",
    ),
    Rule("monitor.mode", lambda v: v in ("auto", "min", "max"), "'auto', 'min' or 'max'"),
    Rule("scheduler.interval", lambda v: v in ("step", "epoch"), "'step' or 'epoch'"),
    Rule("callbacks.early_stopping.patience", lambda v: _int(v) and v >= 0, "an integer >= 0"),
    Rule(
        "callbacks.model_checkpoint.save_top_k",
        lambda v: _int(v) and v >= -1,
        "an integer >= -1 (-1 keeps all)",
    ),
    Rule(
        "callbacks.model_checkpoint.every_n_train_steps",
        lambda v: _int(v) and v >= 0,
        "an integer >= 0",
    ),
    Rule("seed", lambda v: _int(v) and v >= 0, "a non-negative integer or null"),
    Rule(
        "resume",
        lambda v: isinstance(v, str) and v.strip() != "",
        "null, 'auto', a run folder or a checkpoint file",
    ),
)


def _select(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=None, throw_on_missing=False)


def range_errors(cfg: DictConfig) -> list[str]:
    errors = []
    for rule in RULES:
        value = _select(cfg, rule.key)
        if value is None:
            continue
        try:
            ok = bool(rule.ok(value))
        except TypeError:
            ok = False
        if not ok:
            shown = OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
            errors.append(f"{rule.key}={shown!r}: must be {rule.allowed}")
    return errors


def _world_size(trainer: DictConfig) -> int | None:
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1) or 1
    if isinstance(devices, ListConfig | list):
        devices = len(devices)
    elif isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    if not _int(devices) or devices < 1 or not _int(nodes):
        return None
    return devices * nodes


def _device_errors(cfg: DictConfig, trainer: Any) -> list[str]:
    """Batch sizes that DDP cannot split, GPUs that are not there, precisions a CPU lacks."""
    errors = []
    strategy = str(trainer.get("strategy", "") or "")
    batch = _select(cfg, "data.batch_size")
    world = _world_size(trainer) if isinstance(trainer, DictConfig) else None
    if "ddp" in strategy and world and _int(batch) and batch >= 1:
        try:
            check_global_batch_size(batch, world)
        except ConfigError as err:
            errors.append(f"{err} (trainer.devices x trainer.num_nodes = {world})")
    accelerator = trainer.get("accelerator")
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            errors.append(
                f"trainer.accelerator={accelerator!r}: no CUDA GPU is available on this "
                f"machine; use trainer=cpu (or trainer.accelerator=auto)"
            )
    precision = str(trainer.get("precision", ""))
    if precision in ("16-mixed", "16", "16-true") and accelerator in ("cpu", "auto", None):
        import torch

        # accelerator=auto on a machine without a GPU trains on the CPU, where Lightning
        # would quietly run 16-mixed as bf16
        if accelerator == "cpu" or not torch.cuda.is_available():
            where = "trainer.accelerator='cpu'" if accelerator == "cpu" else "no GPU here"
            errors.append(
                f"trainer.precision={precision!r} with {where}: CPUs support "
                f"'32-true', '64-true', 'bf16-mixed' and 'bf16-true'"
            )
    return errors


def combination_errors(cfg: DictConfig) -> list[str]:
    """Settings that are fine one by one but cannot work together."""
    trainer = cfg.get("trainer") or {}
    errors = _device_errors(cfg, trainer)
    max_e, min_e = trainer.get("max_epochs"), trainer.get("min_epochs")
    strategy = str(trainer.get("strategy", "") or "")
    if _int(max_e) and _int(min_e) and max_e >= 1 and min_e > max_e:
        errors.append(
            f"trainer.min_epochs={min_e} > trainer.max_epochs={max_e}: min_epochs must be "
            f"<= max_epochs"
        )
    total = _select(cfg, "scheduler.scheduler.total_steps")
    sched_target = str(_select(cfg, "scheduler.scheduler._target_") or "")
    if (
        sched_target.endswith("OneCycleLR")
        and max_e == -1
        and not total
        and not trainer.get("max_steps")
    ):
        errors.append(
            "scheduler=onecycle with trainer.max_epochs=-1: one-cycle needs a known number of "
            "steps; set trainer.max_epochs, trainer.max_steps or scheduler.scheduler.total_steps"
        )
    steps = _select(cfg, "speed.steps_per_call")
    if _int(steps) and steps > 1:
        clip, accumulate = trainer.get("gradient_clip_val"), trainer.get("accumulate_grad_batches")
        for key, value, bad in (
            ("trainer.gradient_clip_val", clip, bool(clip)),
            ("trainer.accumulate_grad_batches", accumulate, _int(accumulate) and accumulate > 1),
            ("trainer.strategy", strategy, "ddp" in strategy),
        ):
            if bad:
                errors.append(
                    f"speed.steps_per_call={steps} does not support {key}={value}: set "
                    f"speed.steps_per_call=1"
                )
    resume, ckpt = cfg.get("resume"), cfg.get("ckpt_path")
    if resume not in (None, False) and ckpt:
        errors.append(
            f"resume={resume!r} and ckpt_path={ckpt!r} are both set: use resume to continue a "
            f"run in its own folder, or ckpt_path to start a new run folder from a checkpoint"
        )
    return errors


def validate_config(cfg: DictConfig) -> None:
    """Raise one :class:`ConfigError` listing every bad key, its value and what is allowed."""
    errors = _unknown_schema_keys(cfg) + _unknown_keys(cfg)
    errors += [
        e for e in range_errors(cfg) if e.split("=")[0] not in {x.split("=")[0] for x in errors}
    ]
    errors += combination_errors(cfg)
    if cfg.get("print_config", True) not in (True, False, "full"):
        errors.append(f"print_config={cfg.print_config!r}: use true (compact), full or false")
    if len(errors) == 1:
        raise ConfigError(errors[0])
    if errors:
        raise ConfigError(f"{len(errors)} problems in the config:\n  - " + "\n  - ".join(errors))
