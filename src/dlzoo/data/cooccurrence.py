"""Global co-occurrence counts for GloVe (the book's 15.5), from the same corpus, vocabulary
and sentence split as word2vec's windows (:mod:`dlzoo.data.word_corpus`).

Two words d positions apart inside a sentence add 1/d to their count (GloVe's distance
weighting), both ways round, for d up to ``max_window_size``; unknown words are left out
first. An example is one non-zero entry: (row word, column word, count).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.word_corpus import SPLITS, WordCorpusDataModule
from dlzoo.errors import DataError


def cooccurrence_counts(
    ids: np.ndarray, sentence: np.ndarray, max_window: int, vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero entries (rows, cols, counts) of the distance-weighted co-occurrence
    matrix of a stream of word ids (id 0, the unknown word, left out)."""
    known = ids > 0
    ids, sentence = ids[known], sentence[known]
    keys, weights = [], []
    for d in range(1, max_window + 1):
        same = sentence[d:] == sentence[:-d]
        left, right = ids[:-d][same], ids[d:][same]
        keys += [left * vocab_size + right, right * vocab_size + left]
        weights += [np.full(2 * len(left), 1.0 / d)]
    if not keys or not sum(len(k) for k in keys):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    unique, where = np.unique(np.concatenate(keys), return_inverse=True)
    totals = np.bincount(where, weights=np.concatenate(weights))
    return unique // vocab_size, unique % vocab_size, totals


class CooccurrenceDataModule(WordCorpusDataModule):
    """GloVe's examples: the non-zero co-occurrence counts of the training sentences (the
    options are word2vec's; ``subsample_threshold`` is not used: GloVe's weighting does that
    job). ``val_fraction`` and ``test_fraction`` of the word pairs are held out of training
    (both orders of a pair together): ``val/loss`` asks how well the vectors predict counts
    they were not fitted to. (Counts from held-out sentences are too noisy for that: most
    pairs there are seen once or twice.)"""

    examples_kind = "cooccurrence"
    # the entries are fixed: served in a new order every epoch like any in-memory split
    train_dataloader = InMemoryDataModule.train_dataloader

    def load_splits(self) -> dict[str, Split]:
        vocab_size = len(self.vocabulary()[0])
        ids, sentence = self.token_stream("train")
        rows, cols, counts = cooccurrence_counts(ids, sentence, self.max_window_size, vocab_size)
        part = held_out_part(rows, cols, vocab_size, self.val_fraction, self.test_fraction,
                             self.split_seed)  # fmt: skip
        splits = {}
        for number, name in enumerate(SPLITS):
            chosen = part == number
            if not chosen.any():
                raise DataError(f"the {name} split holds no word pairs: use a larger corpus")
            splits[name] = (
                torch.from_numpy(rows[chosen]),
                torch.from_numpy(cols[chosen]),
                torch.from_numpy(counts[chosen]).float(),
            )
        self.source_info["examples"] = {k: len(v[0]) for k, v in splits.items()}
        return splits  # type: ignore[return-value]

    def split_targets(self, split: str) -> Tensor:
        """The counts (what an untrained GloVe's loss is measured on)."""
        self.setup()
        return self.splits[split][2]  # type: ignore[misc]


def held_out_part(
    rows: np.ndarray, cols: np.ndarray, vocab_size: int, val: float, test: float, seed: int
) -> np.ndarray:
    """0 (train), 1 (val) or 2 (test) for every entry, drawn once per unordered pair so
    (i, j) and (j, i) land in the same part."""
    pair = np.minimum(rows, cols) * vocab_size + np.maximum(rows, cols)
    unique, where = np.unique(pair, return_inverse=True)
    draw = np.random.default_rng(seed).random(len(unique))
    part = np.where(draw < val, 1, np.where(draw < val + test, 2, 0))
    return part[where]
