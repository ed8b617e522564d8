"""Weight initialisation schemes selectable from the model config."""

from __future__ import annotations

from torch import nn

from dlzoo.errors import ConfigError

SCHEMES = ("default", "normal", "xavier", "kaiming", "zeros")


def initialize(
    net: nn.Module, scheme: str = "default", std: float = 0.01, bias: float = 0.0
) -> None:
    """Re-initialise every ``Linear`` and ``Conv`` layer of ``net`` in place.

    ``default`` keeps PyTorch's initialisation; ``normal`` draws weights from N(0, std²)
    (the curriculum's N(0, 0.01) recipe); ``xavier`` and ``kaiming`` are Glorot/He uniform;
    ``zeros`` zeroes the weights. Biases are set to ``bias`` except under ``default``.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"model.init.scheme={scheme!r} is unknown; choose one of {list(SCHEMES)}")
    if scheme == "default":
        return
    for module in net.modules():
        if not isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d):
            continue
        if scheme == "normal":
            nn.init.normal_(module.weight, 0.0, std)
        elif scheme == "xavier":
            nn.init.xavier_uniform_(module.weight)
        elif scheme == "kaiming":
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
        else:
            nn.init.zeros_(module.weight)
        if module.bias is not None:
            nn.init.constant_(module.bias, bias)
