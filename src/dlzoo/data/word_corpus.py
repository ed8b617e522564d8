"""A word corpus for word embeddings, the book's 15.3: sentences of word tokens, a vocabulary
of words seen ``min_freq`` times, subsampling of frequent words, and every kept word as a
centre with the words of a random context window around it.

The text comes from ``data.path`` (one sentence or paragraph a line), else the book's Penn
Treebank layout ``<data_dir>/ptb/ptb.{train,valid,test}.txt``, else the real English this
machine's package registries carry (:mod:`dlzoo.data.corpus_sources`). Sentences are split
into training, validation and test parts by a seeded shuffle; only the training part builds
the vocabulary and its counts, which checkpoints keep (prediction needs no corpus).

An example is one centre word and its context words, padded to ``2 * max_window_size``
with ``-1``: skip-gram trains on every (centre, context) pair of a batch, CBOW predicts the
centre from the mean of its contexts. Every training epoch draws a fresh subsample and fresh
windows (seeded by ``data_seed`` and the epoch, so a resumed run replays them), as word2vec
and gensim do: the same draw every epoch overfits it. Noise words for negative sampling are
drawn by the network (weights count^0.75) so each epoch sees new ones.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import (
    InMemoryDataModule,
    Split,
    check_global_batch_size,
    resolve_batch_size,
)
from dlzoo.data.batches import ResumableBatches, shard
from dlzoo.data.bpe import BytePairEncoding
from dlzoo.data.corpus_sources import CorpusText, read_corpus
from dlzoo.data.spec import DataSpec
from dlzoo.data.vocab import UNK
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
SPLITS = ("train", "val", "test")
TOKENIZERS = ("word", "bpe")


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens: letters and digits, with an apostrophe inside ("don't")."""
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class WordCorpusSpec(DataSpec):
    """Centre words with their context windows; ``tokens`` is the vocabulary (``<unk>``
    first), ``counts`` each token's frequency in the training part."""

    tokens: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    #: what an example is: ``windows`` (word2vec, fastText) or ``cooccurrence`` (GloVe)
    examples: str = "windows"
    task: str = field(default="word_embedding", init=False)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def describe(self) -> str:
        return f"a word corpus ({self.vocab_size} words)"


def keep_probabilities(counts: np.ndarray, threshold: float) -> np.ndarray:
    """The book's subsampling: a word of frequency f is kept with probability
    min(1, sqrt(t / f)), so frequent words ("the", "a") are mostly dropped."""
    freq = counts / max(counts.sum(), 1)
    with np.errstate(divide="ignore"):
        keep = np.sqrt(threshold / np.where(freq > 0, freq, np.inf))
    return np.minimum(keep, 1.0)


def context_windows(
    ids: np.ndarray, sentence: np.ndarray, max_window: int, rng: np.random.Generator
) -> np.ndarray:
    """For every position, the ids within a window of random size 1..``max_window`` on each
    side, inside the same sentence; ``-1`` pads the rest. Shape ``(len(ids), 2 * max_window)``."""
    n = len(ids)
    width = rng.integers(1, max_window + 1, size=n)
    offsets = [d for d in range(-max_window, max_window + 1) if d]
    out = np.full((n, len(offsets)), -1, dtype=np.int64)
    positions = np.arange(n)
    for column, d in enumerate(offsets):
        other = positions + d
        inside = (other >= 0) & (other < n)
        ok = np.zeros(n, dtype=bool)
        ok[inside] = (abs(d) <= width[inside]) & (sentence[other[inside]] == sentence[inside])
        out[ok, column] = ids[other[ok]]
    return out


