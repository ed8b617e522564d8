"""Turn a composed config into a datamodule, a network and the LightningModule around it."""

from __future__ import annotations

import inspect
from typing import Any

import hydra
import lightning as L
import torch
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from torch import nn

from dlzoo.data.spec import DataSpec, TaskData
from dlzoo.errors import ConfigError, DlzooError, IncompatibleError
from dlzoo.models.init import initialize
from dlzoo.tasks import Task, choose_task
from dlzoo.tasks.steps_per_call import StepsPerCall

#: keys of a data config that describe the dataset to other groups rather than being
#: constructor arguments: its name, and the defaults of ``trainer.max_epochs``,
#: ``trainer.gradient_clip_val`` (read by ``conf/trainer/default.yaml``) and the default
#: optimizer's learning rate (``conf/optimizer/adamw.yaml``)
DATA_META_KEYS = (
    "name",
    "default_epochs",
    "default_lr",
    "default_weight_decay",
    "gradient_clip_val",
)


def _without(cfg: DictConfig, keys: tuple[str, ...], group: str = "data") -> DictConfig:
    missing = [str(k) for k in cfg if k not in keys and OmegaConf.is_missing(cfg, k)]
    if missing:
        keys_text = " and ".join(f"{group}.{k}" for k in missing)
        example = " ".join(f"{group}.{k}=<value>" for k in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(f"{keys_text} {verb} required: pass {example} on the command line")
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


def build_datamodule(data_cfg: DictConfig) -> TaskData:
    """Instantiate the datamodule named by ``data._target_``: any ``LightningDataModule``
    with a ``spec`` (the :class:`~dlzoo.data.spec.TaskData` protocol)."""
    dm = instantiate(_without(data_cfg, DATA_META_KEYS), _convert_="all")
    # the members are looked up on the class: isinstance(dm, TaskData) would evaluate the
    # `spec` property, which reads the training data before a checkpoint's state is loaded
    # (predict would then need the training CSV)
    members = ("spec", "state_dict", "load_state_dict")
    if not isinstance(dm, L.LightningDataModule) or not all(hasattr(type(dm), m) for m in members):
        raise ConfigError(
            f"data._target_={data_cfg._target_} is not a dlzoo datamodule (a "
            f"LightningDataModule with a `spec` property)"
        )
    return dm


def check_input(
    model_cfg: DictConfig, spec: DataSpec, data_name: str, size_key: str = "resize"
) -> None:
    """Image networks need image data; everything else flattens whatever it gets.

    ``size_key`` is the data option that sets the image size, named in the hint.
    """
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
            f"set data.{size_key}={min_size} "
            f"or larger"
        )


def build_network(model_cfg: DictConfig, spec: DataSpec, task: type[Task]) -> nn.Module:
    """Instantiate ``model.net`` with sizes derived from the data, then initialise it."""
    net = instantiate(
        model_cfg.net,
        input_shape=list(spec.input_shape),
        num_outputs=task.num_outputs(spec),
        **task.network_kwargs(spec),
        _convert_="all",
    )
    init = model_cfg.get("init")
    settings = OmegaConf.to_container(init, resolve=True) if init else {}  # none: defaults
    initialize(net, **settings)  # type: ignore[arg-type]
    return net


def build_scheduler(cfg: DictConfig) -> dict[str, Any] | None:
    sched = cfg.get("scheduler")
    if not sched or sched.get("scheduler") is None:
        return None
    out = {k: v for k, v in OmegaConf.to_container(sched, resolve=True).items() if k != "scheduler"}
    out["scheduler"] = hydra.utils.instantiate(sched.scheduler)
    return out


def task_options(model_cfg: DictConfig, task: type[Task]) -> dict[str, Any]:
    """``model.task_options``: keyword options of the task type (decoding settings, label
    smoothing...), checked against its constructor."""
    options = model_cfg.get("task_options") or {}
    options = OmegaConf.to_container(options, resolve=True) if options else {}
    assert isinstance(options, dict)
    allowed = {
        name
        for name, p in inspect.signature(task.__init__).parameters.items()
        if p.kind == p.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"model.task_options.{unknown[0]}: unknown option of the {task.task} task; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )
    return options


def build_task(cfg: DictConfig, spec: DataSpec) -> Task:
    """Check the model/data pair and build the LightningModule with its network inside."""
    data_name = cfg.data.get("name", "?")
    task = choose_task(cfg.model, spec, data_name)
    size_key = "image_size" if "image_size" in cfg.data and "resize" not in cfg.data else "resize"
    check_input(cfg.model, spec, data_name, size_key)
    net = build_network(cfg.model, spec, task)
    channels_last = bool(cfg.get("channels_last", False)) and spec.is_image
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    if cfg.get("compile", False):
        net.compile()  # in place: the state_dict keys stay those of the plain network
    module = task(
        net=net,
        # plain lists (betas), not ListConfig: optimizer states in checkpoints load weights_only
        optimizer=hydra.utils.instantiate(cfg.optimizer, _convert_="all"),
        scheduler=build_scheduler(cfg),
        spec=spec,
        **task_options(cfg.model, task),
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


def configure_speed(cfg: DictConfig, datamodule: TaskData, module: Task) -> None:
    """Apply the ``speed`` block (its values are checked by ``utils.validation``): training
    metrics on/off, data on the device, optimizer steps per call."""
    speed = cfg.get("speed") or {}
    if speed.get("cpu_threads"):
        torch.set_num_threads(int(speed.cpu_threads))
    module.train_metrics_enabled = bool(speed.get("train_metrics", True))
    if hasattr(datamodule, "on_device"):
        datamodule.on_device = speed.get("data_on_device", "auto")
    steps = int(speed.get("steps_per_call", 1))
    if steps == 1:
        return
    if not module.supports_steps_per_call or not hasattr(datamodule, "steps_per_call"):
        raise ConfigError(
            f"speed.steps_per_call={steps} does not support model={cfg.model.get('name')} "
            f"on data={cfg.data.get('name')}: set speed.steps_per_call=1"
        )
    StepsPerCall(steps).attach(module)
    datamodule.steps_per_call = steps
