"""DenseNet (d2l's version): a ResNet-like stem, dense blocks joined by transitions."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.blocks import DenseBlock, Transition
from dlzoo.models.resnet import make_stem
from dlzoo.models.shapes import image_shape, output_shape


class DenseNet(nn.Module):
    """DenseNet: stem (7x7/2 conv, 3x3/2 max pool), dense blocks of ``convs_per_block``
    units adding ``growth_rate`` channels each, a transition halving channels and image size
    between blocks, then BN-ReLU, global average pooling and a dense output layer.

    Defaults are the book's: 64 stem channels, growth 32, four blocks of four units.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        growth_rate: int = 32,
        convs_per_block: Sequence[int] = (4, 4, 4, 4),
        stem_channels: int = 64,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "densenet")
        if not convs_per_block or growth_rate < 1:
            raise ConfigError(
                f"model.net.convs_per_block={list(convs_per_block)}, growth_rate={growth_rate}: "
                f"need at least one block and a positive growth rate"
            )
        layers: list[nn.Module] = [make_stem(channels, stem_channels, stem)]
        width = stem_channels
        for i, num_convs in enumerate(convs_per_block):
            block = DenseBlock(int(num_convs), width, growth_rate)
            layers.append(block)
            width = block.out_channels
            if i != len(convs_per_block) - 1:
                layers.append(Transition(width, width // 2))
                width //= 2
        layers += [nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        output_shape(self.features, input_shape, "densenet")
        self.fc = nn.Linear(width, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))
