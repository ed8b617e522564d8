"""Encoder-decoders for sequence to sequence learning (the book's 10.7, 11.4 and 11.7).

Every model here has the same three entry points, so training, greedy and beam decoding
and heatmaps are written once for all of them:

- ``forward(src, src_len, dec_in) -> logits (b, T, vocab)``: teacher forcing;
- ``begin(src, src_len) -> state``: encode once; the state is a dict of batch-first tensors
  (so beam search can reorder it with one ``index_select`` per entry);
- ``step(tokens, state) -> (logits (b, vocab), state, attention)``: one decoding step;
  ``attention`` is ``(b, src)`` (Bahdanau), ``(b, heads, src)`` (Transformer) or ``None``.

Padding is masked everywhere (packed GRU inputs, attention valid lengths), so a sentence
gives the same outputs alone or in a padded batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlzoo.errors import ConfigError
from dlzoo.models.attention import AdditiveAttention, MultiHeadAttention, PositionalEncoding

State = dict[str, Tensor]


class EncoderDecoder(nn.Module):
    """The shared interface; ``forward`` defaults to one ``step`` per target position."""

    #: whether ``step`` returns attention weights (heatmaps can be drawn)
    has_attention: bool = True

    def begin(self, src: Tensor, src_len: Tensor) -> State:
        raise NotImplementedError

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State, Tensor | None]:
        raise NotImplementedError

    def forward(self, src: Tensor, src_len: Tensor, dec_in: Tensor) -> Tensor:
        state = self.begin(src, src_len)
        logits = []
        for t in range(dec_in.shape[1]):
            out, state, _ = self.step(dec_in[:, t], state)
            logits.append(out)
        return torch.stack(logits, dim=1)


class GRUEncoder(nn.Module):
    """Embedding + multi-layer GRU over the real tokens only (packed sequences)."""

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        num_hiddens: int,
        num_layers: int,
        dropout: float,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(
            embed_size,
            num_hiddens,
            num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
            bidirectional=bidirectional,
        )

    def forward(self, src: Tensor, src_len: Tensor) -> tuple[Tensor, Tensor]:
        """Outputs ``(b, S, H)`` (``2H`` if bidirectional: forward and backward concatenated;
        zeros at padding) and the final states ``(layers * directions, b, H)``, each
        direction's at its own end of each sentence's real tokens."""
        packed = pack_padded_sequence(
            self.embedding(src),
            src_len.clamp(min=1).cpu(),
            batch_first=True,
            enforce_sorted=False,
        )
        out, hidden = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return out, hidden


class GRUEncoderDecoder(EncoderDecoder):
    """What the two GRU models share: a :class:`GRUEncoder`, target embeddings, a GRU
    decoder whose input is a token's embedding concatenated with a context vector of
    ``num_hiddens``, and the projection to the target vocabulary. They differ in the
    context: fixed (:class:`Seq2Seq`) or attended at every step (:class:`Seq2SeqAttention`)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        src_vocab_size: int,
        embed_size: int = 256,
        num_hiddens: int = 256,
        num_layers: int = 2,
        dropout: float = 0.2,
        bidirectional_encoder: bool = False,
        output_context: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (
            ("bidirectional_encoder", bidirectional_encoder),
            ("output_context", output_context),
        ):
            if not isinstance(value, bool):
                raise ConfigError(f"model.net.{name}={value!r}: must be true or false")
        self.encoder = GRUEncoder(
            src_vocab_size, embed_size, num_hiddens, num_layers, dropout, bidirectional_encoder
        )
        context_size = num_hiddens * (2 if bidirectional_encoder else 1)
        self.embedding = nn.Embedding(num_outputs, embed_size)
        self.rnn = nn.GRU(
            embed_size + context_size,
            num_hiddens,
            num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.output_context = output_context
        self.dense = nn.Linear(num_hiddens + (context_size if output_context else 0), num_outputs)
        # a bidirectional encoder's two final states per layer -> the decoder's initial state
        self.bridge = nn.Linear(context_size, num_hiddens) if bidirectional_encoder else None

    def initial_state(self, encoder_hidden: Tensor) -> Tensor:
        """The decoder's first state ``(b, layers, H)`` from the encoder's final states: the
        same (the book), or ``tanh(W [forward; backward])`` per layer if bidirectional (as
        Bahdanau et al. start from the backward state)."""
        if self.bridge is None:
            return encoder_hidden.transpose(0, 1)
        layers = encoder_hidden.shape[0] // 2
        both = encoder_hidden.view(layers, 2, *encoder_hidden.shape[1:])  # (L, 2, b, H)
        both = torch.cat([both[:, 0], both[:, 1]], dim=-1)  # (L, b, 2H)
        return torch.tanh(self.bridge(both)).transpose(0, 1)


class Seq2Seq(GRUEncoderDecoder):
    """The book's GRU encoder-decoder (10.7): the encoder's final top-layer state is the
    context, concatenated to every decoder input; the decoder starts from the encoder's
    final state."""

    has_attention = False

    def begin(self, src: Tensor, src_len: Tensor) -> State:
        _, hidden = self.encoder(src, src_len)
        # the top layer's final state; both directions' if the encoder is bidirectional
        context = hidden[-1] if self.bridge is None else torch.cat([hidden[-2], hidden[-1]], -1)
        return {"hidden": self.initial_state(hidden), "context": context}

    def _decode(self, dec_in: Tensor, state: State) -> tuple[Tensor, State]:
        emb = self.embedding(dec_in)
        context = state["context"].unsqueeze(1).expand(-1, emb.shape[1], -1)
        out, hidden = self.rnn(
            torch.cat([emb, context], dim=-1), state["hidden"].transpose(0, 1).contiguous()
        )
        if self.output_context:
            out = torch.cat([out, context], dim=-1)
        return self.dense(out), {"hidden": hidden.transpose(0, 1), "context": state["context"]}

    def forward(self, src: Tensor, src_len: Tensor, dec_in: Tensor) -> Tensor:
        return self._decode(dec_in, self.begin(src, src_len))[0]  # all steps at once

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State, Tensor | None]:
        logits, state = self._decode(tokens.unsqueeze(1), state)
        return logits[:, 0], state, None


