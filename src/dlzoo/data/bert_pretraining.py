"""BERT's pretraining data, the book's 15.9: sentence pairs for next-sentence prediction
(half the second sentences follow the first, half are drawn at random) and masked-language-
model targets (15 % of the tokens: 80 % of those become ``<mask>``, 10 % a random word,
10 % stay as they are).

Documents (consecutive sentences) come from :func:`dlzoo.data.corpus_sources.read_documents`:
``data.path`` (one paragraph a line), the book's WikiText-2, or the offline sources. They
are split into training, validation and test documents by a seeded shuffle (WikiText-2 comes
split); only training documents build the vocabulary, which checkpoints keep.

A random second sentence comes from a document of the same source as the first (with three
sources of distinct styles, a sentence from another source would make the task trivial).
Every training epoch draws fresh pairs and fresh masks (seeded by ``data_seed`` and the
epoch, so a resumed run replays them); validation and test are drawn once. A pair longer
than ``max_len`` loses words from the end of its longer sentence (the book drops such pairs;
cut, every sentence is used).

An example is seven tensors: token ids ``(max_len,)`` as ``<cls> a <sep> b <sep>`` then
padding, segment ids (0 for ``<cls> a <sep>``, 1 for ``b <sep>``), the valid length, the
masked positions, their weights (1 for a real prediction, 0 for padding), the original ids
there, and the NSP label (Hugging Face's convention: 0 = ``b`` follows ``a``, 1 = random).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data import text_sources
from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.corpus_sources import DocumentCorpus, read_documents
from dlzoo.data.spec import DataSpec
from dlzoo.data.text_sources import LabelledTexts
from dlzoo.data.word_corpus import WindowBatches, fresh_draw_loader, word_tokens
from dlzoo.errors import ConfigError, DataError
from dlzoo.utils.checkpoint_files import checkpoint_of, load_checkpoint

log = logging.getLogger(__name__)

#: the special tokens, first in every vocabulary, in this order
SPECIALS = ("<pad>", "<unk>", "<cls>", "<sep>", "<mask>")
PAD, UNK, CLS, SEP, MASK = range(len(SPECIALS))
IS_NEXT, RANDOM_NEXT = 0, 1
SPLITS = ("train", "val", "test")
#: fine-tuning datasets whose training words the vocabulary can cover
COVERABLE: dict[str, Callable[[str], LabelledTexts]] = {
    "rotten_tomatoes": lambda data_dir: text_sources.rotten_tomatoes(),
    "imdb": text_sources.imdb,
    "snli": text_sources.snli,
}


@dataclass(frozen=True)
class PretrainingSpec(DataSpec):
    """Masked sentence pairs of ``input_shape[0]`` tokens; ``tokens`` is the vocabulary
    (the specials first)."""

    tokens: tuple[str, ...] = ()
    max_predictions: int = 1
    task: str = field(default="pretraining", init=False)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def describe(self) -> str:
        return f"masked sentence pairs ({self.vocab_size} tokens)"


def encode_text(text: str, index: dict[str, int]) -> list[int]:
    """A text as ids: the book's lower-cased word tokens; ``<mask>`` as written stays a
    mask; other words not in the vocabulary are ``<unk>``."""
    ids: list[int] = []
    for i, part in enumerate(text.split(SPECIALS[MASK])):
        if i:
            ids.append(MASK)
        ids += [index.get(w, UNK) for w in word_tokens(part)]
    return ids


def pack_pair(a: np.ndarray, b: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``<cls> a <sep> b <sep>`` and its segment ids, the longer sentence cut from its end
    until the pair fits in ``max_len``."""
    la, lb = len(a), len(b)
    while la + lb + 3 > max_len:
        if la >= lb:
            la -= 1
        else:
            lb -= 1
    ids = np.concatenate([[CLS], a[:la], [SEP], b[:lb], [SEP]])
    segments = np.concatenate([np.zeros(la + 2, np.int64), np.ones(lb + 1, np.int64)])
    return ids, segments


