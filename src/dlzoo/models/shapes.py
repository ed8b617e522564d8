"""Shape helpers for image networks: channels of the input, size after a feature stack."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError


def image_shape(input_shape: Sequence[int], model: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of one image, or a clear error for non-image data."""
    if len(input_shape) != 3:
        raise ConfigError(
            f"model={model} needs image input (C, H, W) but the data gives examples of shape "
            f"{tuple(input_shape)}"
        )
    c, h, w = (int(d) for d in input_shape)
    return c, h, w


def output_shape(features: nn.Module, input_shape: Sequence[int], model: str) -> tuple[int, ...]:
    """Shape of ``features`` applied to one example (computed by a dry run on zeros).

    An input that shrinks to nothing inside the stack becomes a :class:`ConfigError` that
    says to resize the images.
    """
    was_training = features.training
    features.eval()  # batch norm cannot run in training mode on one example
    try:
        with torch.no_grad():
            out = features(torch.zeros(1, *input_shape))
    except (RuntimeError, AssertionError, ValueError) as err:  # torchvision asserts sizes
        raise ConfigError(
            f"model={model} cannot process images of shape {tuple(input_shape)}: they are too "
            f"small (or the wrong size) for its layers. Set data.resize to a size it takes "
            f"(the model's config names the smallest, min_input_size). "
            f"(torch said: {(str(err).splitlines() or [type(err).__name__])[0]})"
        ) from None
    finally:
        features.train(was_training)
    if out.numel() == 0:
        raise ConfigError(
            f"model={model}: images of shape {tuple(input_shape)} shrink to nothing; set "
            f"data.resize larger"
        )
    return tuple(out.shape[1:])


def flat_size(features: nn.Module, input_shape: Sequence[int], model: str) -> int:
    """Number of features ``features`` produces per example (for the first Linear layer)."""
    n = 1
    for d in output_shape(features, input_shape, model):
        n *= d
    return n
