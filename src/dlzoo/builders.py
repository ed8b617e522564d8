"""Turn a composed config into a datamodule, a network and the LightningModule around it."""

from __future__ import annotations

from typing import Any

import hydra
import torch
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from torch import nn

from dlzoo.data.base import InMemoryDataModule
from dlzoo.data.spec import DataSpec
from dlzoo.errors import ConfigError, DlzooError, IncompatibleError
from dlzoo.models.init import initialize
from dlzoo.tasks import TASK_CLASSES, SupervisedTask

#: keys of a data/model config that describe it rather than being constructor arguments
DATA_META_KEYS = ("name",)


def _without(cfg: DictConfig, keys: tuple[str, ...]) -> DictConfig:
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(plain, dict)
    return OmegaConf.create({k: v for k, v in plain.items() if k not in keys})


def instantiate(cfg: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate``, but a :class:`DlzooError` raised by the constructor comes
    out as itself (one readable message), not wrapped in Hydra's InstantiationException."""
    try:
        return hydra.utils.instantiate(cfg, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, DlzooError):
            raise err.__cause__ from None
        raise


def build_datamodule(data_cfg: DictConfig) -> InMemoryDataModule:
    """Instantiate the datamodule named by ``data._target_``."""
    dm = instantiate(_without(data_cfg, DATA_META_KEYS), _convert_="all")
    if not isinstance(dm, InMemoryDataModule):
        raise ConfigError(f"data._target_={data_cfg._target_} is not a dlzoo datamodule")
    return dm


def choose_task(model_cfg: DictConfig, spec: DataSpec, data_name: str) -> str:
    """The task a model trains on this data, or a clear error if it cannot."""
    model_name = model_cfg.get("name", "?")
    allowed = list(model_cfg.get("tasks", ["regression", "multiclass", "binary"]))
    wanted = model_cfg.get("task")
    if wanted is not None and wanted not in allowed:
        raise ConfigError(f"model.task={wanted!r}: model={model_name} supports {allowed}")
    candidates = [wanted] if wanted else allowed
    if spec.task in candidates:
        return spec.task
    if "binary" in candidates and spec.task == "multiclass" and spec.num_classes == 2:
        return "binary"
    kind = f"a {spec.task} dataset"
    if spec.task == "multiclass":
        kind += f" with {spec.num_classes} classes"
    fits = {
        "regression": "linear_regression or mlp",
        "multiclass": "softmax_regression or mlp",
        "binary": "logistic_regression or mlp",
        "language_model": "rnn, gru, lstm, rnn_scratch or transformer_lm",
    }[spec.task]
    raise IncompatibleError(
        f"model={model_name} cannot train on data={data_name}: the model is for "
        f"{' / '.join(candidates)} tasks but {data_name} is {kind}. Models that fit it: {fits}."
    )


def check_input(model_cfg: DictConfig, spec: DataSpec, data_name: str) -> None:
    """Image networks need image data; everything else flattens whatever it gets."""
    wants = model_cfg.get("input", "any")
    if wants == "image" and not spec.is_image:
        raise IncompatibleError(
            f"model={model_cfg.get('name', '?')} needs image input (C, H, W) but data={data_name} "
            f"gives examples of shape {spec.input_shape}"
        )
    min_size = model_cfg.get("min_input_size")
    if min_size and spec.is_image and min(spec.input_shape[1:]) < min_size:
        raise IncompatibleError(
            f"model={model_cfg.get('name', '?')} needs images of at least {min_size}x{min_size} "
            f"but data={data_name} gives {spec.input_shape[1]}x{spec.input_shape[2]}: "
            f"set data.resize={min_size} or larger"
        )


def num_outputs(task: str, spec: DataSpec) -> int:
    return {
        "regression": spec.num_targets,
        "multiclass": spec.num_classes,
        "binary": 1,
        "language_model": spec.num_classes,  # one logit per vocabulary token
    }[task]


def build_network(model_cfg: DictConfig, spec: DataSpec, task: str) -> nn.Module:
    """Instantiate ``model.net`` with sizes derived from the data, then initialise it."""
    net = instantiate(
        model_cfg.net,
        input_shape=list(spec.input_shape),
        num_outputs=num_outputs(task, spec),
        _convert_="all",
    )
    init = model_cfg.get("init") or {}
    initialize(net, **OmegaConf.to_container(init, resolve=True))  # type: ignore[arg-type]
    return net


def build_scheduler(cfg: DictConfig) -> dict[str, Any] | None:
    sched = cfg.get("scheduler")
    if not sched or sched.get("scheduler") is None:
        return None
    out = {k: v for k, v in OmegaConf.to_container(sched, resolve=True).items() if k != "scheduler"}
    out["scheduler"] = hydra.utils.instantiate(sched.scheduler)
    return out


def build_task(cfg: DictConfig, spec: DataSpec) -> SupervisedTask:
    """Check the model/data pair and build the LightningModule with its network inside."""
    data_name = cfg.data.get("name", "?")
    task = choose_task(cfg.model, spec, data_name)
    check_input(cfg.model, spec, data_name)
    net = build_network(cfg.model, spec, task)
    channels_last = bool(cfg.get("channels_last", False)) and spec.is_image
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    if cfg.get("compile", False):
        net.compile()  # in place: the state_dict keys stay those of the plain network
    module = TASK_CLASSES[task](
        net=net,
        optimizer=hydra.utils.instantiate(cfg.optimizer),
        scheduler=build_scheduler(cfg),
        class_names=spec.class_names if task != "regression" else (),
    )
    module.channels_last = channels_last
    return module


def resolve_precision(trainer_cfg: DictConfig) -> str:
    """``trainer.precision=auto``: ``bf16-mixed`` when training on a CUDA GPU that supports
    bfloat16 (Ampere or newer: faster matrix units, half the activation memory, no loss
    scaling), else ``32-true``. Any other value is returned as it is."""
    precision = str(trainer_cfg.get("precision", "32-true"))
    if precision != "auto":
        return precision
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    on_cuda = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return "bf16-mixed" if on_cuda and torch.cuda.is_bf16_supported() else "32-true"


def configure_speed(
    cfg: DictConfig, datamodule: InMemoryDataModule, module: SupervisedTask
) -> None:
    """Apply the ``speed`` block: training metrics on/off, data on the device, optimizer
    steps per call."""
    speed = cfg.get("speed") or {}
    module.train_metrics_enabled = bool(speed.get("train_metrics", True))
    on_device = speed.get("data_on_device", "auto")
    if on_device not in (True, False, "auto"):
        raise ConfigError(f"speed.data_on_device={on_device!r}: use auto, true or false")
    datamodule.on_device = on_device
    steps = speed.get("steps_per_call", 1)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConfigError(f"speed.steps_per_call={steps!r}: must be a positive integer")
    if steps == 1:
        return
    trainer = cfg.get("trainer") or {}
    unsupported = {
        "model": module.task == "language_model",
        "trainer.gradient_clip_val": bool(trainer.get("gradient_clip_val")),
        "trainer.accumulate_grad_batches": int(trainer.get("accumulate_grad_batches") or 1) > 1,
    }
    for key, bad in unsupported.items():
        if bad:
            value = cfg.model.get("name") if key == "model" else trainer.get(key.split(".")[1])
            raise ConfigError(
                f"speed.steps_per_call={steps} does not support {key}={value}: "
                "set speed.steps_per_call=1"
            )
    module.set_steps_per_call(steps)
    datamodule.steps_per_call = steps
