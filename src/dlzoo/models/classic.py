"""The deep CNNs of the 2010s as in the d2l book: AlexNet, VGG and Network in Network."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.blocks import NiNBlock, VGGBlock
from dlzoo.models.shapes import flat_size, image_shape

#: VGG-11's blocks as (number of 3x3 convs, output channels)
VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def _mlp_head(in_features: int, hidden: int, num_outputs: int, dropout: float) -> nn.Sequential:
    """AlexNet/VGG's classifier: two wide ReLU layers with dropout, then the output layer."""
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_outputs),
    )


class AlexNet(nn.Module):
    """d2l's AlexNet for 224x224 input: five convs (96, 256, 384, 384, 256 channels; 11x11
    stride 4, 5x5, three 3x3) with three 3x3/2 max pools, then 4096-4096 dense layers with
    dropout.

    Args:
        hidden: width of the two dense layers (4096 in the book).
        dropout: dropout probability in the classifier.
        adaptive_pool: pool the last feature map to 5x5 (what 224 px gives), so input sizes
            other than 224 keep the book's classifier shape; ``false`` sizes the first dense
            layer from the input instead.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        hidden: int = 4096,
        dropout: float = 0.5,
        adaptive_pool: bool = True,
    ) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "alexnet")
        self.features = nn.Sequential(
            nn.Conv2d(channels, 96, kernel_size=11, stride=4, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        if adaptive_pool:
            self.features.append(nn.AdaptiveAvgPool2d(5))
        self.features.append(nn.Flatten())
        self.classifier = _mlp_head(
            flat_size(self.features, input_shape, "alexnet"), hidden, num_outputs, dropout
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class VGG(nn.Module):
    """VGG: a stack of VGG blocks given as ``arch`` = [[num_convs, channels], ...], then the
    4096-4096 classifier.

    ``arch`` defaults to VGG-11; ``width_divisor: 4`` divides every block's channels by 4
    (the variant the book trains on Fashion-MNIST). Each block halves the image, so
    ``len(arch)`` blocks need images of at least ``2**len(arch)`` pixels.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        arch: Sequence[Sequence[int]] = VGG11,
        width_divisor: int = 1,
        hidden: int = 4096,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "vgg")
        if not arch or any(len(block) != 2 for block in arch):
            raise ConfigError(
                f"model.net.arch={[list(b) for b in arch]}: give a list of [num_convs, channels] pairs"
            )
        if int(width_divisor) < 1:
            raise ConfigError(f"model.net.width_divisor={width_divisor}: must be >= 1")
        blocks: list[nn.Module] = []
        for num_convs, width in arch:
            out = max(int(width) // int(width_divisor), 1)
            blocks.append(VGGBlock(int(num_convs), channels, out))
            channels = out
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.classifier = _mlp_head(
            flat_size(self.features, input_shape, "vgg"), hidden, num_outputs, dropout
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class NiN(nn.Module):
    """Network in Network (d2l): NiN blocks of 96, 256 and 384 channels with 3x3/2 max
    pools, dropout, a last NiN block with one channel per class, and global average pooling
    instead of dense layers."""

    def __init__(self, input_shape: Sequence[int], num_outputs: int, dropout: float = 0.5) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "nin")
        self.net = nn.Sequential(
            NiNBlock(channels, 96, kernel_size=11, stride=4, padding=0),
            nn.MaxPool2d(3, stride=2),
            NiNBlock(96, 256, kernel_size=5, stride=1, padding=2),
            nn.MaxPool2d(3, stride=2),
            NiNBlock(256, 384, kernel_size=3, stride=1, padding=1),
            nn.MaxPool2d(3, stride=2),
            nn.Dropout(dropout),
            NiNBlock(384, num_outputs, kernel_size=3, stride=1, padding=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        flat_size(self.net, input_shape, "nin")  # fail now, with a clear message, if too small

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
