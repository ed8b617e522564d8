"""Multilayer perceptron with configurable depth, activation, dropout and batch norm."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from torch import Tensor, nn

from dlzoo.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "gelu": nn.GELU,
}


def make_activation(name: str) -> nn.Module:
    """An activation module by name, with a clear error for unknown names."""
    try:
        return ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ConfigError(
            f"model.net.activation={name!r} is unknown; choose one of {sorted(ACTIVATIONS)}"
        ) from None


class MLP(nn.Module):
    """Flatten, then ``[Linear -> (BatchNorm) -> activation -> (Dropout)]`` per hidden layer,
    then a linear output layer.

    Args:
        input_shape: shape of one example; it is flattened.
        num_outputs: size of the output layer.
        hidden_sizes: width of each hidden layer (``[]`` gives a linear model).
        activation: ``relu``, ``sigmoid``, ``tanh``, ``softplus`` or ``gelu``.
        dropout: dropout probability after each hidden activation.
        batch_norm: add ``BatchNorm1d`` after each hidden linear layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        hidden_sizes: Sequence[int] = (256,),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.net.dropout={dropout}: must be in [0, 1)")
        if not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden_sizes):
            raise ConfigError(
                f"model.net.hidden_sizes={list(hidden_sizes)!r}: must be a list of positive "
                f"integers, e.g. [256, 128]"
            )
        layers: list[nn.Module] = [nn.Flatten()]
        width = prod(input_shape)
        for hidden in hidden_sizes:
            layers.append(nn.Linear(width, int(hidden)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(hidden)))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(hidden)
        layers.append(nn.Linear(width, num_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
