"""The one way back from a checkpoint to a working model.

Evaluation, prediction, text generation and export all call :func:`restore`: it rebuilds
the task, its network and the datamodule from what the checkpoint holds (the training
config, the weights, and the datamodule's fitted transforms: scalers, columns,
vocabularies), so new inputs are prepared exactly as the training data was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from dlzoo.config.builders import build_datamodule, build_task
from dlzoo.config.checkpoints import checkpoint_of, config_from_checkpoint, load_checkpoint
from dlzoo.config.extensions import load_extensions
from dlzoo.errors import ConfigError
from dlzoo.inference.restored import Restored
from dlzoo.records.data_fingerprint import FINGERPRINT_KEY

#: where checkpoints written before the datamodule kept its vocabulary stored it
LEGACY_VOCAB_KEY = "dlzoo_vocab"


def restore(
    ckpt_path: str | Path,
    data_dir: str | None = None,
    data_overrides: Mapping[str, Any] | None = None,
    trust: bool = False,
    check: Callable[[DictConfig], None] | None = None,
) -> Restored:
    """Rebuild what ``ckpt_path`` holds.

    ``check`` sees the training config as soon as it is read, before anything is built,
    so a command's option that cannot apply fails at once. Only ``data_dir`` (this machine's dataset folder) and ``data_overrides`` (e.g. an
    evaluation batch size) replace the training run's data settings. Pretrained starting
    points (``model.net.weights``) are not fetched: the checkpoint's weights replace them.
    """
    if not isinstance(trust, bool):  # "maybe" must not unlock unpickling arbitrary code
        raise ConfigError(f"trust_checkpoint={trust!r}: must be true or false")
    ckpt_path = checkpoint_of(ckpt_path)  # a run folder: its best checkpoint
    checkpoint = load_checkpoint(ckpt_path, trust=trust)
    cfg = config_from_checkpoint(checkpoint, ckpt_path)
    load_extensions(cfg.get("extensions"))  # the task types it was trained with
    if check is not None:
        check(cfg)
    with open_dict(cfg):
        if data_dir is not None and "data_dir" in cfg.data:
            cfg.data.data_dir = data_dir
        for key, value in (data_overrides or {}).items():
            cfg.data[key] = value
        for key in ("weights", "weights_file"):
            if cfg.model.net.get(key) is not None:
                cfg.model.net[key] = None
    datamodule = build_datamodule(cfg.data)
    state = checkpoint.get(type(datamodule).__qualname__)
    if state is None and LEGACY_VOCAB_KEY in checkpoint:
        state = checkpoint[LEGACY_VOCAB_KEY]
    if state:
        datamodule.load_state_dict(state)
    module = build_task(cfg, datamodule.spec)
    weights = checkpoint.get("state_dict")
    if not isinstance(weights, Mapping):
        raise ConfigError(f"{ckpt_path} holds no weights ('state_dict'): it is not a checkpoint")
    try:
        module.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = next(
            (line.strip() for line in first[1:] if line.strip()), first[0] if first else ""
        )
        raise ConfigError(
            f"the weights in {ckpt_path} do not fit the model its own config builds "
            f"(model={cfg.model.get('name')}, data={cfg.data.get('name')}): {detail}"
        ) from None
    module.eval()
    stored_files = checkpoint.get(FINGERPRINT_KEY) or {}
    return Restored(module, datamodule, cfg, Path(ckpt_path), dict(stored_files))
