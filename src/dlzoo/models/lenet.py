"""LeNet-5 as in the d2l book, and a modern variant (ReLU, max pooling, batch norm)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.models.shapes import flat_size, image_shape


class LeNet(nn.Module):
    """d2l's LeNet-5: ``conv5x5(6, pad 2)-sigmoid-avgpool2 -> conv5x5(16)-sigmoid-avgpool2 ->
    dense 120-sigmoid -> dense 84-sigmoid -> dense num_outputs``.

    On 1x28x28 input with 10 classes it has 61,706 parameters, like the book's. Other sizes
    work too: the first dense layer takes whatever the conv stack produces.
    """

    def __init__(self, input_shape: Sequence[int], num_outputs: int) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "lenet")
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5, padding=2),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(flat_size(self.features, input_shape, "lenet"), 120),
            nn.Sigmoid(),
            nn.Linear(120, 84),
            nn.Sigmoid(),
            nn.Linear(84, num_outputs),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class LeNetModern(nn.Module):
    """LeNet's layout with today's habits: ``conv-BN-ReLU-maxpool`` twice, then
    ``dense-BN-ReLU`` twice and the output layer (optional dropout before each dense layer)."""

    def __init__(self, input_shape: Sequence[int], num_outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        channels, _, _ = image_shape(input_shape, "lenet_modern")
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5, padding=2, bias=False),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(flat_size(self.features, input_shape, "lenet_modern"), 120, bias=False),
            nn.BatchNorm1d(120),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(120, 84, bias=False),
            nn.BatchNorm1d(84),
            nn.ReLU(),
            nn.Linear(84, num_outputs),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
