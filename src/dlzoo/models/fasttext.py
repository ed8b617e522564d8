"""fastText's subword embeddings, the book's 15.6: a word's vector is the mean of its own
vector and the vectors of its character n-grams (3 to 6 characters of ``<word>``, the angle
brackets marking its start and end), trained as skip-gram with negative sampling. Words
that share pieces ("where", "here") share parameters, and a word never seen in training
still gets a vector from its n-grams.

The n-grams are hashed into ``buckets`` rows (FNV-1a, as fastText does), so the table's size
does not depend on how many distinct n-grams the corpus holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.word2vec import Word2Vec


def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[str]:
    """The n-grams of ``<word>`` for n in min_n..max_n (the whole ``<word>`` left out: the
    word has its own vector)."""
    marked = f"<{word}>"
    return [
        marked[i : i + n]
        for n in range(min_n, max_n + 1)
        for i in range(len(marked) - n + 1)
        if marked[i : i + n] != marked
    ]


def fnv1a(text: str) -> int:
    """The 32-bit FNV-1a hash of the text's UTF-8 bytes (fastText's n-gram hash)."""
    h = 2166136261
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


class SubwordEmbedding(nn.Module):
    """Word ids -> the mean of each word's own row and its n-gram rows."""

    def __init__(
        self, tokens: Sequence[str], dim: int, min_n: int, max_n: int, buckets: int, sparse: bool
    ) -> None:
        super().__init__()
        self.vocab_size, self.min_n, self.max_n, self.buckets = len(tokens), min_n, max_n, buckets
        self.pad = len(tokens) + buckets  # an all-zero row that pads short n-gram lists
        rows = [self.pieces(w, i) for i, w in enumerate(tokens)]
        width = max(len(r) for r in rows)
        table = torch.full((len(rows), width), self.pad, dtype=torch.long)
        for i, r in enumerate(rows):
            table[i, : len(r)] = torch.tensor(r)
        self.register_buffer("subwords", table, persistent=False)
        self.bag = nn.EmbeddingBag(
            self.pad + 1, dim, mode="mean", sparse=sparse, padding_idx=self.pad
        )
        nn.init.uniform_(self.bag.weight, -1.0 / dim, 1.0 / dim)
        with torch.no_grad():
            self.bag.weight[self.pad].zero_()

    def pieces(self, word: str, word_id: int | None = None) -> list[int]:
        """Row ids of a word: its own (when it has one; ``<unk>``, id 0, is only itself)
        and its hashed n-grams."""
        own = [] if word_id is None else [word_id]
        if word_id == 0:
            return own
        grams = char_ngrams(word, self.min_n, self.max_n)
        return own + [self.vocab_size + fnv1a(g) % self.buckets for g in grams]

    def forward(self, ids: Tensor) -> Tensor:
        return self.bag(self.subwords[ids])

    def word_vector(self, word: str) -> Tensor:
        """A vector for any word, listed or not, from its n-grams."""
        pieces = self.pieces(word) or [self.pad]
        return self.bag(torch.tensor([pieces], device=self.bag.weight.device))[0].detach()


class FastText(Word2Vec):
    """Skip-gram with negative sampling whose centre vectors are subword sums.

    Args:
        tokens: the vocabulary's words (their n-grams are the subwords).
        min_n, max_n: the n-gram lengths (fastText's and the book's: 3 to 6).
        buckets: rows the n-grams are hashed into (fastText: 2 million; 200,000 here fit a
            CPU's memory with few collisions on a vocabulary of tens of thousands).
        The rest as :class:`~dlzoo.models.word2vec.Word2Vec`.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        counts: Sequence[int],
        tokens: Sequence[str] = (),
        examples: str = "windows",
        embedding_dim: int = 100,
        num_noise: int = 5,
        min_n: int = 3,
        max_n: int = 6,
        buckets: int = 200_000,
        sparse: bool = False,
    ) -> None:
        if len(tokens) != num_outputs:
            raise ConfigError(f"fastText needs the vocabulary's words: got {len(tokens)} "
                              f"for {num_outputs} ids")  # fmt: skip
        if not (isinstance(min_n, int) and isinstance(max_n, int) and 1 <= min_n <= max_n):
            raise ConfigError(
                f"model.net.min_n={min_n!r}, model.net.max_n={max_n!r}: need 1 <= min_n <= max_n"
            )
        if not isinstance(buckets, int) or buckets < 1:
            raise ConfigError(f"model.net.buckets={buckets!r}: must be an integer >= 1")
        super().__init__(
            input_shape, num_outputs, counts, tokens, examples, "skipgram",
            "negative_sampling", embedding_dim, num_noise, sparse,
        )  # fmt: skip
        self.centre = SubwordEmbedding(tokens, embedding_dim, min_n, max_n, buckets, bool(sparse))

    def vectors(self) -> Tensor:
        """Every listed word's vector (own row and n-grams)."""
        ids = torch.arange(self.centre.vocab_size, device=self.centre.subwords.device)
        with torch.no_grad():
            return torch.cat([self.centre(chunk) for chunk in ids.split(4096)])

    def word_vector(self, word: str) -> Tensor:
        """A vector from the word's n-grams alone: what an unlisted word gets (listed words
        have theirs in :meth:`vectors`)."""
        return self.centre.word_vector(word)