def window_examples(
    ids: np.ndarray,
    sentence: np.ndarray,
    keep: np.ndarray,
    max_window: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Subsample a stream of word ids (each kept with probability ``keep[id]``), then every
    kept word that has a context becomes a centre with its window of context words."""
    kept = rng.random(len(ids)) < keep[ids]
    ids, sentence = ids[kept], sentence[kept]
    contexts = context_windows(ids, sentence, max_window, rng)
    has_context = (contexts >= 0).any(axis=1)
    return ids[has_context], contexts[has_context]


class WindowBatches(ResumableBatches):
    """Training batches of a fresh draw every epoch: ``draw(epoch)`` gives that epoch's
    example tensors (word2vec's centres and contexts, BERT's masked pairs), the same for the
    same epoch (so a resumed run replays it). Each
    epoch serves ``num_examples`` of them (the count varies a little between draws; a short
    draw wraps around) so every epoch has the same number of steps."""

    def __init__(
        self,
        draw: Callable[[int], tuple[Tensor, ...]],
        num_examples: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(seed, rank, world_size)
        self.draw, self.num_examples, self.batch_size = draw, num_examples, batch_size

    def __len__(self) -> int:
        share = -(-self.num_examples // self.world_size)
        return -(-share // self.batch_size)

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[tuple[Tensor, ...]]:
        examples = self.draw(epoch)
        order = torch.randperm(len(examples[0]), generator=self.generator(epoch))
        order = order.repeat(-(-self.num_examples // len(order)))[: self.num_examples]
        order = shard(order, self.rank, self.world_size, "pad")
        for first in range(start * self.batch_size, len(order), self.batch_size):
            idx = order[first : first + self.batch_size]
            yield tuple(tensor[idx] for tensor in examples)


def fresh_draw_loader(
    datamodule: InMemoryDataModule, draw: Callable[[int], tuple[Tensor, ...]]
) -> WindowBatches:
    """The training loader of a datamodule that draws new examples every epoch (``draw``),
    as many per epoch as its training split (epoch 0's draw), sharded under DDP."""
    rank, world = datamodule._world()
    count = len(datamodule.splits["train"][0])
    size = resolve_batch_size(datamodule.batch_size, count)
    if world > 1:
        check_global_batch_size(size, world)
        size //= world
    loader = WindowBatches(draw, count, size, datamodule.seed, rank, world)
    return datamodule.follow_trainer_epochs(loader)


class WordCorpusDataModule(InMemoryDataModule):
    """Centre words and their context windows from a word corpus.

    (``examples_kind`` names what an example is, for the networks to check.)

    Args:
        path: a UTF-8 text file, one sentence (or paragraph) a line; ``None``: the book's
            PTB files in ``data_dir``, else the offline sources named by ``sources``.
        data_dir: the datasets' folder (``<data_dir>/ptb``).
        sources: which offline sources to read when there is no path or PTB: any of
            ``wikipedia`` (gensim's sample), ``kjv`` (Debian's bible-kjv), ``foldoc``
            (Debian's dict-foldoc); those not installed are left out and named.
        min_freq: words seen fewer times in the training part are dropped (the book: 10).
        subsample_threshold: t of the subsampling (the book: 1e-4); 0 keeps every word.
        max_window_size: the largest context window on each side (the book: 5).
        val_fraction, test_fraction: shares of sentences held out.
        max_sentences: use only the first this many sentences (quick runs), or ``None``.
        tokenizer: ``word`` (the book's word tokens) or ``bpe`` (byte-pair encoding learned
            on the training words, :mod:`dlzoo.data.bpe`: subword tokens, few unknown).
        bpe_merges: merges learned with ``tokenizer=bpe``.
        split_seed: seed of the sentence split; ``data_seed``: of subsampling and windows.
    """

    examples_kind = "windows"

    def __init__(
        self,
        path: str | None = None,
        data_dir: str = "data",
        sources: list[str] | tuple[str, ...] = ("wikipedia", "kjv", "foldoc"),
        min_freq: int = 10,
        subsample_threshold: float = 1e-4,
        max_window_size: int = 5,
        val_fraction: float = 0.02,
        test_fraction: float = 0.02,
        max_sentences: int | None = None,
        tokenizer: str = "word",
        bpe_merges: int = 10_000,
        split_seed: int = 0,
        data_seed: int = 0,
        batch_size: int = 512,
        eval_batch_size: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        check_options(min_freq, subsample_threshold, max_window_size, val_fraction, test_fraction)
        self.path, self.data_dir, self.sources = path, data_dir, list(sources)
        self.min_freq = min_freq
        self.subsample_threshold = subsample_threshold
        self.max_window_size = max_window_size
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        if max_sentences is not None and (not isinstance(max_sentences, int) or max_sentences < 1):
            raise ConfigError(f"data.max_sentences={max_sentences!r}: an integer >= 1, or null")
        self.max_sentences = max_sentences
        if tokenizer not in TOKENIZERS:
            raise ConfigError(f"data.tokenizer={tokenizer!r}: choose one of {list(TOKENIZERS)}")
        if not isinstance(bpe_merges, int) or bpe_merges < 0:
            raise ConfigError(f"data.bpe_merges={bpe_merges!r}: must be an integer >= 0")
        self.tokenizer, self.bpe_merges = tokenizer, bpe_merges
        self.bpe: BytePairEncoding | None = None
        self.split_seed, self.data_seed = split_seed, data_seed
        self.source_info: dict[str, Any] = {}
        self._vocab: tuple[tuple[str, ...], tuple[int, ...]] | None = None
        self._sentences: dict[str, list[list[str]]] | None = None
        self._streams: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- the corpus --------------------------------------------------------------------------
    def sentences(self) -> dict[str, list[list[str]]]:
        """Tokenised sentences of each split (read once)."""
        if self._sentences is None:
            corpus = read_corpus(self.path, self.data_dir, self.sources)
            self.source_info = corpus.info
            self._sentences = self._split(corpus)
            if self.tokenizer == "bpe":
                self._sentences = self._byte_pairs(self._sentences)
        return self._sentences

    def _byte_pairs(self, sentences: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
        """``data.tokenizer=bpe``: merges learned on the training words, then every split's
        words cut into those subwords (each word's last piece ends in ``_``)."""
        freqs = Counter(w for s in sentences["train"] for w in s)
        self.bpe = BytePairEncoding.from_words(freqs, self.bpe_merges)
        self.source_info["bpe"] = {"merges": len(self.bpe.merges), "symbols": len(self.bpe.symbols)}
        return {k: [self.bpe.tokenize(s) for s in v] for k, v in sentences.items()}

    def _split(self, corpus: CorpusText) -> dict[str, list[list[str]]]:
        if corpus.splits is not None:  # the book's PTB files come split
            return {k: [word_tokens(s) for s in v] for k, v in corpus.splits.items()}
        lines = corpus.lines[: self.max_sentences] if self.max_sentences else corpus.lines
        if self.max_sentences:  # the sources above are counted whole; say what was used
            self.source_info["used_sentences"] = len(lines)
        tokenised = [t for t in (word_tokens(line) for line in lines) if t]
        order = np.random.default_rng(self.split_seed).permutation(len(tokenised))
        n_test = int(round(self.test_fraction * len(tokenised)))
        n_val = int(round(self.val_fraction * len(tokenised)))
        parts = {
            "test": order[:n_test],
            "val": order[n_test : n_test + n_val],
            "train": order[n_test + n_val :],
        }
        return {k: [tokenised[i] for i in sorted(v)] for k, v in parts.items()}

    def vocabulary(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Tokens (``<unk>`` first, then by count) and their training counts: from a
        restored checkpoint, else counted on the training sentences."""
        if self._vocab is None and self.restored_state.get("tokens"):
            state = self.restored_state
            self._vocab = (tuple(state["tokens"]), tuple(int(c) for c in state["counts"]))
        if self._vocab is None:
            counts = Counter(w for s in self.sentences()["train"] for w in s)
            kept = sorted((w for w, c in counts.items() if c >= self.min_freq and w != UNK),
                          key=lambda w: (-counts[w], w))  # fmt: skip
            if not kept:
                raise DataError(
                    f"no word of the training sentences is seen data.min_freq="
                    f"{self.min_freq} times: lower data.min_freq or use a larger corpus"
                )
            self._vocab = ((UNK, *kept), (0, *(counts[w] for w in kept)))
            self.source_info["vocabulary"] = len(kept) + 1
            self.source_info["train_words"] = sum(counts.values())
        return self._vocab

    @property
    def spec(self) -> WordCorpusSpec:
        tokens, counts = self.vocabulary()
        return WordCorpusSpec((2 * self.max_window_size,), tokens=tokens, counts=counts,
                              examples=self.examples_kind)  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        tokens, counts = self.vocabulary()
        state: dict[str, Any] = {"tokens": list(tokens), "counts": list(counts)}
        if self.bpe is not None:
            state["bpe"] = self.bpe.state_dict()
        return state

    # -- examples ------------------------------------------------------------------------------
    def load_splits(self) -> dict[str, Split]:
        """Validation and test examples are drawn once; the training split held here is
        epoch 0's (the training loader draws a fresh subsample and fresh windows every
        epoch, as word2vec and gensim do)."""
        splits = {}
        for number, name in enumerate(SPLITS):
            rng = np.random.default_rng([self.data_seed, 0, number])  # train: epoch 0's
            centres, contexts = window_examples(*self.token_stream(name), self._keep(),
                                                self.max_window_size, rng)  # fmt: skip
            if len(centres) == 0:
                raise DataError(f"the {name} split holds no word pairs: use a larger corpus")
            splits[name] = (torch.from_numpy(centres), torch.from_numpy(contexts))
        self.source_info["examples"] = {k: len(v[0]) for k, v in splits.items()}
        log.info("word corpus: %s", self.source_info)
        return splits

    def token_stream(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """A split's word ids end to end, and the sentence each belongs to."""
        if split not in self._streams:
            index = {w: i for i, w in enumerate(self.vocabulary()[0])}
            sentences = self.sentences()[split]
            ids = np.fromiter((index.get(w, 0) for s in sentences for w in s), dtype=np.int64)
            sentence = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
            self._streams[split] = (ids, sentence)
        return self._streams[split]

    def _keep(self) -> np.ndarray:
        counts = np.asarray(self.vocabulary()[1], dtype=np.float64)
        if self.subsample_threshold <= 0:
            keep = np.ones_like(counts)
        else:
            keep = keep_probabilities(counts, self.subsample_threshold)
        keep[0] = 0.0  # unknown words are dropped, as the book does
        return keep

    def train_dataloader(self) -> ResumableBatches:
        self.setup()
        draw = partial(self._train_examples, *self.token_stream("train"), self._keep())
        return fresh_draw_loader(self, draw)

    def _train_examples(
        self, ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, epoch: int
    ) -> tuple[Tensor, Tensor]:
        if epoch == 0:
            return self.splits["train"]
        rng = np.random.default_rng([self.data_seed, epoch, 0])
        centres, contexts = window_examples(ids, sentence, keep, self.max_window_size, rng)
        return torch.from_numpy(centres), torch.from_numpy(contexts)

    def split_targets(self, split: str) -> Tensor:
        self.setup()
        return self.splits[split][0]


def check_options(
    min_freq: int, threshold: float, window: int, val_fraction: float, test_fraction: float
) -> None:
    problems = []
    if not isinstance(min_freq, int) or min_freq < 1:
        problems.append(f"data.min_freq={min_freq!r}: must be an integer >= 1")
    if not isinstance(threshold, int | float) or threshold < 0:
        problems.append(f"data.subsample_threshold={threshold!r}: must be a number >= 0")
    if not isinstance(window, int) or window < 1:
        problems.append(f"data.max_window_size={window!r}: must be an integer >= 1")
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(value, int | float) or not 0 < value < 0.5:
            problems.append(f"data.{key}={value!r}: must be a fraction in (0, 0.5)")
    if problems:
        raise ConfigError("; ".join(problems))
