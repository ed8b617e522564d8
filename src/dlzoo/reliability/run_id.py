"""A short id per launch for run folder names: two runs started in the same second (the
folder name's resolution) still get folders of their own."""

from __future__ import annotations

import os
import secrets

from omegaconf import OmegaConf

#: inherited by processes a launch starts (DDP workers), so they name the same folder
ENV_KEY = "DLZOO_RUN_ID"


def run_id() -> str:
    """Four hex digits, drawn once per launch."""
    return os.environ.setdefault(ENV_KEY, secrets.token_hex(2))


def register_run_id_resolver() -> None:
    if not OmegaConf.has_resolver("dlzoo_run_id"):
        OmegaConf.register_new_resolver("dlzoo_run_id", run_id, use_cache=True)
