"""The typed schema of ``conf/train.yaml``, registered in Hydra's ConfigStore.

``conf/train.yaml`` lists ``train_schema`` first in its defaults, so Hydra merges every YAML
file and command-line override onto these dataclasses while it composes the config: a value
of the wrong type (``seed=abc``, ``test=maybe``, ``speed.steps_per_call=two``) stops the
launch there, naming the key, the value and the type, before anything is imported or loaded.
Hydra opens the config for keys added with ``+`` and does not look inside the groups, so
:mod:`dlzoo.config.validation` still checks those keys against this schema and each
``_target_``'s signature, and the ranges and combinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

SCHEMA_NAME = "train_schema"

#: config groups and other nested nodes whose keys their own ``_target_`` defines
GROUP_KEYS = (
    "data",
    "model",
    "optimizer",
    "scheduler",
    "trainer",
    "callbacks",
    "logger",
    "paths",
    "hydra",
    "experiment",
    "debug",
)


@dataclass
class MonitorSchema:
    metric: str = "auto"
    mode: str = "auto"


@dataclass
class SpeedSchema:
    steps_per_call: int = 1
    train_metrics: bool = True
    reuse_host_memory: bool = True
    loss_check_every_n_steps: int | None = None
    data_on_device: Any = "auto"  # auto, true or false
    cpu_threads: int | None = None


@dataclass
class TrainSchema:
    """The fixed top-level keys of ``conf/train.yaml`` and their types."""

    task_name: str = MISSING
    seed: int | None = None
    monitor: MonitorSchema = field(default_factory=MonitorSchema)
    optimized_metric: Any = None  # a metrics.json key, or a list of them (multi-objective search)
    test: bool = True
    ckpt_path: str | None = None
    resume: str | None = None
    trust_checkpoint: bool = False
    print_config: Any = True  # true (compact), full (the whole tree) or false
    compile: bool = False
    channels_last: bool = False
    speed: SpeedSchema = field(default_factory=SpeedSchema)
    #: modules outside dlzoo to import first (task types, datamodules, networks of your own)
    extensions: list[str] = field(default_factory=list)


@dataclass
class TrainConfig(TrainSchema):
    """:class:`TrainSchema` plus the groups, so Hydra accepts them at the top level."""

    data: Any = None
    model: Any = None
    optimizer: Any = None
    scheduler: Any = None
    trainer: Any = None
    callbacks: Any = None
    logger: Any = None
    paths: Any = None
    experiment: Any = None
    debug: Any = None


def register_config_schema() -> None:
    """Store :class:`TrainConfig` as ``train_schema`` (idempotent). Hydra's plugin scan
    calls it (``src/hydra_plugins/dlzoo_config``) before any composition."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=TrainConfig)