def next_sentence_pairs(
    documents: list[list[np.ndarray]],
    sources: list[str],
    max_len: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of consecutive sentences of a document; with probability 1/2 the second
    is replaced by a random sentence of a random document of the same source. Returns
    token ids and segment ids ``(n, max_len)``, valid lengths and NSP labels."""
    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        by_source.setdefault(source, []).append(i)
    pairs, labels = [], []
    for d, doc in enumerate(documents):
        pool = by_source[sources[d]]
        for i in range(len(doc) - 1):
            first, second, label = doc[i], doc[i + 1], IS_NEXT
            if rng.random() < 0.5:
                other = documents[pool[rng.integers(len(pool))]]
                second, label = other[rng.integers(len(other))], RANDOM_NEXT
            pairs.append(pack_pair(first, second, max_len))
            labels.append(label)
    n = len(pairs)
    tokens = np.full((n, max_len), PAD, dtype=np.int64)
    segments = np.zeros((n, max_len), dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)
    for row, (ids, seg) in enumerate(pairs):
        tokens[row, : len(ids)], segments[row, : len(ids)], lengths[row] = ids, seg, len(ids)
    return tokens, segments, lengths, np.asarray(labels, dtype=np.int64)


def mask_tokens(
    tokens: np.ndarray,
    lengths: np.ndarray,
    vocab_size: int,
    max_predictions: int,
    rng: np.random.Generator,
    mask_share: float = 0.15,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The book's masking: ``round(mask_share * length)`` tokens of each pair (at least 1,
    at most ``max_predictions``), chosen among the words (not ``<cls>``, ``<sep>``,
    padding or ``<unk>``); 80 % become ``<mask>``, 10 % a random word, 10 % stay.

    Returns the masked token ids, the chosen positions ``(n, max_predictions)``, their
    weights (0 past a pair's count) and the original ids there."""
    n, width = tokens.shape
    candidate = tokens >= len(SPECIALS)
    counts = np.clip(np.rint(mask_share * lengths).astype(np.int64), 1, max_predictions)
    counts = np.minimum(counts, candidate.sum(axis=1))
    keys = np.where(candidate, rng.random((n, width)), 2.0)  # non-candidates sort last
    positions = np.argsort(keys, axis=1, kind="stable")[:, :max_predictions]
    chosen = np.arange(max_predictions)[None, :] < counts[:, None]
    positions = np.where(chosen, positions, 0)
    rows = np.arange(n)[:, None].repeat(max_predictions, axis=1)
    labels = np.where(chosen, tokens[rows, positions], PAD)
    draw = rng.random((n, max_predictions))
    random_words = rng.integers(
        len(SPECIALS), max(vocab_size, len(SPECIALS) + 1), (n, max_predictions)
    )
    replacement = np.where(draw < 0.8, MASK, np.where(draw < 0.9, random_words, labels))
    masked = tokens.copy()
    masked[rows[chosen], positions[chosen]] = replacement[chosen]
    return masked, positions, chosen.astype(np.float32), labels


def pretrained_vocabulary(path: str) -> tuple[str, ...]:
    """The vocabulary a BERT pretraining checkpoint (or run folder) was trained with."""
    checkpoint = load_checkpoint(checkpoint_of(path))
    state = checkpoint.get("BertPretrainingDataModule") or {}
    if not state.get("tokens"):
        raise ConfigError(
            f"model.pretrained={path!r} is not a BERT pretraining checkpoint (it holds no "
            f"pretraining vocabulary): give the run folder or checkpoint of python "
            f"scripts/train.py experiment=bert_pretrain"
        )
    return tuple(state["tokens"])


class BertPretrainingDataModule(InMemoryDataModule):
    """Masked sentence pairs for BERT's pretraining.

    Args:
        path: a UTF-8 text, one paragraph a line; ``None``: the book's WikiText-2 files in
            ``data_dir``, else the offline sources named by ``sources``.
        data_dir: the datasets' folder (``<data_dir>/wikitext-2``).
        sources: offline sources (``wikipedia``, ``kjv``, ``foldoc``), or ``[wikitext2]``
            for the book's download.
        max_len: tokens per pair, ``<cls>`` and both ``<sep>`` included (the book: 64).
        min_freq: words seen fewer times in the training documents are ``<unk>`` (the
            book: 5).
        mask_share: the share of tokens predicted (the book: 0.15).
        val_fraction, test_fraction: shares of documents held out.
        max_documents: only the first this many documents of each source (quick runs).
        vocabulary_covers: text-classification datasets (``rotten_tomatoes``, ``imdb``,
            ``snli``) whose training texts' words, seen ``min_freq`` times there, join the
            vocabulary, so fine-tuning on them does not read their words as ``<unk>`` (their
            texts are not pretrained on, and their labels are never read).
        unlabelled_texts: text-classification datasets whose training texts (labels
            dropped; never their validation or test texts) join the training documents,
            ``texts_per_document`` consecutive texts a document: pretraining on the
            fine-tuning domain ("task-adaptive pretraining"). Validation and test documents
            stay the corpus's own.
        split_seed: seed of the document split; ``data_seed``: of the pairs and masks.
    """

    def __init__(
        self,
        path: str | None = None,
        data_dir: str = "data",
        sources: list[str] | tuple[str, ...] = ("wikipedia", "kjv", "foldoc"),
        max_len: int = 64,
        min_freq: int = 5,
        mask_share: float = 0.15,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        max_documents: int | None = None,
        vocabulary_covers: list[str] | tuple[str, ...] = (),
        unlabelled_texts: list[str] | tuple[str, ...] = (),
        texts_per_document: int = 8,
        split_seed: int = 0,
        data_seed: int = 0,
        batch_size: int = 512,
        eval_batch_size: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        check_options(max_len, min_freq, mask_share, val_fraction, test_fraction, max_documents)
        self.path, self.data_dir, self.sources = path, data_dir, list(sources)
        self.max_len, self.min_freq, self.mask_share = max_len, min_freq, mask_share
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.max_documents = max_documents
        for key, names in (("vocabulary_covers", vocabulary_covers),
                           ("unlabelled_texts", unlabelled_texts)):  # fmt: skip
            unknown = [name for name in names if name not in COVERABLE]
            if unknown:
                raise ConfigError(f"data.{key}={list(names)}: {unknown[0]!r} is not one of "
                                  f"{list(COVERABLE)}")  # fmt: skip
        if not isinstance(texts_per_document, int) or texts_per_document < 2:
            raise ConfigError(f"data.texts_per_document={texts_per_document!r}: an integer >= 2 "
                              f"(a pair needs two sentences)")  # fmt: skip
        self.vocabulary_covers = list(vocabulary_covers)
        self.unlabelled_texts = list(unlabelled_texts)
        self.texts_per_document = texts_per_document
        self.split_seed, self.data_seed = split_seed, data_seed
        self.max_predictions = max(1, round(max_len * mask_share))
        self.source_info: dict[str, Any] = {}
        self._tokens: tuple[str, ...] | None = None
        self._documents: dict[str, tuple[list[list[list[str]]], list[str]]] | None = None
        self._ids: dict[str, list[list[np.ndarray]]] = {}

    # -- documents and vocabulary -------------------------------------------------------------
    def documents(self) -> dict[str, tuple[list[list[list[str]]], list[str]]]:
        """Each split's tokenised documents (sentences of words) and their sources."""
        if self._documents is None:
            corpus = read_documents(self.path, self.data_dir, self.sources)
            self.source_info = corpus.info
            self._documents = self._split(corpus)
        return self._documents

    def _split(self, corpus: DocumentCorpus) -> dict[str, tuple[list, list[str]]]:
        def tokenise(docs: list[list[str]], sources: list[str]) -> tuple[list, list[str]]:
            kept = [
                ([t for t in map(word_tokens, d) if t], s)
                for d, s in zip(docs, sources, strict=True)
            ]
            kept = [(d, s) for d, s in kept if len(d) >= 2]  # a pair needs two sentences
            return [d for d, _ in kept], [s for _, s in kept]

        if corpus.splits is not None:
            out = {k: tokenise(v, ["wikitext2"] * len(v)) for k, v in corpus.splits.items()}
        else:
            out = self._split_documents(*tokenise(*self._kept(corpus)))
        extra_docs, extra_sources = tokenise(*self._unlabelled_documents())
        out["train"] = (out["train"][0] + extra_docs, out["train"][1] + extra_sources)
        self.source_info["documents_used"] = {k: len(v[0]) for k, v in out.items()}
        for name, (split_docs, _) in out.items():
            if not split_docs:
                raise DataError(f"the {name} split holds no document of two or more "
                                f"sentences: use a larger corpus")  # fmt: skip
        return out

    def _kept(self, corpus: DocumentCorpus) -> tuple[list, list[str]]:
        docs, sources = corpus.documents, corpus.sources
        if self.max_documents:
            keep = first_of_each(sources, self.max_documents)
            docs, sources = [docs[i] for i in keep], [sources[i] for i in keep]
        return docs, sources

    def _split_documents(self, docs: list, sources: list[str]) -> dict[str, tuple[list, list]]:
        order = np.random.default_rng(self.split_seed).permutation(len(docs))
        n_test = max(1, int(round(self.test_fraction * len(docs))))
        n_val = max(1, int(round(self.val_fraction * len(docs))))
        parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val],
                 "train": order[n_test + n_val :]}  # fmt: skip
        return {k: ([docs[i] for i in sorted(v)], [sources[i] for i in sorted(v)])
                for k, v in parts.items()}  # fmt: skip

    def _unlabelled_documents(self) -> tuple[list[list[str]], list[str]]:
        """The ``unlabelled_texts`` datasets' training texts, in their order, cut into
        documents of ``texts_per_document`` texts (each text a sentence)."""
        docs: list[list[str]] = []
        sources: list[str] = []
        size = self.texts_per_document
        for name in self.unlabelled_texts:
            texts = [t for row, _ in COVERABLE[name](self.data_dir).splits["train"] for t in row]
            chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
            docs += chunks
            sources += [name] * len(chunks)
            self.source_info.setdefault("unlabelled_texts", {})[name] = len(texts)
        return docs, sources

    def vocabulary(self) -> tuple[str, ...]:
        """The specials, then the training words seen ``min_freq`` times, most frequent
        first: from a restored checkpoint, else counted on the training documents."""
        if self._tokens is None and self.restored_state.get("tokens"):
            self._tokens = tuple(self.restored_state["tokens"])
        if self._tokens is None:
            train = self.documents()["train"][0]
            counts = Counter(w for d in train for s in d for w in s)
            kept = sorted((w for w, c in counts.items() if c >= self.min_freq and w not in SPECIALS),
                          key=lambda w: (-counts[w], w))  # fmt: skip
            if not kept:
                raise DataError(f"no word of the training documents is seen data.min_freq="
                                f"{self.min_freq} times: lower it or use a larger corpus")  # fmt: skip
            covered = self._covered_words(set(kept))
            self._tokens = (*SPECIALS, *kept, *covered)
            self.source_info["vocabulary"] = len(self._tokens)
            self.source_info["train_words"] = sum(counts.values())
        return self._tokens

    def _covered_words(self, known: set[str]) -> list[str]:
        """Words of the fine-tuning datasets' training texts the corpus lacks."""
        added: list[str] = []
        for name in self.vocabulary_covers:
            texts = COVERABLE[name](self.data_dir).splits["train"]
            counts = Counter(w for row, _ in texts for t in row for w in word_tokens(t))
            new = sorted((w for w, c in counts.items() if c >= self.min_freq and w not in known),
                         key=lambda w: (-counts[w], w))  # fmt: skip
            known.update(new)
            added += new
            self.source_info.setdefault("vocabulary_covers", {})[name] = len(new)
        return added

    @property
    def spec(self) -> PretrainingSpec:
        return PretrainingSpec((self.max_len,), tokens=self.vocabulary(),
                               max_predictions=self.max_predictions)  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        return {"tokens": list(self.vocabulary()), "tokenizer": "word", "max_len": self.max_len}

    # -- examples -------------------------------------------------------------------------------
    def document_ids(self, split: str) -> list[list[np.ndarray]]:
        if split not in self._ids:
            index = {w: i for i, w in enumerate(self.vocabulary())}
            self._ids[split] = [
                [np.fromiter((index.get(w, UNK) for w in s), dtype=np.int64) for s in doc]
                for doc in self.documents()[split][0]
            ]
        return self._ids[split]

    def draw(self, split: str, rng: np.random.Generator) -> tuple[Tensor, ...]:
        """A fresh set of pairs and masks for one split."""
        docs, sources = self.document_ids(split), self.documents()[split][1]
        tokens, segments, lengths, nsp = next_sentence_pairs(docs, sources, self.max_len, rng)
        masked, positions, weights, labels = mask_tokens(
            tokens, lengths, len(self.vocabulary()), self.max_predictions, rng, self.mask_share
        )
        arrays = (masked, segments, lengths, positions, weights, labels, nsp)
        return tuple(torch.from_numpy(a) for a in arrays)

    def load_splits(self) -> dict[str, Split]:
        """Validation and test pairs are drawn once; the training split held here is epoch
        0's (the training loader draws fresh pairs and masks every epoch)."""
        splits = {name: self.draw(name, np.random.default_rng([self.data_seed, 0, number]))
                  for number, name in enumerate(SPLITS)}  # fmt: skip
        self.source_info["pairs"] = {k: len(v[0]) for k, v in splits.items()}
        log.info("pretraining corpus: %s", self.source_info)
        return splits

    def train_dataloader(self) -> WindowBatches:
        self.setup()
        return fresh_draw_loader(self, self._train_examples)

    def _train_examples(self, epoch: int) -> tuple[Tensor, ...]:
        if epoch == 0:
            return self.splits["train"]
        return self.draw("train", np.random.default_rng([self.data_seed, epoch, 0]))

    def split_targets(self, split: str) -> Tensor:
        """The masked words' original ids (the unigram baseline counts them)."""
        self.setup()
        _, _, _, _, weights, labels, _ = self.splits[split]
        return labels[weights > 0]


