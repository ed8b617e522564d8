"""GoogLeNet (d2l's version): a stem, then stages of Inception blocks, global pooling."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.models.blocks import Inception
from dlzoo.models.shapes import image_shape, output_shape

# (c1, (c2 reduce, c2), (c3 reduce, c3), c4) of each Inception block, stage by stage
_STAGE3 = ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64))
_STAGE4 = (
    (192, (96, 208), (16, 48), 64),
    (160, (112, 224), (24, 64), 64),
    (128, (128, 256), (24, 64), 64),
    (112, (144, 288), (32, 64), 64),
    (256, (160, 320), (32, 128), 128),
)
_STAGE5 = ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128))


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


class GoogLeNet(nn.Module):
    """GoogLeNet as trained in the book on 96x96 Fashion-MNIST: a 7x7/2 conv and 1x1 + 3x3
    convs with max pools, 2 + 5 + 2 Inception blocks (9 in all), global average pooling and
    one dense output layer. Every pool pads, so small images (28 px) work too."""

    def __init__(self, input_shape: Sequence[int], num_outputs: int) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "googlenet")
        layers: list[nn.Module] = [
            nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            _pool(),
            nn.Conv2d(64, 64, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(64, 192, kernel_size=3, padding=1),
            nn.ReLU(),
            _pool(),
        ]
        width = 192
        for stage, pool_after in ((_STAGE3, True), (_STAGE4, True), (_STAGE5, False)):
            for c1, c2, c3, c4 in stage:
                block = Inception(width, c1, c2, c3, c4)
                layers.append(block)
                width = block.out_channels
            if pool_after:
                layers.append(_pool())
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        output_shape(self.features, input_shape, "googlenet")
        self.fc = nn.Linear(width, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))
