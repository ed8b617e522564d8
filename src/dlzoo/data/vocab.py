"""Text preprocessing, tokenisation and the vocabulary that maps tokens to indices."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

UNK = "<unk>"
PREPROCESSINGS = ("letters", "lower", "none")
TOKENIZERS = ("char", "word")
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


def preprocess(text: str, mode: str = "letters") -> str:
    """``letters`` (the d2l book's): every run of non-letters becomes one space, lower case;
    ``lower``: lower case only; ``none``: the text as it is."""
    if mode == "letters":
        return re.sub("[^A-Za-z]+", " ", text).lower()
    if mode == "lower":
        return text.lower()
    if mode == "none":
        return text
    raise ConfigError(
        f"data.preprocessing={mode!r} is unknown; choose one of {list(PREPROCESSINGS)}"
    )


def tokenize(text: str, tokenizer: str = "char") -> list[str]:
    """Characters, or whitespace-separated words."""
    if tokenizer == "char":
        return list(text)
    if tokenizer == "word":
        return text.split()
    raise ConfigError(f"data.tokenizer={tokenizer!r} is unknown; choose one of {list(TOKENIZERS)}")


class Vocab:
    """Token <-> index mapping; index 0 is ``<unk>``, which every unknown token maps to.

    Stored in checkpoints as ``to_dict()`` (plain strings only, so ``weights_only`` loading
    works) and rebuilt with ``Vocab.from_dict``.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = [t for t in tokens if t != UNK]
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.idx_to_token: list[str] = [UNK, *tokens]
        self.token_to_idx: dict[str, int] = {t: i for i, t in enumerate(self.idx_to_token)}

    @classmethod
    def build(cls, tokens: Iterable[str], min_freq: int = 1, reserved: Sequence[str] = ()) -> Vocab:
        """From a token stream: ``reserved`` first, then tokens seen ``min_freq`` times or
        more, most frequent first (ties alphabetical, so the order is reproducible)."""
        counts = Counter(tokens)
        frequent = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in reserved),
            key=lambda t: (-counts[t], t),
        )
        if counts and not frequent and min_freq > 1:
            log.warning(
                "no word is seen %d times (data.min_freq): every word is <unk>, and nothing "
                "can be learned from the words; lower data.min_freq (the most frequent word "
                "is seen %d times)", min_freq, max(counts.values()),
            )  # fmt: skip
        return cls([*reserved, *frequent])

    @classmethod
    def letters(cls) -> Vocab:
        """The 28-token alphabet of d2l's preprocessing: ``<unk>``, space, a-z (fixed order,
        known before any text is read)."""
        return cls([" ", *LETTERS])

    def __len__(self) -> int:
        return len(self.idx_to_token)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.idx_to_token)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.token_to_idx.get(t, 0) for t in tokens]

    def decode(self, indices: Iterable[int], sep: str = "") -> str:
        return sep.join(self.idx_to_token[int(i)] for i in indices)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": list(self.idx_to_token)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Vocab:
        tokens = state.get("tokens")
        if not isinstance(tokens, list) or not tokens or tokens[0] != UNK:
            raise DataError("malformed vocabulary: expected {'tokens': ['<unk>', ...]}")
        return cls(tokens[1:])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.idx_to_token[:8]}...)"
