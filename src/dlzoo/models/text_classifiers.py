"""The book's text classifiers (chapter 16) over word embeddings:

- :class:`BiRNN` (16.2): a 2-layer bidirectional LSTM; the outputs at the first and the
  last word of each text, side by side, go to a linear layer;
- :class:`TextCNN` (16.3): two embeddings (one trained, one kept fixed) side by side,
  1-d convolutions of widths 3, 4 and 5, max-over-time pooling, dropout, a linear layer;
- :class:`DecomposableAttention` (16.5): attend (soft-align each word of one sentence with
  the other), compare, aggregate, for sentence pairs.

Input: token ids ``(batch, num_steps)``, or ``(batch, 2, num_steps)`` for a pair, with 0 as
padding. Pretrained vectors (GloVe...) are copied in by the task before training into the
layers :meth:`word_embeddings` lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlzoo.errors import ConfigError

PAD_ID = 0


def _check(name: str, value: object, low: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"model.net.{name}={value!r}: must be an integer >= {low}")


def word_embedding(tokens: Sequence[str], dim: int, frozen: bool = False) -> nn.Embedding:
    """One row per vocabulary word, row 0 (padding) kept at zero; ``frozen``: never trained
    (the task copies pretrained vectors in before training)."""
    table = nn.Embedding(len(tokens), dim, padding_idx=PAD_ID)
    table.weight.requires_grad_(not frozen)
    return table


class BiRNN(nn.Module):
    """Args: ``embedding_dim`` (the book: 100; 50 with GloVe 50d), ``num_hiddens`` (100),
    ``num_layers`` (2), ``freeze_embedding`` (keep pretrained vectors fixed)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        tokens: Sequence[str] = (),
        embedding_dim: int = 100,
        num_hiddens: int = 100,
        num_layers: int = 2,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("embedding_dim", embedding_dim), ("num_hiddens", num_hiddens),
                            ("num_layers", num_layers)):  # fmt: skip
            _check(name, value)
        if len(input_shape) != 1:
            raise ConfigError("model=birnn reads one text per example, not sentence pairs")
        self.embedding = word_embedding(tokens, embedding_dim, freeze_embedding)
        self.encoder = nn.LSTM(embedding_dim, num_hiddens, num_layers=num_layers,
                               bidirectional=True, batch_first=True)  # fmt: skip
        self.decoder = nn.Linear(4 * num_hiddens, num_outputs)

    def word_embeddings(self) -> list[nn.Embedding]:
        return [self.embedding]

    def forward(self, x: Tensor) -> Tensor:
        lengths = (x != PAD_ID).sum(dim=1).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(x), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, _ = self.encoder(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
        where = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
        last = outputs.gather(1, where).squeeze(1)  # each text's last word (not its padding)
        return self.decoder(torch.cat([outputs[:, 0], last], dim=1))


class TextCNN(nn.Module):
    """Args: ``embedding_dim``, ``kernel_sizes`` (the book: 3, 4, 5), ``num_channels``
    (100 each), ``dropout`` (0.5). Of the two embeddings the second stays fixed at its
    pretrained values (the book's); ``freeze_embedding`` fixes the first too."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        tokens: Sequence[str] = (),
        embedding_dim: int = 100,
        kernel_sizes: Sequence[int] = (3, 4, 5),
        num_channels: Sequence[int] = (100, 100, 100),
        dropout: float = 0.5,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        _check("embedding_dim", embedding_dim)
        if len(input_shape) != 1:
            raise ConfigError("model=textcnn reads one text per example, not sentence pairs")
        if len(kernel_sizes) != len(num_channels) or not kernel_sizes:
            raise ConfigError(f"model.net.kernel_sizes={list(kernel_sizes)} and num_channels="
                              f"{list(num_channels)} must be lists of the same length")  # fmt: skip
        if max(kernel_sizes) > input_shape[0]:
            raise ConfigError(f"model.net.kernel_sizes={list(kernel_sizes)}: wider than the "
                              f"{input_shape[0]} tokens of a text (data.num_steps)")  # fmt: skip
        self.embedding = word_embedding(tokens, embedding_dim, freeze_embedding)
        self.constant_embedding = word_embedding(tokens, embedding_dim, frozen=True)
        self.dropout = nn.Dropout(dropout)
        self.convs = nn.ModuleList(
            nn.Conv1d(2 * embedding_dim, c, k)
            for c, k in zip(num_channels, kernel_sizes, strict=True)
        )
        self.decoder = nn.Linear(sum(num_channels), num_outputs)

    def word_embeddings(self) -> list[nn.Embedding]:
        return [self.embedding, self.constant_embedding]

    def forward(self, x: Tensor) -> Tensor:
        embeddings = torch.cat([self.embedding(x), self.constant_embedding(x)], dim=2)
        embeddings = embeddings.permute(0, 2, 1)  # (batch, channels, steps) for Conv1d
        pooled = [F.relu(conv(embeddings)).amax(dim=2) for conv in self.convs]
        return self.decoder(self.dropout(torch.cat(pooled, dim=1)))


def _mlp(num_inputs: int, num_hiddens: int, dropout: float) -> nn.Sequential:
    """The book's two-layer MLP of 16.5, dropout before each linear layer."""
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(num_inputs, num_hiddens), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(num_hiddens, num_hiddens), nn.ReLU(),
    )  # fmt: skip


