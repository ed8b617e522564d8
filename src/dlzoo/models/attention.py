"""The attention blocks of the book's chapter 11, written out so each step is visible.

Masked softmax, additive (Bahdanau) attention, scaled dot-product attention, multi-head
attention and the sinusoidal positional encoding. Every block keeps its last attention
weights in ``attention_weights`` so heatmaps can show what it looked at.

Masks come as valid lengths (``(batch,)``: the same for every query; ``(batch, queries)``:
one per query, e.g. causal decoding), as in the book: positions at or beyond the length get
a score of -1e6, whose softmax weight is exactly 0 in float32.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.transformer import sinusoidal_positions

MASKED_SCORE = -1e6


def length_mask(valid_lens: Tensor, num_keys: int) -> Tensor:
    """``True`` for the keys a query may look at: ``(batch, 1, keys)`` or
    ``(batch, queries, keys)`` from lengths of shape ``(batch,)`` or ``(batch, queries)``."""
    lens = valid_lens if valid_lens.ndim == 2 else valid_lens.unsqueeze(1)
    keys = torch.arange(num_keys, device=valid_lens.device)
    return keys.view(1, 1, -1) < lens.unsqueeze(-1)


def masked_softmax(scores: Tensor, valid_lens: Tensor | None = None) -> Tensor:
    """Softmax over the last axis of ``scores`` (``(b, q, k)`` or ``(b, heads, q, k)``)
    that gives weight 0 to keys beyond each query's valid length."""
    if valid_lens is None:
        return scores.softmax(dim=-1)
    mask = length_mask(valid_lens, scores.shape[-1])
    if scores.ndim == 4:
        mask = mask.unsqueeze(1)  # the same mask for every head
    return scores.masked_fill(~mask, MASKED_SCORE).softmax(dim=-1)


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention: ``score(q, k) = w_v . tanh(W_q q + W_k k)``; queries
    and keys may have different sizes."""

    def __init__(
        self, key_size: int, query_size: int, num_hiddens: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: Tensor | None = None

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        return self.attend(queries, self.W_k(keys), values, valid_lens)

    def attend(
        self,
        queries: Tensor,
        projected_keys: Tensor,
        values: Tensor,
        valid_lens: Tensor | None = None,
    ) -> Tensor:
        """:meth:`forward` with the keys already through ``W_k``: a decoder that queries
        the same encoder outputs at every step projects them once."""
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + projected_keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)  # (b, q, k)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return self.dropout(self.attention_weights) @ values


class DotProductAttention(nn.Module):
    """Scaled dot-product attention: ``softmax(Q K^T / sqrt(d)) V``; works per head too
    (inputs of shape ``(b, heads, n, d)``)."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: Tensor | None = None

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        scores = queries @ keys.transpose(-2, -1) / math.sqrt(queries.shape[-1])
        self.attention_weights = masked_softmax(scores, valid_lens)
        return self.dropout(self.attention_weights) @ values


class MultiHeadAttention(nn.Module):
    """``num_heads`` scaled dot-product attentions over learned projections, concatenated
    and projected back; ``attention_weights`` is ``(b, heads, q, k)``."""

    def __init__(
        self, num_hiddens: int, num_heads: int, dropout: float = 0.0, bias: bool = False
    ) -> None:
        super().__init__()
        if num_hiddens % num_heads:
            raise ConfigError(
                f"model.net.num_hiddens={num_hiddens} must be divisible by num_heads={num_heads}"
            )
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_k = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_v = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def _split(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.num_heads, d // self.num_heads).transpose(1, 2)

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        out = self.attention(
            self._split(self.W_q(queries)),
            self._split(self.W_k(keys)),
            self._split(self.W_v(values)),
            valid_lens,
        )
        b, _, n, _ = out.shape
        return self.W_o(out.transpose(1, 2).reshape(b, n, -1))

    @property
    def attention_weights(self) -> Tensor | None:
        return self.attention.attention_weights


class PositionalEncoding(nn.Module):
    """Adds the book's sinusoidal position table to ``(b, n, d)`` inputs, then dropout."""

    def __init__(self, num_hiddens: int, dropout: float = 0.0, max_len: int = 1000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("P", sinusoidal_positions(max_len, num_hiddens), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return self.dropout(x + self.P[offset : offset + x.shape[1]].to(x.dtype))
