"""A small conv-BN-ReLU network: the fast, accurate preset for CPU training."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.errors import ConfigError


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (no bias: batch norm supplies it), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class CNNSmall(nn.Module):
    """Stages of ``convs_per_stage`` conv-BN-ReLU layers, each stage but the last followed
    by 2x2 max pooling; global average pooling, dropout and a linear classifier.

    Args:
        input_shape: ``(channels, height, width)``.
        num_outputs: number of classes.
        channels: width of each stage.
        convs_per_stage: conv-BN-ReLU layers per stage, or one count per stage (``[1, 2, 2]``:
            one convolution at full resolution, where a layer costs the most).
        dropout: dropout before the classifier.
        pooling: how the last stage's maps reach the classifier: ``"avg"`` averages each
            channel over the image (global average pooling), ``"flatten"`` keeps every
            position (a linear layer over all of them: where on a centred 28 px image a
            feature sits tells garments apart, at little cost).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        channels: Sequence[int] = (32, 64, 128),
        convs_per_stage: int | Sequence[int] = 1,
        dropout: float = 0.1,
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ConfigError(
                f"cnn_small needs (C, H, W) images, got input shape {tuple(input_shape)}"
            )
        if not channels:
            raise ConfigError("model.net.channels=[]: give at least one stage's width")
        poolings = len(channels) - 1  # 2x2 max pooling after each stage but the last
        height, breadth = (int(n) >> poolings for n in input_shape[1:])  # the last maps' size
        if min(height, breadth) < 1:
            raise ConfigError(
                f"model.net.channels={list(channels)}: its {poolings} poolings leave nothing "
                f"of a {input_shape[1]}x{input_shape[2]} image; use at most "
                f"{min(int(n) for n in input_shape[1:]).bit_length()} stages at this size "
                "(or a larger data.resize)"
            )
        given = convs_per_stage
        counts = [given] * len(channels) if isinstance(given, int) else list(given)
        whole = all(isinstance(n, int) and not isinstance(n, bool) for n in counts)
        if not channels or len(counts) != len(channels) or not whole or min(counts) < 1:
            shown = list(given) if not isinstance(given, int | str) else given
            raise ConfigError(
                f"model.net.convs_per_stage={shown!r}: a whole number >= 1, or one per stage "
                f"({len(channels)} for model.net.channels={list(channels)})"
            )
        layers: list[nn.Module] = []
        width = input_shape[0]
        for i, (out, count) in enumerate(zip(channels, counts, strict=True)):
            for _ in range(count):
                layers.append(conv_bn_relu(width, int(out)))
                width = int(out)
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        if pooling == "avg":
            pool: nn.Module = nn.AdaptiveAvgPool2d(1)
            features = width
        elif pooling == "flatten":
            pool = nn.Identity()
            features = width * height * breadth
        else:
            raise ConfigError(f"model.net.pooling={pooling!r}: one of 'avg', 'flatten'")
        self.head = nn.Sequential(
            pool,
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(features, num_outputs),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
