"""Choosing the next token from a language model's logits: greedy, temperature, top-k,
top-p (nucleus), and a repetition guard (a repetition penalty and/or a ban on repeating an
n-gram), because greedy decoding of a small model loops ("the sun so the sun so ...")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from dlzoo.errors import ConfigError, check_known_keys  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class Sampling:
    """How to pick each token (every option off by default: plain greedy decoding).

    Args:
        temperature: 0 is greedy (the most likely token); above 0, tokens are drawn from
            ``softmax(logits / temperature)`` after the filters below. With ``top_k`` or
            ``top_p`` set, 0 means 1 (asking for top-k or top-p asks for sampling).
        top_k: keep only the ``k`` most likely tokens (0: all).
        top_p: keep the smallest set of most likely tokens whose probabilities add up to at
            least ``p`` (nucleus sampling; 1: all).
        repetition_penalty: divide the (positive) logit of every token already in the text by
            this (multiply a negative one); 1 is off, 1.2-1.5 is typical for words.
        no_repeat_ngram: never produce an n-gram of this many tokens that is already in the
            text (0: off); for characters 8-12 breaks loops and keeps words intact.
    """

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.temperature < 0:
            problems.append(f"temperature={self.temperature}: must be >= 0 (0 is greedy)")
        if self.top_k < 0:
            problems.append(f"top_k={self.top_k}: must be >= 0 (0 keeps every token)")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p={self.top_p}: must be in (0, 1] (1 keeps every token)")
        if self.repetition_penalty < 1:
            problems.append(
                f"repetition_penalty={self.repetition_penalty}: must be >= 1 (1 is off)"
            )
        if self.no_repeat_ngram < 0 or self.no_repeat_ngram == 1:
            problems.append(
                f"no_repeat_ngram={self.no_repeat_ngram}: must be 0 (off) or >= 2 tokens"
            )
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def sampling_temperature(self) -> float:
        """The temperature tokens are drawn at; 0 for greedy decoding."""
        if self.temperature == 0 and (self.top_k > 0 or self.top_p < 1):
            return 1.0
        return self.temperature

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Sampling:
        """The options present in ``cfg`` (other keys are ignored here)."""
        kinds = {"temperature": float, "top_p": float, "repetition_penalty": float}
        values = {}
        for f in fields(cls):
            if cfg.get(f.name) is not None:
                values[f.name] = kinds.get(f.name, int)(cfg.get(f.name))
        return cls(**values)


#: the option names, as config keys
SAMPLING_KEYS = tuple(f.name for f in fields(Sampling))


def banned_by_ngrams(history: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already present in ``history``."""
    if n < 2 or len(history) < n - 1:
        return set()
    start = tuple(history[len(history) - n + 1 :])
    return {
        history[i + n - 1]
        for i in range(len(history) - n + 1)
        if tuple(history[i : i + n - 1]) == start
    }


def filter_logits(logits: Tensor, history: Sequence[int], s: Sampling) -> Tensor:
    """Logits with the repetition guard and the top-k / top-p filters applied (removed
    tokens get ``-inf``); ``logits`` is a 1-D float tensor."""
    out = logits.clone()
    if s.repetition_penalty != 1 and history:
        seen = torch.tensor(sorted(set(history)), dtype=torch.long)
        values = out[seen]
        out[seen] = torch.where(
            values > 0, values / s.repetition_penalty, values * s.repetition_penalty
        )
    banned = banned_by_ngrams(history, s.no_repeat_ngram)
    if banned and len(banned) < out.numel():  # never ban every token
        out[torch.tensor(sorted(banned), dtype=torch.long)] = float("-inf")
    if 0 < s.top_k < out.numel():
        kth = torch.topk(out, s.top_k).values[-1]
        out[out < kth] = float("-inf")
    if s.top_p < 1:
        probs = out.softmax(dim=-1)
        order = probs.argsort(descending=True)
        before = probs[order].cumsum(dim=-1) - probs[order]  # mass of the tokens ahead
        drop = order[before >= s.top_p]  # the most likely token is always kept
        out[drop] = float("-inf")
    return out


def next_token(
    logits: Tensor,
    history: Sequence[int],
    sampling: Sampling,
    generator: torch.Generator | None = None,
) -> int:
    """The next token id: the best remaining token (greedy) or a draw from the remaining
    tokens at ``sampling.temperature``."""
    filtered = filter_logits(logits.detach().float().cpu(), history, sampling)
    temperature = sampling.sampling_temperature
    if temperature == 0:
        return int(filtered.argmax())
    probs = (filtered / temperature).softmax(dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
