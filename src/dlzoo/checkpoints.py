"""Loading checkpoints safely and rebuilding the config that trained them."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from dlzoo.errors import ConfigError

CONFIG_KEY = "dlzoo_config"


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True`` (tensors and plain Python
    containers only). A file that needs arbitrary unpickling, which can run code, is refused
    unless ``trust`` is set."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={str(path)!r}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as err:
        raise ConfigError(
            f"refusing to load {path}: it holds Python objects that only full unpickling can "
            f"restore, and unpickling an untrusted file can run arbitrary code. If you trust "
            f"this file, pass trust_checkpoint=true. (torch said: {str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ConfigError(f"cannot read checkpoint {path}: {err}") from err


def config_from_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> DictConfig:
    """The resolved training config stored in a dlzoo checkpoint."""
    if CONFIG_KEY not in checkpoint:
        raise ConfigError(f"{path} is not a dlzoo checkpoint: it holds no '{CONFIG_KEY}'")
    return OmegaConf.create(checkpoint[CONFIG_KEY])
