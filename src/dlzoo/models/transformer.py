"""A decoder-only Transformer language model (the book's attention and Transformer chapters).

Causal multi-head self-attention is written out (scores, mask, softmax, weighted sum) so
the masking is visible; positions are added as the book's sinusoidal encoding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """``P[i, 2j] = sin(i / 10000^(2j/d))``, ``P[i, 2j+1] = cos(...)``: ``(length, dim)``."""
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float32, device=device) / dim)
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


def causal_mask(length: int, device: torch.device | None = None) -> Tensor:
    """``True`` where a query position may not look: keys after it."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class CausalSelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention where position ``i`` only attends to
    positions ``<= i``."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"model.net.d_model={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        h = self.num_heads
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in self.qkv(x).chunk(3, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)  # (b, h, t, t)
        scores = scores.masked_fill(causal_mask(t, x.device), float("-inf"))
        weights = self.dropout(scores.softmax(dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out)


class DecoderBlock(nn.Module):
    """Pre-norm block: ``x + attn(LN(x))`` then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, num_heads: int, ffn_hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = CausalSelfAttention(dim, num_heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_hidden), nn.GELU(), nn.Linear(ffn_hidden, dim), nn.Dropout(dropout)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.dropout(self.attention(self.norm1(x)))
        return x + self.ffn(self.norm2(x))


class TransformerLM(nn.Module):
    """Token embedding + sinusoidal positions -> causal decoder blocks -> vocabulary logits.

    It has no recurrent state: ``forward`` accepts and returns ``state=None`` so it trains
    and generates through the same interface as the RNNs. Generation feeds it the last
    ``context_size`` tokens (the training window).

    Args:
        input_shape: ``(num_steps,)``: the training window, used as the generation context.
        num_outputs: vocabulary size.
        d_model, num_heads, num_layers, ffn_hidden, dropout: the usual sizes.
    """

    bidirectional = False

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        d_model: int = 128,
        num_heads: int = 4,
        num_layers: int = 2,
        ffn_hidden: int = 512,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if d_model % 2:
            raise ConfigError(f"model.net.d_model={d_model} must be even (sinusoidal positions)")
        self.context_size = int(input_shape[0])
        self.d_model = d_model
        self.embedding = nn.Embedding(num_outputs, d_model)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            DecoderBlock(d_model, num_heads, ffn_hidden, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.output = nn.Linear(d_model, num_outputs)

    def forward(self, tokens: Tensor, state: None = None) -> tuple[Tensor, None]:
        t = tokens.shape[1]
        # no sqrt(d_model) scaling: nn.Embedding already starts at unit variance, and scaling
        # it up would drown the positions (measured: val perplexity 8.8 instead of 5.5)
        x = self.embedding(tokens)
        x = self.dropout(x + sinusoidal_positions(t, self.d_model, tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.output(self.norm(x)), None
