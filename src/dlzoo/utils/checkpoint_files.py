"""Finding and loading checkpoint files safely: the lowest layer, so that a task or a
datamodule can read a pretrained checkpoint (BERT's encoder, its vocabulary) too."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from dlzoo.errors import ConfigError

#: where a checkpoint holds the composed config that trained it
CONFIG_KEY = "dlzoo_config"


def checkpoint_of(path: str | Path) -> Path:
    """``path`` itself, or for a run folder the checkpoint its test figures came from
    (``metrics.json``'s ``tested_checkpoint``), else its best checkpoint, else its
    ``checkpoints/last.ckpt``."""
    path = Path(path)
    if not path.is_dir():
        return path
    try:
        record = json.loads((path / "metrics.json").read_text())
        named = [record.get("tested_checkpoint"), record.get("best_checkpoint")]
    except (OSError, ValueError, AttributeError):
        named = []
    for candidate in (*named, path / "checkpoints" / "last.ckpt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError(
        f"ckpt_path={str(path)!r} is a folder without a checkpoint: give a .ckpt file, or a run "
        f"folder holding checkpoints/last.ckpt"
    )


def load_checkpoint(path: str | Path, trust: bool = False, mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True`` (tensors and plain Python
    containers only). A file that needs arbitrary unpickling, which can run code, is refused
    unless ``trust`` is set; a file that is no checkpoint at all is called corrupt (and no
    unsafe loading is suggested for it)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={str(path)!r}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise ConfigError(
            f"{path} is not a PyTorch checkpoint (not the zip archive torch.save writes): the "
            f"file is corrupt, truncated or of another kind"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=not trust, mmap=mmap)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):
            raise ConfigError(f"{path} is corrupt: it cannot be read as a checkpoint") from None
        found = next(
            (line.strip() for line in str(err).splitlines() if "Unsupported global" in line), ""
        )
        raise ConfigError(
            f"refusing to load {path}: it holds Python objects that only full unpickling can "
            f"restore, and unpickling an untrusted file can run arbitrary code. If you trust "
            f"this file, pass trust_checkpoint=true. (torch said: {found[:200]})"
        ) from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError) as err:
        raise ConfigError(f"{path} is corrupt: it cannot be read as a checkpoint ({err})") from err
    if not isinstance(checkpoint, dict):
        raise ConfigError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint
