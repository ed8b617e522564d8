"""A plain network: bits in, the log of the expected count out."""

from __future__ import annotations

from torch import Tensor, nn


class CountNet(nn.Module):
    def __init__(self, input_shape: list[int], num_outputs: int, hidden: int = 16) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_shape[0], hidden), nn.ReLU(), nn.Linear(hidden, num_outputs)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
