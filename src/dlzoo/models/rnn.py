"""Recurrent language models: PyTorch's RNN/GRU/LSTM layers, and an RNN built from scratch.

Every language model maps token indices ``(batch, steps)`` and an optional recurrent state
to next-token logits ``(batch, steps, vocab)`` and the new state:
``logits, state = net(tokens, state)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlzoo.errors import ConfigError

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
State = Any  # a tensor (RNN, GRU), a (h, c) pair (LSTM) or None


class TokenInput(nn.Module):
    """Tokens -> vectors: one-hot (the book's choice, ``embed_dim: null``) or a learned
    embedding of ``embed_dim`` dimensions."""

    def __init__(self, vocab_size: int, embed_dim: int | None = None) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_dim) if embed_dim else None
        self.dim = embed_dim or vocab_size

    def forward(self, tokens: Tensor) -> Tensor:
        if self.embedding is None:
            return F.one_hot(tokens, self.vocab_size).float()
        return self.embedding(tokens)


class RNNLM(nn.Module):
    """A recurrent language model around ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``.

    Args:
        input_shape: ``(num_steps,)`` (unused: recurrent models take any length).
        num_outputs: vocabulary size.
        cell: ``rnn`` (tanh), ``gru`` or ``lstm``.
        hidden_size, num_layers: size of the recurrent stack.
        dropout: between recurrent layers and before the output layer.
        bidirectional: also read the sequence backwards. Such a model sees the tokens it is
            asked to predict, so its perplexity is meaningless and it cannot generate text.
        embed_dim: ``null`` for one-hot inputs, else a learned embedding of that size.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        cell: str = "gru",
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"model.net.cell={cell!r} is unknown; choose one of {list(CELLS)}")
        if hidden_size < 1 or num_layers < 1:
            raise ConfigError(f"hidden_size={hidden_size} and num_layers={num_layers} must be >= 1")
        self.cell = cell
        self.bidirectional = bidirectional
        self.input = TokenInput(num_outputs, embed_dim)
        self.rnn = CELLS[cell](
            self.input.dim,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size * (2 if bidirectional else 1), num_outputs)

    def forward(self, tokens: Tensor, state: State = None) -> tuple[Tensor, State]:
        outputs, state = self.rnn(self.input(tokens), state)
        return self.output(self.dropout(outputs)), state


class ScratchRNN(nn.Module):
    """A stacked tanh RNN with explicit weight matrices, as the d2l book builds it:
    ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``, layer by layer.

    Same maths as ``nn.RNN(batch_first=True)`` (whose two biases add up to ``b_h``); the
    state is ``(num_layers, batch, hidden_size)`` like ``nn.RNN``'s.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, sigma: float = 0.01
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.W_xh = nn.ParameterList(
            nn.Parameter(torch.randn(n, hidden_size) * sigma) for n in sizes
        )
        self.W_hh = nn.ParameterList(
            nn.Parameter(torch.randn(hidden_size, hidden_size) * sigma) for _ in sizes
        )
        self.b_h = nn.ParameterList(nn.Parameter(torch.zeros(hidden_size)) for _ in sizes)

    def forward(self, inputs: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``inputs`` ``(batch, steps, input_size)`` -> outputs of the last layer
        ``(batch, steps, hidden_size)`` and the final state of every layer."""
        batch = inputs.shape[0]
        if state is None:
            state = inputs.new_zeros(self.num_layers, batch, self.hidden_size)
        finals = []
        x = inputs
        for layer in range(self.num_layers):
            h = state[layer]
            outputs = []
            for t in range(x.shape[1]):
                h = torch.tanh(x[:, t] @ self.W_xh[layer] + h @ self.W_hh[layer] + self.b_h[layer])
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            finals.append(h)
        return x, torch.stack(finals)

    @torch.no_grad()
    def copy_from(self, rnn: nn.RNN) -> None:
        """Take the weights of a unidirectional tanh ``nn.RNN`` with the same sizes."""
        for layer in range(self.num_layers):
            self.W_xh[layer].copy_(getattr(rnn, f"weight_ih_l{layer}").T)
            self.W_hh[layer].copy_(getattr(rnn, f"weight_hh_l{layer}").T)
            self.b_h[layer].copy_(
                getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
            )


class ScratchRNNLM(nn.Module):
    """The book's from-scratch character RNN: one-hot inputs, :class:`ScratchRNN`, and an
    output matrix ``W_hq`` with bias ``b_q``.

    Args:
        input_shape: ``(num_steps,)`` (unused).
        num_outputs: vocabulary size.
        hidden_size, num_layers: size of the recurrent stack.
        sigma: standard deviation of the initial weights (the book: 0.01).
    """

    bidirectional = False

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        hidden_size: int = 256,
        num_layers: int = 1,
        sigma: float = 0.01,
    ) -> None:
        super().__init__()
        self.vocab_size = num_outputs
        self.rnn = ScratchRNN(num_outputs, hidden_size, num_layers, sigma)
        self.W_hq = nn.Parameter(torch.randn(hidden_size, num_outputs) * sigma)
        self.b_q = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        outputs, state = self.rnn(F.one_hot(tokens, self.vocab_size).float(), state)
        return outputs @ self.W_hq + self.b_q, state


def map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """``fn`` applied to each tensor of a state (a tensor, an LSTM's pair, or None)."""
    if state is None:
        return None
    if isinstance(state, tuple | list):
        return type(state)(map_state(s, fn) for s in state)
    return fn(state)


def detach_state(state: State) -> State:
    """Cut the autograd graph at a state carried into the next batch (truncated BPTT)."""
    return map_state(state, Tensor.detach)
