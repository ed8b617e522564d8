"""Checks of the composed config that run before anything heavy starts."""

from __future__ import annotations

from omegaconf import DictConfig

from dlzoo.errors import ConfigError


def _positive_number(value: object, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{key}={value!r}: must be a number > 0")


def validate_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming the first bad value and what is allowed."""
    lr = cfg.optimizer.get("lr")
    if lr is not None:
        _positive_number(lr, "optimizer.lr")
    for key in ("batch_size", "eval_batch_size"):
        value = cfg.data.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip().lower() != "full":
                raise ConfigError(f"data.{key}={value!r}: must be a positive integer or 'full'")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}={value!r}: must be a positive integer or 'full'")
    max_epochs = cfg.trainer.get("max_epochs")
    if (
        max_epochs is not None
        and max_epochs != -1
        and (not isinstance(max_epochs, int) or max_epochs < 1)
    ):
        raise ConfigError(f"trainer.max_epochs={max_epochs!r}: must be an integer >= 1 (or -1)")
    seed = cfg.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"seed={seed!r}: must be a non-negative integer or null")