def first_of_each(sources: list[str], n: int) -> list[int]:
    """Indices of the first ``n`` documents of each source."""
    seen: Counter[str] = Counter()
    keep = []
    for i, source in enumerate(sources):
        seen[source] += 1
        if seen[source] <= n:
            keep.append(i)
    return keep


def check_options(max_len: Any, min_freq: Any, mask_share: Any, val_fraction: Any,
                  test_fraction: Any, max_documents: Any) -> None:  # fmt: skip
    problems = []
    if not isinstance(max_len, int) or max_len < 5:
        problems.append(
            f"data.max_len={max_len!r}: must be an integer >= 5 (<cls> a <sep> b <sep>)"
        )
    if not isinstance(min_freq, int) or min_freq < 1:
        problems.append(f"data.min_freq={min_freq!r}: must be an integer >= 1")
    if not isinstance(mask_share, int | float) or not 0 < mask_share < 1:
        problems.append(f"data.mask_share={mask_share!r}: must be a fraction in (0, 1)")
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(value, int | float) or not 0 < value < 0.5:
            problems.append(f"data.{key}={value!r}: must be a fraction in (0, 0.5)")
    if max_documents is not None and (not isinstance(max_documents, int) or max_documents < 3):
        problems.append(f"data.max_documents={max_documents!r}: an integer >= 3, or null")
    if problems:
        raise ConfigError("; ".join(problems))
