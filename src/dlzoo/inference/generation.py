"""Decoding for language models: continue a token prefix greedily or by sampling
(temperature, top-k, top-p, a repetition guard: the choice of each token is
:mod:`dlzoo.inference.sampling`). Pure decoding: loading a checkpoint is :mod:`dlzoo.commands.generate`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dlzoo.data.vocab import Vocab
from dlzoo.errors import ConfigError
from dlzoo.inference.sampling import Sampling, next_token


def check_can_generate(net: nn.Module) -> None:
    """A bidirectional model reads the future it should predict: it cannot generate."""
    if getattr(net, "bidirectional", False):
        raise ConfigError(
            "this model is bidirectional (model.net.bidirectional=true): it reads the tokens it "
            "predicts, so it cannot generate text left to right. Train a unidirectional model "
            "(model.net.bidirectional=false) to generate."
        )


@torch.no_grad()
def generate(
    net: nn.Module,
    vocab: Vocab,
    prefix: list[str],
    num_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    sampling: Sampling | None = None,
) -> list[str]:
    """Continue ``prefix`` (tokens) by ``num_tokens`` tokens.

    ``temperature`` 0 is greedy (the most likely token each step); above 0, tokens are drawn
    from ``softmax(logits / temperature)``; ``sampling`` (which then replaces
    ``temperature``) adds top-k, top-p and the repetition guard. Recurrent models are warmed
    up on the prefix and then fed one token at a time with their state; a model with a ``context_size`` (the
    Transformer) is re-run on at most its last ``context_size`` tokens.
    """
    check_can_generate(net)
    if not prefix:
        raise ConfigError("prefix must hold at least one token to start generating from")
    if num_tokens < 0:
        raise ConfigError(f"num_tokens={num_tokens}: must be >= 0")
    if temperature < 0:
        raise ConfigError(f"temperature={temperature}: must be >= 0 (0 is greedy)")
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    ids = vocab.encode(prefix)
    context = getattr(net, "context_size", None)
    sampling = sampling or Sampling(temperature=temperature)

    def pick(logits: Tensor) -> int:
        return next_token(logits, ids, sampling, generator)

    try:
        if context is None:  # recurrent: carry the state
            logits, state = net(torch.tensor([ids], device=device))
            for _ in range(num_tokens):
                ids.append(pick(logits[0, -1]))
                logits, state = net(torch.tensor([[ids[-1]]], device=device), state)
        else:
            for _ in range(num_tokens):
                logits, _ = net(torch.tensor([ids[-context:]], device=device))
                ids.append(pick(logits[0, -1]))
    finally:
        net.train(was_training)
    return [vocab.idx_to_token[i] for i in ids[len(prefix) :]]
