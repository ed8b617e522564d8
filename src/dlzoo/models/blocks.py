"""Reusable convolutional building blocks: VGG, NiN, Inception, residual and dense blocks.

Each block is a small ``nn.Module`` with explicit channel counts, so the architectures in
:mod:`dlzoo.models.cnn` read like the book's tables and the blocks can be tested alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError


def _positive(value: int, what: str) -> int:
    if int(value) < 1:
        raise ConfigError(f"{what}={value}: must be a positive integer")
    return int(value)


class VGGBlock(nn.Sequential):
    """``num_convs`` times (3x3 conv, padding 1, ReLU), then 2x2 max pooling (halves H, W)."""

    def __init__(self, num_convs: int, in_channels: int, out_channels: int) -> None:
        layers: list[nn.Module] = []
        for i in range(_positive(num_convs, "VGG block num_convs")):
            layers += [
                nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
                nn.ReLU(),
            ]
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        super().__init__(*layers)


class NiNBlock(nn.Sequential):
    """Network-in-Network block: one spatial conv, then two 1x1 convs (a per-pixel MLP),
    each followed by ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1),
            nn.ReLU(),
        )


class Inception(nn.Module):
    """GoogLeNet's Inception block: four parallel paths concatenated along channels.

    Paths: 1x1 conv (``c1``); 1x1 then 3x3 conv (``c2 = (reduce, out)``); 1x1 then 5x5 conv
    (``c3 = (reduce, out)``); 3x3 max pooling then 1x1 conv (``c4``). Every conv is followed by
    ReLU and keeps H and W, so the output has ``c1 + c2[1] + c3[1] + c4`` channels.
    """

    def __init__(
        self, in_channels: int, c1: int, c2: Sequence[int], c3: Sequence[int], c4: int
    ) -> None:
        super().__init__()
        self.path1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU())
        self.path2 = nn.Sequential(
            nn.Conv2d(in_channels, c2[0], 1),
            nn.ReLU(),
            nn.Conv2d(c2[0], c2[1], 3, padding=1),
            nn.ReLU(),
        )
        self.path3 = nn.Sequential(
            nn.Conv2d(in_channels, c3[0], 1),
            nn.ReLU(),
            nn.Conv2d(c3[0], c3[1], 5, padding=2),
            nn.ReLU(),
        )
        self.path4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(in_channels, c4, 1), nn.ReLU()
        )
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.path1(x), self.path2(x), self.path3(x), self.path4(x)], dim=1)


class Residual(nn.Module):
    """ResNet's basic block: ``conv3x3-BN-ReLU-conv3x3-BN``, plus the input, then ReLU.

    When the block changes the channel count or the stride, the skip path is a 1x1 conv
    (with the same stride) so the two can be added; ``use_1x1conv`` forces it.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, use_1x1conv: bool | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if use_1x1conv is None:
            use_1x1conv = stride != 1 or in_channels != out_channels
        self.shortcut: nn.Module = (
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
            if use_1x1conv
            else nn.Identity()
        )
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


def bn_relu_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """DenseNet's pre-activation unit: ``BN-ReLU-conv`` (H and W kept for odd kernels)."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
    )


class DenseBlock(nn.Module):
    """DenseNet's dense block: each of ``num_convs`` units sees the concatenation of the
    block input and all earlier units' outputs and adds ``growth_rate`` channels."""

    def __init__(self, num_convs: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.units = nn.ModuleList(
            bn_relu_conv(in_channels + i * growth_rate, growth_rate)
            for i in range(_positive(num_convs, "dense block num_convs"))
        )
        self.out_channels = in_channels + len(self.units) * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        for unit in self.units:
            x = torch.cat([x, unit(x)], dim=1)
        return x


class Transition(nn.Sequential):
    """DenseNet's transition: ``BN-ReLU-1x1 conv`` to ``out_channels``, then 2x2 average
    pooling (halves H and W)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(bn_relu_conv(in_channels, out_channels, 1), nn.AvgPool2d(2, stride=2))