class DecomposableAttention(nn.Module):
    """Parikh et al.'s decomposable attention (the book's 16.5) for a premise and a
    hypothesis. Padding is masked out of the alignments and of the sums.

    Args: ``embedding_dim`` (the book: 100), ``num_hiddens`` (200) of the attend, compare and
    aggregate MLPs, ``dropout`` (0.2), ``freeze_embedding``."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        tokens: Sequence[str] = (),
        embedding_dim: int = 100,
        num_hiddens: int = 200,
        dropout: float = 0.2,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        _check("embedding_dim", embedding_dim)
        _check("num_hiddens", num_hiddens)
        if len(input_shape) != 2 or input_shape[0] != 2:
            raise ConfigError("model=decomposable_attention reads sentence pairs: use "
                              "data=snli or data=sentence_pairs")  # fmt: skip
        self.embedding = word_embedding(tokens, embedding_dim, freeze_embedding)
        self.attend = _mlp(embedding_dim, num_hiddens, dropout)
        self.compare = _mlp(2 * embedding_dim, num_hiddens, dropout)
        self.aggregate = nn.Sequential(_mlp(2 * num_hiddens, num_hiddens, dropout),
                                       nn.Linear(num_hiddens, num_outputs))  # fmt: skip

    def word_embeddings(self) -> list[nn.Embedding]:
        return [self.embedding]

    def forward(self, x: Tensor) -> Tensor:
        premise, hypothesis = x[:, 0], x[:, 1]
        a, b = self.embedding(premise), self.embedding(hypothesis)
        mask_a, mask_b = premise != PAD_ID, hypothesis != PAD_ID
        scores = self.attend(a) @ self.attend(b).transpose(1, 2)  # (batch, steps_a, steps_b)
        # beta: the hypothesis soft-aligned to each premise word; alpha: the other way round
        beta = _masked_softmax(scores, mask_b.unsqueeze(1)) @ b
        alpha = _masked_softmax(scores.transpose(1, 2), mask_a.unsqueeze(1)) @ a
        v_a = self.compare(torch.cat([a, beta], dim=2)) * mask_a.unsqueeze(-1)
        v_b = self.compare(torch.cat([b, alpha], dim=2)) * mask_b.unsqueeze(-1)
        return self.aggregate(torch.cat([v_a.sum(dim=1), v_b.sum(dim=1)], dim=1))


def _masked_softmax(scores: Tensor, keep: Tensor) -> Tensor:
    """Softmax over the last axis with padded positions left out (an all-padding row gives
    zeros, not NaN)."""
    scores = scores.masked_fill(~keep, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.nan_to_num(weights, nan=0.0)
