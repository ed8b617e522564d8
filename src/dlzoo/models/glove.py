"""GloVe, the book's 15.5: word vectors fitted to the logarithm of global co-occurrence counts
by weighted least squares.

For a pair of words (i, j) seen together with (distance-weighted) count x_ij, the loss is
h(x_ij) (u_j . v_i + b_i + c_j - log x_ij)^2 with h(x) = min(1, (x / x_max)^alpha): rare pairs
weigh less, frequent ones no more than 1. Each word has a centre vector v and a context
vector u; being symmetric, the two are summed into the word's vector at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.word2vec import check_examples


def glove_weight(counts: Tensor, x_max: float = 100.0, alpha: float = 0.75) -> Tensor:
    """h(x) = (x / x_max)^alpha below x_max, 1 above: how much a pair's error counts."""
    return (counts / x_max).clamp(max=1.0) ** alpha


class GloVe(nn.Module):
    """GloVe's weighted least squares on co-occurrence counts.

    Args:
        input_shape: unused (an example is a pair of word ids and its count).
        num_outputs: the vocabulary size.
        counts, tokens: the vocabulary's counts and words (unused: GloVe learns from the
            co-occurrence counts; taken so every word-embedding network is built alike).
        examples: what the data gives: GloVe trains on ``cooccurrence`` counts.
        embedding_dim: the size of a word vector (the book: 100).
        x_max, alpha: the weighting function's cap and exponent (the book: 100, 0.75).
        sparse: sparse gradients (with a sparse-capable optimizer such as AdaGrad or SGD).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        counts: Sequence[int] = (),
        tokens: Sequence[str] = (),
        examples: str = "cooccurrence",
        embedding_dim: int = 100,
        x_max: float = 100.0,
        alpha: float = 0.75,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        check_examples(examples, "cooccurrence", "model=glove trains", "data=word_cooccurrence")
        if not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ConfigError(f"model.net.embedding_dim={embedding_dim!r}: must be an integer >= 1")
        if not x_max > 0 or not alpha > 0:
            raise ConfigError(
                f"model.net.x_max={x_max!r}, model.net.alpha={alpha!r}: both must be > 0"
            )
        self.x_max, self.alpha = float(x_max), float(alpha)
        sparse = bool(sparse)
        self.centre = nn.Embedding(num_outputs, embedding_dim, sparse=sparse)
        self.context = nn.Embedding(num_outputs, embedding_dim, sparse=sparse)
        self.centre_bias = nn.Embedding(num_outputs, 1, sparse=sparse)
        self.context_bias = nn.Embedding(num_outputs, 1, sparse=sparse)
        for table in (self.centre, self.context):  # GloVe's own: uniform, scaled by the size
            nn.init.uniform_(table.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
        for table in (self.centre_bias, self.context_bias):
            nn.init.zeros_(table.weight)

    def forward(self, rows: Tensor, cols: Tensor, counts: Tensor) -> Tensor:
        """The mean weighted squared error of a batch of co-occurring pairs."""
        scores = (self.centre(rows) * self.context(cols)).sum(dim=-1)
        scores = scores + self.centre_bias(rows).squeeze(-1) + self.context_bias(cols).squeeze(-1)
        error = scores - torch.log(counts)
        return (glove_weight(counts, self.x_max, self.alpha) * error.square()).mean()

    def untrained_loss(self, counts: Tensor | None = None) -> float | None:
        """The loss of a network that learned nothing (every score 0) on these counts."""
        if counts is None or len(counts) == 0:
            return None
        counts = counts.double()
        return float((glove_weight(counts, self.x_max, self.alpha) * counts.log() ** 2).mean())

    def vectors(self) -> Tensor:
        """One vector per word: centre + context (the book's 15.5.4)."""
        return (self.centre.weight + self.context.weight).detach()