class Seq2SeqAttention(GRUEncoderDecoder):
    """GRU encoder-decoder with Bahdanau attention (11.4): at every step the decoder's
    previous top-layer state queries the encoder outputs (padding masked); the context is
    concatenated to the step's input."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        src_vocab_size: int,
        embed_size: int = 256,
        num_hiddens: int = 256,
        num_layers: int = 2,
        dropout: float = 0.2,
        attention_dropout: float | None = None,
        bidirectional_encoder: bool = False,
        output_context: bool = False,
    ) -> None:
        super().__init__(
            input_shape,
            num_outputs,
            src_vocab_size,
            embed_size,
            num_hiddens,
            num_layers,
            dropout,
            bidirectional_encoder,
            output_context,
        )
        # dropout on the attention weights: the book's is `dropout` (None here)
        weights_dropout = dropout if attention_dropout is None else attention_dropout
        key_size = num_hiddens * (2 if bidirectional_encoder else 1)
        self.attention = AdditiveAttention(key_size, num_hiddens, num_hiddens, weights_dropout)

    def begin(self, src: Tensor, src_len: Tensor) -> State:
        memory, hidden = self.encoder(src, src_len)
        return {
            "hidden": self.initial_state(hidden),
            "memory": memory,
            "keys": self.attention.W_k(memory),  # projected once, queried at every step
            "src_len": src_len,
        }

    def _advance(self, embedded: Tensor, state: State) -> tuple[Tensor, State, Tensor]:
        """One decoder step from the token's embedding: what the vocabulary projection reads
        ``(b, H)`` (the top layer's output, and the context if ``output_context``), the new
        state and the attention weights ``(b, src)``."""
        hidden = state["hidden"].transpose(0, 1).contiguous()  # (layers, b, H)
        context = self.attention.attend(
            hidden[-1].unsqueeze(1), state["keys"], state["memory"], state["src_len"]
        )
        out, hidden = self.rnn(torch.cat([embedded.unsqueeze(1), context], dim=-1), hidden)
        weights = self.attention.attention_weights
        assert weights is not None
        features = torch.cat([out[:, 0], context[:, 0]], -1) if self.output_context else out[:, 0]
        return features, {**state, "hidden": hidden.transpose(0, 1)}, weights[:, 0]

    def forward(self, src: Tensor, src_len: Tensor, dec_in: Tensor) -> Tensor:
        """Teacher forcing: the steps run one by one (each attends with the previous state),
        the vocabulary projection once over all of them."""
        state = self.begin(src, src_len)
        embedded = self.embedding(dec_in)
        outputs = []
        for t in range(dec_in.shape[1]):
            out, state, _ = self._advance(embedded[:, t], state)
            outputs.append(out)
        return self.dense(torch.stack(outputs, dim=1))

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State, Tensor | None]:
        out, state, weights = self._advance(self.embedding(tokens), state)
        return self.dense(out), state, weights


class _Sublayers(nn.Module):
    """Residual connections with layer norm: post-norm ``LN(x + f(x))`` (the book, the
    original Transformer) or pre-norm ``x + f(LN(x))`` (steadier with large learning rates)."""

    def __init__(self, num_hiddens: int, count: int, dropout: float, norm_first: bool) -> None:
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(num_hiddens) for _ in range(count))
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def apply_sublayer(self, i: int, x: Tensor, fn) -> Tensor:  # noqa: ANN001
        if self.norm_first:
            return x + self.dropout(fn(self.norms[i](x)))
        return self.norms[i](x + self.dropout(fn(x)))


def _ffn(num_hiddens: int, ffn_hiddens: int) -> nn.Sequential:
    """The position-wise feed-forward network: the same two-layer MLP at every position."""
    return nn.Sequential(
        nn.Linear(num_hiddens, ffn_hiddens), nn.ReLU(), nn.Linear(ffn_hiddens, num_hiddens)
    )


class EncoderBlock(_Sublayers):
    def __init__(
        self, num_hiddens: int, num_heads: int, ffn_hiddens: int, dropout: float, norm_first: bool
    ) -> None:
        super().__init__(num_hiddens, 2, dropout, norm_first)
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.ffn = _ffn(num_hiddens, ffn_hiddens)

    def forward(self, x: Tensor, src_len: Tensor) -> Tensor:
        x = self.apply_sublayer(0, x, lambda h: self.attention(h, h, h, src_len))
        return self.apply_sublayer(1, x, self.ffn)


class DecoderBlock(_Sublayers):
    def __init__(
        self, num_hiddens: int, num_heads: int, ffn_hiddens: int, dropout: float, norm_first: bool
    ) -> None:
        super().__init__(num_hiddens, 3, dropout, norm_first)
        self.self_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.cross_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.ffn = _ffn(num_hiddens, ffn_hiddens)

    def forward(self, x: Tensor, memory: Tensor, src_len: Tensor) -> Tensor:
        b, t, _ = x.shape
        causal = torch.arange(1, t + 1, device=x.device).expand(b, t)  # query i sees keys <= i
        x = self.apply_sublayer(0, x, lambda h: self.self_attention(h, h, h, causal))
        x = self.apply_sublayer(1, x, lambda h: self.cross_attention(h, memory, memory, src_len))
        return self.apply_sublayer(2, x, self.ffn)

    def step(
        self, x: Tensor, past: Tensor, memory: Tensor, src_len: Tensor
    ) -> tuple[Tensor, Tensor]:
        """One new position ``x`` ``(b, 1, d)`` given this block's earlier inputs ``past``
        ``(b, t, d)`` (the book's ``key_values``): the new query attends to all of them and
        itself, so no causal mask is needed. Returns the output and the grown ``past``."""
        seen = torch.cat([past, x], dim=1)
        keys = self.norms[0](seen) if self.norm_first else seen
        x = self.apply_sublayer(0, x, lambda h: self.self_attention(h, keys, keys))
        x = self.apply_sublayer(1, x, lambda h: self.cross_attention(h, memory, memory, src_len))
        return self.apply_sublayer(2, x, self.ffn), seen


class TransformerSeq2Seq(EncoderDecoder):
    """The Transformer encoder-decoder (11.7): token embeddings scaled by sqrt(d) plus
    sinusoidal positions; encoder blocks of self-attention and FFN, decoder blocks of
    causal self-attention, cross-attention over the encoder output, and FFN.

    ``norm_first=False`` is the book's post-norm; ``True`` pre-norm (with a final layer
    norm on each stack). ``embedding_init="book"`` keeps PyTorch's N(0, 1) embeddings,
    which the sqrt(d) factor makes ~sqrt(d) times larger than the positions;
    ``"scaled"`` draws them from N(0, 1/d) so both start at unit scale (the original
    Transformer's practice). ``tie_embeddings=True`` shares the target embedding with the
    output projection (fewer parameters to learn from little data). Decoding one step at a
    time keeps each decoder block's earlier inputs in the state (the book's
    ``key_values``), so a step costs one position, not a re-run over the whole prefix.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        src_vocab_size: int,
        num_hiddens: int = 128,
        num_heads: int = 4,
        num_layers: int = 2,
        ffn_hiddens: int = 256,
        dropout: float = 0.1,
        norm_first: bool = False,
        max_len: int = 512,
        tie_embeddings: bool = False,
        embedding_init: str = "book",
    ) -> None:
        super().__init__()
        self.num_hiddens = num_hiddens
        self.src_embedding = nn.Embedding(src_vocab_size, num_hiddens)
        self.tgt_embedding = nn.Embedding(num_outputs, num_hiddens)
        self.positions = PositionalEncoding(num_hiddens, dropout, max_len)
        args = (num_hiddens, num_heads, ffn_hiddens, dropout, norm_first)
        self.encoder_blocks = nn.ModuleList(EncoderBlock(*args) for _ in range(num_layers))
        self.decoder_blocks = nn.ModuleList(DecoderBlock(*args) for _ in range(num_layers))
        self.encoder_norm = nn.LayerNorm(num_hiddens) if norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(num_hiddens) if norm_first else nn.Identity()
        self.dense = nn.Linear(num_hiddens, num_outputs)
        if embedding_init not in ("book", "scaled"):
            raise ConfigError(
                f"model.net.embedding_init={embedding_init!r}: must be 'book' (N(0, 1)) or "
                f"'scaled' (N(0, 1/num_hiddens))"
            )
        if embedding_init == "scaled":  # times sqrt(d) in _embed: unit scale, like the positions
            for embedding in (self.src_embedding, self.tgt_embedding):
                nn.init.normal_(embedding.weight, std=num_hiddens**-0.5)
        if tie_embeddings:  # one matrix for the target embedding and the output projection
            self.dense.weight = self.tgt_embedding.weight

    def _embed(self, embedding: nn.Embedding, tokens: Tensor) -> Tensor:
        return self.positions(embedding(tokens) * math.sqrt(self.num_hiddens))

    def encode(self, src: Tensor, src_len: Tensor) -> Tensor:
        x = self._embed(self.src_embedding, src)
        for block in self.encoder_blocks:
            x = block(x, src_len)
        return self.encoder_norm(x)

    def decode(self, dec_in: Tensor, memory: Tensor, src_len: Tensor) -> Tensor:
        """The decoder stack's outputs ``(b, T, d)`` (before the vocabulary projection)."""
        x = self._embed(self.tgt_embedding, dec_in)
        for block in self.decoder_blocks:
            x = block(x, memory, src_len)
        return self.decoder_norm(x)

    def forward(self, src: Tensor, src_len: Tensor, dec_in: Tensor) -> Tensor:
        return self.dense(self.decode(dec_in, self.encode(src, src_len), src_len))

    def begin(self, src: Tensor, src_len: Tensor) -> State:
        memory = self.encode(src, src_len)
        state = {"memory": memory, "src_len": src_len}
        for i in range(len(self.decoder_blocks)):  # each block's inputs so far: none yet
            state[f"past_{i}"] = memory.new_zeros(src.shape[0], 0, self.num_hiddens)
        return state

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State, Tensor | None]:
        position = state["past_0"].shape[1]
        x = self.positions(
            self.tgt_embedding(tokens.unsqueeze(1)) * math.sqrt(self.num_hiddens), position
        )
        state = dict(state)
        for i, block in enumerate(self.decoder_blocks):
            x, state[f"past_{i}"] = block.step(
                x, state[f"past_{i}"], state["memory"], state["src_len"]
            )
        weights = self.decoder_blocks[-1].cross_attention.attention_weights
        assert weights is not None
        return self.dense(self.decoder_norm(x)[:, -1]), state, weights[:, :, -1]
