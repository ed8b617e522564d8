"""Byte-pair encoding, the book's 15.6.2: start from single characters plus an end-of-word
mark ``_``, and repeatedly merge the most frequent adjacent pair of symbols (counted over
the words, weighted by how often each word occurs) into a new symbol. A word is then cut
greedily into the longest learned symbols from its start, so a rare or unseen word becomes
a few frequent pieces ("tallest_" -> "tall", "e", "s", "t", "_") instead of ``<unk>``.

Learning keeps the pair counts up to date as merges happen (only the words holding the
merged pair are recounted), so tens of thousands of word types and thousands of merges take
seconds. Ties go to the pair seen first in the words' order, as in the book.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

END = "_"  # the end-of-word mark
UNKNOWN = "[UNK]"


class BytePairEncoding:
    """Learned symbols (characters first, then merges in order) and the greedy segmenter.

    Args:
        symbols: the symbols to start from (the book: a-z, ``_`` and ``[UNK]``).
        merges: the pairs merged, in order (empty before :meth:`learn`).
    """

    def __init__(self, symbols: Sequence[str], merges: Sequence[tuple[str, str]] = ()) -> None:
        self.symbols = list(symbols)
        self.merges = [tuple(m) for m in merges]
        self._known = set(self.symbols)
        self._longest = max((len(s) for s in self.symbols), default=1)
        self._segmented: dict[str, list[str]] = {}

    @classmethod
    def from_words(
        cls, word_freqs: Mapping[str, int], num_merges: int, symbols: Iterable[str] | None = None
    ) -> BytePairEncoding:
        """Learn ``num_merges`` merges on words with their frequencies (``_`` is added to
        each word). The starting symbols default to every character seen, ``_`` and
        ``[UNK]``."""
        if symbols is None:
            chars = sorted({c for w in word_freqs for c in w})
            symbols = [*chars, END, UNKNOWN]
        bpe = cls(list(symbols))
        bpe.learn(word_freqs, num_merges)
        return bpe

    def learn(self, word_freqs: Mapping[str, int], num_merges: int) -> None:
        """Merge the most frequent adjacent pair ``num_merges`` times (fewer if no pair is
        left), appending each new symbol."""
        words = [list(w + END) for w in word_freqs]
        freqs = list(word_freqs.values())
        counts: dict[tuple[str, str], int] = defaultdict(int)
        where: dict[tuple[str, str], set[int]] = defaultdict(set)
        # where a pair was first seen (word, position): ties go to the earliest, as the
        # book's scan of the words in order finds them
        order: dict[tuple[str, str], tuple[int, int]] = {}
        heap: list[tuple[int, tuple[int, int], tuple[str, str]]] = []

        def count(i: int, sign: int, changed: set[tuple[str, str]]) -> None:
            for position, pair in enumerate(zip(words[i], words[i][1:], strict=False)):
                counts[pair] += sign * freqs[i]
                changed.add(pair)
                if sign > 0:
                    where[pair].add(i)
                    order.setdefault(pair, (i, position))

        def push(changed: set[tuple[str, str]]) -> None:
            for pair in changed:  # each pair's current count (older entries go stale)
                if counts[pair] > 0:
                    heapq.heappush(heap, (-counts[pair], order[pair], pair))

        changed: set[tuple[str, str]] = set()
        for i in range(len(words)):
            count(i, +1, changed)
        push(changed)
        for _ in range(num_merges):
            while heap and -heap[0][0] != counts[heap[0][2]]:
                heapq.heappop(heap)  # stale: the count changed since it was pushed
            if not heap:
                break
            pair = heapq.heappop(heap)[2]
            merged = pair[0] + pair[1]
            changed = set()
            for i in sorted(where.pop(pair, ())):
                count(i, -1, changed)
                words[i] = merge_pair(words[i], pair, merged)
                count(i, +1, changed)
            counts[pair] = 0
            changed.discard(pair)
            push(changed)
            self.merges.append(pair)
            self.add_symbol(merged)

    def add_symbol(self, symbol: str) -> None:
        if symbol not in self._known:
            self.symbols.append(symbol)
            self._known.add(symbol)
            self._longest = max(self._longest, len(symbol))
            self._segmented.clear()

    def segment(self, word: str) -> list[str]:
        """The book's greedy cut of ``word`` (its ``_`` included if given) into the longest
        known symbols from the left; a character no symbol covers becomes ``[UNK]``."""
        if word in self._segmented:
            return self._segmented[word]
        pieces, start = [], 0
        while start < len(word):
            for end in range(min(len(word), start + self._longest), start, -1):
                if word[start:end] in self._known:
                    pieces.append(word[start:end])
                    start = end
                    break
            else:
                pieces.append(UNKNOWN)
                start += 1
        self._segmented[word] = pieces
        return pieces

    def tokenize(self, words: Iterable[str]) -> list[str]:
        """Subword tokens of a sentence's words, each word ending in ``_``."""
        return [piece for w in words for piece in self.segment(w + END)]

    def state_dict(self) -> dict[str, list]:
        return {"symbols": list(self.symbols), "merges": [list(m) for m in self.merges]}

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Sequence]) -> BytePairEncoding:
        return cls(list(state["symbols"]), [tuple(m) for m in state["merges"]])


def merge_pair(symbols: list[str], pair: tuple[str, str], merged: str) -> list[str]:
    """``symbols`` with every non-overlapping occurrence of ``pair`` replaced, left to right."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
            out.append(merged)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out
