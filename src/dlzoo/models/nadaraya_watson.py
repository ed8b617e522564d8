"""Nadaraya-Watson attention pooling (the book's 11.2): a prediction is the training
targets averaged with Gaussian-kernel attention weights over the training inputs.

Non-parametric (``learnable=false``: the kernel width is fixed) or parametric
(``learnable=true``: the width ``w`` in ``exp(-((x - x_i) w)^2 / 2)`` is learned).
The training pairs are the keys and values: the task hands them over before fitting
(``remember_training_data``); they are buffers, so a checkpoint holds them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class NadarayaWatson(nn.Module):
    """``f(x) = sum_i softmax_i(-((x - x_i) w)^2 / 2) y_i`` over ``num_keys`` training pairs.

    While training, a point does not attend to itself (leave-one-out, as the book does by
    dropping it from the keys): otherwise a narrow kernel would just copy each target.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        num_keys: int = 50,
        width: float = 1.0,
        learnable: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("keys", torch.zeros(num_keys))
        self.register_buffer("values", torch.zeros(num_keys))
        if learnable:
            self.w = nn.Parameter(torch.tensor(float(width)))
        else:
            self.register_buffer("w", torch.tensor(float(width)))
            # the trainer needs something to step; it never changes the output
            self.unused = nn.Parameter(torch.zeros(()))
        self.attention_weights: Tensor | None = None

    def remember_training_data(self, x: Tensor, y: Tensor) -> None:
        self.keys = x.reshape(-1).float().to(self.keys.device).clone()
        self.values = y.reshape(-1).float().to(self.values.device).clone()

    def forward(self, x: Tensor) -> Tensor:
        q = x.reshape(-1, 1)
        scores = -(((q - self.keys.unsqueeze(0)) * self.w) ** 2) / 2
        if self.training:
            scores = scores.masked_fill(q == self.keys.unsqueeze(0), float("-inf"))
        self.attention_weights = scores.softmax(dim=-1)
        out = self.attention_weights @ self.values
        if hasattr(self, "unused"):
            out = out + 0 * self.unused
        return out.unsqueeze(1)
