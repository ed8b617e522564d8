"""Decoding for encoder-decoders: greedy search, beam search, and the book's sentence BLEU.

Works with any network of :mod:`dlzoo.models.seq2seq`'s interface (``begin`` / ``step``);
pure tensors and token ids, no vocabulary or checkpoint.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError

State = dict[str, Tensor]


@dataclass
class Decoded:
    """Token ids of one sentence (without ``<eos>``) and, when the model attends, its
    attention per output step: ``(steps, src)`` or ``(steps, heads, src)``."""

    tokens: list[int]
    attention: Tensor | None = None


def reorder_state(state: State, index: Tensor) -> State:
    """Pick (and repeat) rows of every batch-first state tensor."""
    return {k: v.index_select(0, index) for k, v in state.items()}


@torch.no_grad()
def greedy_decode(
    net: nn.Module,
    src: Tensor,
    src_len: Tensor,
    bos: int,
    eos: int,
    max_len: int,
    never: Sequence[int] = (),
) -> list[Decoded]:
    """The most likely token at each step, until ``<eos>`` or ``max_len`` tokens; ``<bos>``
    and the ``never`` tokens (e.g. ``<pad>``) are never chosen, even by an untrained model."""
    banned = [bos, *never]
    b = src.shape[0]
    state = net.begin(src, src_len)
    tokens = torch.full((b,), bos, dtype=torch.long, device=src.device)
    done = torch.zeros(b, dtype=torch.bool, device=src.device)
    out: list[list[int]] = [[] for _ in range(b)]
    attention: list[Tensor] = []
    for _ in range(max_len):
        logits, state, weights = net.step(tokens, state)
        logits = logits.index_fill(-1, torch.tensor(banned, device=logits.device), -math.inf)
        tokens = logits.argmax(dim=-1)
        if weights is not None:
            attention.append(weights)
        for i in (~done).nonzero().flatten().tolist():
            if int(tokens[i]) != eos:
                out[i].append(int(tokens[i]))
        done |= tokens == eos
        if bool(done.all()):
            break
    stacked = torch.stack(attention, dim=1) if attention else None  # (b, steps, ...)
    return [
        Decoded(seq, None if stacked is None else stacked[i, : len(seq) + 1].cpu())
        for i, seq in enumerate(out)
    ]


@torch.no_grad()
def beam_search(
    net: nn.Module,
    src: Tensor,
    src_len: Tensor,
    bos: int,
    eos: int,
    max_len: int,
    beam_size: int = 4,
    alpha: float = 0.75,
    never: Sequence[int] = (),
) -> list[Decoded]:
    """Keep the ``beam_size`` best prefixes per sentence; at the end pick the finished (or
    longest) hypothesis with the best length-normalised score ``log P / L^alpha`` (the
    book's 10.8, ``L`` counting ``<eos>``). ``beam_size=1`` is greedy search. ``<bos>``
    and the ``never`` tokens are never chosen."""
    if int(beam_size) < 1:
        raise ConfigError(f"beam_size={beam_size!r}: must be an integer >= 1")
    b, k = src.shape[0], int(beam_size)
    banned = [bos, *never]
    device = src.device
    rows = torch.arange(b, device=device).repeat_interleave(k)
    state = reorder_state(net.begin(src, src_len), rows)
    tokens = torch.full((b * k, 1), bos, dtype=torch.long, device=device)
    scores = torch.full((b, k), -math.inf, device=device)
    scores[:, 0] = 0.0  # one live hypothesis per sentence at the start
    finished = torch.zeros(b * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(b * k, device=device)
    attention: Tensor | None = None
    for _ in range(max_len):
        logits, state, weights = net.step(tokens[:, -1], state)
        logp = logits.float().log_softmax(dim=-1)
        logp[:, banned] = -math.inf
        vocab = logp.shape[-1]
        # a finished hypothesis only "continues" with <eos> at no cost: its score stays
        logp[finished] = -math.inf
        logp[finished, eos] = 0.0
        cand = (scores.reshape(-1, 1) + logp).reshape(b, k * vocab)
        scores, idx = cand.topk(k, dim=-1)
        parent = (torch.arange(b, device=device).unsqueeze(1) * k + idx // vocab).reshape(-1)
        new = (idx % vocab).reshape(-1)
        state = reorder_state(state, parent)
        was_finished = finished[parent]
        lengths = lengths[parent] + (~was_finished).float()
        finished = was_finished | (new == eos)
        tokens = torch.cat([tokens[parent], new.unsqueeze(1)], dim=1)
        if weights is not None:
            step = weights.unsqueeze(1)
            attention = step if attention is None else torch.cat([attention[parent], step], 1)
        if bool(finished.all()):
            break
    norm = (scores.reshape(-1) / lengths.clamp(min=1) ** alpha).reshape(b, k)
    norm = torch.where(torch.isfinite(norm), norm, torch.full_like(norm, -math.inf))
    best = (torch.arange(b, device=device) * k + norm.argmax(dim=-1)).tolist()
    out = []
    for row in best:
        seq = tokens[row, 1:].tolist()
        seq = seq[: seq.index(eos)] if eos in seq else seq
        att = None if attention is None else attention[row, : len(seq) + 1].cpu()
        out.append(Decoded(seq, att))
    return out


def sentence_bleu(pred: Sequence[str], label: Sequence[str], k: int = 2) -> float:
    """The book's BLEU of one sentence (10.7.6): brevity penalty
    ``exp(min(0, 1 - len_label / len_pred))`` times ``prod_n p_n^(1/2^n)`` for n-grams up
    to ``k`` (longer n-grams weigh more)."""
    len_pred, len_label = len(pred), len(label)
    if len_pred == 0:
        return 0.0
    score = math.exp(min(0.0, 1 - len_label / len_pred))
    for n in range(1, min(k, len_pred) + 1):
        matches = 0
        label_grams = collections.Counter(tuple(label[i : i + n]) for i in range(len_label - n + 1))
        for i in range(len_pred - n + 1):
            gram = tuple(pred[i : i + n])
            if label_grams[gram] > 0:
                matches += 1
                label_grams[gram] -= 1
        score *= math.pow(matches / (len_pred - n + 1), math.pow(0.5, n))
    return score
