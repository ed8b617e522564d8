"""Labelled texts for classification, the book's chapter 16: sentiment (one text) and natural
language inference (a premise and a hypothesis).

The book's preprocessing, with tokens as GloVe has them: lower-cased words, clitics split
off ("does n't") and "!"/"?" kept (:func:`text_tokens`), a vocabulary of the words seen
``min_freq`` times in the training split (``<pad>`` and ``<unk>`` first), every text cut or
padded to ``num_steps`` tokens. An example is ``(num_steps,)`` token ids, or ``(2,
num_steps)`` for a pair. Vocabulary and class names are saved in every checkpoint, so
prediction needs no training data. Where the source has no validation or test split, they
are carved from the training rows by a seeded shuffle.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data import text_sources
from dlzoo.data.base import InMemoryDataModule, Split
from dlzoo.data.bert_pretraining import pretrained_vocabulary
from dlzoo.data.spec import DataSpec
from dlzoo.data.text_sources import LabelledTexts, Row
from dlzoo.data.word_corpus import word_tokens
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"
#: GloVe's tokens (the Stanford tokenizer's): clitics split off ("does n't", "it 's"), and
#: "!" and "?", which carry opinion; other punctuation dropped
TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|[a-z0-9]+(?=n't)|[a-z0-9]+|[!?]")


def text_tokens(text: str) -> list[str]:
    """Lower-cased tokens as GloVe's vocabulary has them: "Doesn't it's!" -> does, n't,
    it, 's, !"""
    return TOKEN.findall(text.lower().replace("’", "'"))


SOURCES = ("rotten_tomatoes", "imdb", "text_folder", "text_csv", "snli", "sentence_pairs")
PAIR_SOURCES = ("snli", "sentence_pairs")


@dataclass(frozen=True)
class TextClassificationSpec(DataSpec):
    """Token ids of one text (``input_shape`` ``(num_steps,)``) or of a pair (``(2,
    num_steps)``), one of ``class_names`` each; ``tokens`` is the vocabulary (``<pad>`` 0,
    ``<unk>`` 1)."""

    class_names: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    task: str = field(default="text_classification", init=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_pair(self) -> bool:
        return len(self.input_shape) == 2

    @property
    def num_steps(self) -> int:
        return self.input_shape[-1]

    def describe(self) -> str:
        kind = "sentence pairs" if self.is_pair else "texts"
        return f"labelled {kind} ({self.num_classes} classes, {len(self.tokens)} words)"


#: how a text becomes tokens: GloVe's (the default), or the book's word tokens of a BERT
#: whose vocabulary the data takes (``data.vocabulary_from``)
TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"glove": text_tokens, "word": word_tokens}


def encode(
    texts: list[str],
    index: dict[str, int],
    num_steps: int,
    tokenize: Callable[[str], list[str]] = text_tokens,
) -> tuple[np.ndarray, int]:
    """Token ids cut or padded to ``num_steps`` (0 pads, 1 is unknown), and how many texts
    were cut."""
    out = np.zeros((len(texts), num_steps), dtype=np.int64)
    cut = 0
    for i, text in enumerate(texts):
        ids = [index.get(w, 1) for w in tokenize(text)]
        cut += len(ids) > num_steps
        ids = ids[:num_steps]
        out[i, : len(ids)] = ids
    return out, cut


