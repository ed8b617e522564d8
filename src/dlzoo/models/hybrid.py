"""The curriculum's CNN-RNN hybrid: convolutional features read by a recurrent network."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.shapes import image_shape, output_shape

RNNS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
SEQUENCES = ("single", "rows")


class CNNRNN(nn.Module):
    """``Conv2d(C, channels, 3)-ReLU-MaxPool(2)`` features fed to an RNN, whose last hidden
    state goes through a dense output layer.

    ``sequence`` says how the feature map becomes a sequence:

    * ``single`` (the curriculum's exact sizes): the whole map, flattened, is one time step;
      on 1x28x28 input that is ``RNN(32*13*13, 128)``.
    * ``rows``: each row of the map is one time step (13 steps of ``32*13`` features), so
      the RNN reads the image top to bottom.

    Args:
        channels: conv output channels (32).
        hidden_size: RNN hidden units (128).
        rnn: ``rnn`` (tanh), ``gru`` or ``lstm``.
        num_layers: stacked RNN layers.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        channels: int = 32,
        hidden_size: int = 128,
        rnn: str = "rnn",
        num_layers: int = 1,
        sequence: str = "single",
    ) -> None:
        super().__init__()
        in_channels, _, _ = image_shape(input_shape, "cnn_rnn")
        if rnn not in RNNS:
            raise ConfigError(f"model.net.rnn={rnn!r} is unknown; choose one of {list(RNNS)}")
        if sequence not in SEQUENCES:
            raise ConfigError(f"model.net.sequence={sequence!r}: choose one of {list(SEQUENCES)}")
        self.sequence = sequence
        self.cnn = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3), nn.ReLU(), nn.MaxPool2d(kernel_size=2)
        )
        c, h, w = output_shape(self.cnn, input_shape, "cnn_rnn")
        step_size = c * h * w if sequence == "single" else c * w
        self.rnn = RNNS[rnn](step_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        features = self.cnn(x)  # (N, C, H, W)
        if self.sequence == "single":
            seq = features.flatten(1).unsqueeze(1)  # (N, 1, C*H*W)
        else:
            seq = features.permute(0, 2, 1, 3).flatten(2)  # (N, H, C*W): one row per step
        out, _ = self.rnn(seq)
        return self.fc(out[:, -1])
