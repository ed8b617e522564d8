"""ResNet-18/34 (the d2l and torchvision layout), built from :class:`Residual` blocks."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.blocks import Residual
from dlzoo.models.shapes import image_shape, output_shape

#: residual blocks per stage for each depth (each block holds two 3x3 convs)
DEPTHS: dict[int, tuple[int, ...]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
STEMS = ("imagenet", "cifar")


def make_stem(in_channels: int, out_channels: int, stem: str) -> nn.Sequential:
    """The first layers: ``imagenet`` = 7x7/2 conv-BN-ReLU + 3x3/2 max pool (the book's,
    shrinking the image 4x); ``cifar`` = 3x3 conv-BN-ReLU, keeping small images' size."""
    if stem == "imagenet":
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
    if stem == "cifar":
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )
    raise ConfigError(f"model.net.stem={stem!r} is unknown; choose one of {list(STEMS)}")


class ResNet(nn.Module):
    """ResNet with basic residual blocks: stem, four stages of 64/128/256/512 channels
    (stages 2-4 halve the image in their first block), global average pooling, dense output.

    Args:
        depth: 18 or 34.
        width: channels of the first stage (64 in the paper; doubled at each later stage).
        stem: ``imagenet`` (the book's, for 96-224 px) or ``cifar`` (for 28-32 px).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        depth: int = 18,
        width: int = 64,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "resnet")
        if depth not in DEPTHS:
            raise ConfigError(f"model.net.depth={depth}: choose one of {sorted(DEPTHS)}")
        layers: list[nn.Module] = [make_stem(channels, width, stem)]
        in_ch = width
        for stage, num_blocks in enumerate(DEPTHS[depth]):
            out_ch = width * 2**stage
            for i in range(num_blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(Residual(in_ch, out_ch, stride=stride))
                in_ch = out_ch
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        output_shape(self.features, input_shape, "resnet")
        self.fc = nn.Linear(in_ch, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))