class TextClassificationDataModule(InMemoryDataModule):
    """Labelled texts or sentence pairs as padded token ids.

    Args:
        source: one of ``rotten_tomatoes``, ``imdb``, ``text_folder``, ``text_csv``,
            ``snli``, ``sentence_pairs`` (:mod:`dlzoo.data.text_sources`).
        path: the user's folder or file (``text_folder``, ``text_csv``, ``sentence_pairs``).
        data_dir: the datasets' folder (``aclImdb``, ``snli_1.0``).
        text: the text column(s) of a CSV: one name, or ``[premise, hypothesis]``.
        label: the label column of a CSV.
        min_freq: words seen fewer times in the training split become ``<unk>``.
        num_steps: tokens per text: longer texts are cut (with a warning), shorter padded.
        val_fraction, test_fraction: shares carved from the training rows when the source
            has no such split.
        split_seed: seed of that carving.
        vocabulary_from: a BERT pretraining checkpoint (or its run folder) whose vocabulary
            and word tokens the texts take (fine-tuning, ``model.pretrained``); ``None``:
            a vocabulary of the training words, GloVe's tokens.
    """

    def __init__(
        self,
        source: str = "rotten_tomatoes",
        path: str | None = None,
        data_dir: str = "data",
        text: str | list[str] = "text",
        label: str = "label",
        min_freq: int = 1,
        num_steps: int = 50,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        vocabulary_from: str | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if source not in SOURCES:
            raise ConfigError(f"data.source={source!r}: choose one of {list(SOURCES)}")
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"data.min_freq={min_freq!r}: must be an integer >= 1")
        if not isinstance(num_steps, int) or num_steps < 1:
            raise ConfigError(f"data.num_steps={num_steps!r}: must be an integer >= 1")
        self.source, self.path, self.data_dir = source, path, data_dir
        self.text_columns = [text] if isinstance(text, str) else list(text)
        self.label, self.min_freq, self.num_steps = label, min_freq, num_steps
        self.fractions = (val_fraction, test_fraction)
        self.split_seed = split_seed
        self.vocabulary_from = vocabulary_from
        self.tokenizer = "word" if vocabulary_from else "glove"
        self.source_info: dict[str, Any] = {}
        self._rows: dict[str, list[Row]] | None = None
        self._vocab: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def is_pair(self) -> bool:
        return self.source in PAIR_SOURCES or len(self.text_columns) == 2

    # -- the rows ----------------------------------------------------------------------------
    def read(self) -> LabelledTexts:
        if self.source == "rotten_tomatoes":
            return text_sources.rotten_tomatoes(self.fractions)
        if self.source == "imdb":
            return text_sources.imdb(self.data_dir)
        if self.source == "snli":
            return text_sources.snli(self.data_dir)
        if self.path is None:
            raise ConfigError(f"data.source={self.source} reads your own texts: give data.path")
        if self.source == "text_folder":
            return text_sources.text_folder(self.path)
        columns = self.text_columns
        if self.source == "sentence_pairs" and len(columns) != 2:
            columns = ["premise", "hypothesis"] if columns == ["text"] else columns
        if self.source == "sentence_pairs" and len(columns) != 2:
            raise ConfigError(f"data.text={columns}: a pair needs two columns, e.g. "
                              f"data.text=[premise,hypothesis]")  # fmt: skip
        return text_sources.text_table(self.path, columns, self.label)

    def rows(self) -> dict[str, list[Row]]:
        """Each split's rows (read once); missing validation/test rows carved from train."""
        if self._rows is None:
            found = self.read()
            self.source_info = dict(found.info)
            self._rows = self._carve(found.splits)
            self.source_info["rows"] = {k: len(v) for k, v in self._rows.items()}
        return self._rows

    def _carve(self, splits: dict[str, list[Row]]) -> dict[str, list[Row]]:
        train = list(splits.get("train", []))
        order = np.random.default_rng(self.split_seed).permutation(len(train))
        out = {
            "train": train,
            "val": list(splits.get("val", [])),
            "test": list(splits.get("test", [])),
        }
        taken = 0
        for name, share in (("test", self.fractions[1]), ("val", self.fractions[0])):
            if not out[name]:
                n = max(1, int(round(share * len(train))))
                out[name] = [train[i] for i in order[taken : taken + n]]
                taken += n
        if taken:
            kept = set(order[taken:].tolist())
            out["train"] = [r for i, r in enumerate(train) if i in kept]
        if min(len(v) for v in out.values()) == 0 or len(out["train"]) < 2:
            raise DataError(f"too few labelled texts to split ({len(train)}): give more rows")
        return out

    def vocabulary(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Tokens (``<pad>``, ``<unk>``, then by count) and class names: from a restored
        checkpoint, else from the training rows."""
        if self._vocab is None and self.restored_state.get("tokens"):
            state = self.restored_state
            self._vocab = (tuple(state["tokens"]), tuple(state["class_names"]))
            self.tokenizer = state.get("tokenizer", "glove")
        if self._vocab is None:
            train = self.rows()["train"]
            classes = tuple(sorted({label for _, label in train}))
            if len(classes) < 2:
                where = (
                    f" (data.label={self.label!r})"
                    if self.source in ("text_csv", "sentence_pairs")
                    else ""
                )
                raise DataError(f"the labels hold one class only ({classes[0]!r}): a classifier "
                                f"needs two or more{where}")  # fmt: skip
            if self.vocabulary_from:
                self._vocab = (pretrained_vocabulary(str(self.vocabulary_from)), classes)
                return self._vocab
            counts = Counter(w for texts, _ in train for t in texts for w in text_tokens(t))
            kept = sorted((w for w, c in counts.items() if c >= self.min_freq),
                          key=lambda w: (-counts[w], w))  # fmt: skip
            if not counts:
                raise DataError(f"the {len(train)} training texts hold no word (are they "
                                f"empty?): nothing to learn from")  # fmt: skip
            if not kept:
                raise DataError(f"no word is seen data.min_freq={self.min_freq} times in the "
                                f"training texts: lower data.min_freq")  # fmt: skip
            self._vocab = ((PAD, UNK, *kept), classes)
        return self._vocab

    @property
    def spec(self) -> TextClassificationSpec:
        tokens, classes = self.vocabulary()
        shape = (2, self.num_steps) if self.is_pair else (self.num_steps,)
        return TextClassificationSpec(shape, class_names=classes, tokens=tokens)

    def state_dict(self) -> dict[str, Any]:
        tokens, classes = self.vocabulary()
        return {"tokens": list(tokens), "class_names": list(classes), "tokenizer": self.tokenizer}

    # -- examples ----------------------------------------------------------------------------
    def encode_texts(self, texts: list[tuple[str, ...]], split: str = "given") -> Tensor:
        """Token ids of rows of texts: ``(n, num_steps)``, or ``(n, 2, num_steps)``."""
        index = {w: i for i, w in enumerate(self.vocabulary()[0])}
        parts, cut = [], 0
        for column in range(2 if self.is_pair else 1):
            ids, n = encode([t[column] for t in texts], index, self.num_steps,
                            TOKENIZERS[self.tokenizer])  # fmt: skip
            parts.append(ids)
            cut += n
        if cut:
            log.warning("%d %s texts are longer than data.num_steps=%d tokens and were cut",
                        cut, split, self.num_steps)  # fmt: skip
        stacked = np.stack(parts, axis=1) if self.is_pair else parts[0]
        return torch.from_numpy(stacked)

    def load_splits(self) -> dict[str, Split]:
        _, classes = self.vocabulary()
        label_index = {c: i for i, c in enumerate(classes)}
        splits = {}
        for name, rows in self.rows().items():
            unknown = sorted({label for _, label in rows} - set(label_index))
            if unknown:
                raise DataError(f"the {name} rows have labels the model was not trained on: "
                                f"{unknown[:5]} (its labels: {list(classes)[:10]})")  # fmt: skip
            x = self.encode_texts([texts for texts, _ in rows], name)
            y = torch.tensor([label_index[label] for _, label in rows])
            splits[name] = (x, y)
        return splits

    def texts(self, split: str) -> list[tuple[str, ...]]:
        """A split's raw texts (the TF-IDF baseline reads them)."""
        return [texts for texts, _ in self.rows()[split]]

    def classical_baselines(self) -> list[dict[str, Any]]:
        """TF-IDF + logistic regression fitted on the training split and scored on the test
        split (for pairs, the two texts' features side by side)."""
        from dlzoo.data.text_baselines import tfidf_logistic_regression

        self.setup()
        return [tfidf_logistic_regression(self.texts("train"), self.splits["train"][1],
                                          self.texts("test"), self.splits["test"][1])]  # fmt: skip
