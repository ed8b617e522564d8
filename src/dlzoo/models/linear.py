"""Linear models: one affine layer on the flattened input."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from torch import Tensor, nn


class Linear(nn.Module):
    """``Flatten`` + ``Linear(in, out)``.

    The same network is linear regression (identity + MSE), softmax regression (softmax +
    cross-entropy) and logistic regression (sigmoid + binary cross-entropy): the task, not
    the network, supplies the output function and loss.
    """

    def __init__(self, input_shape: Sequence[int], num_outputs: int) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(prod(input_shape), num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(x))
