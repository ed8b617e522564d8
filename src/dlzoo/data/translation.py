"""Sentence pairs for sequence to sequence learning: English -> French translation and a
tiny generated task (reversing digit strings).

Translation data, offline first: ``data.path`` (tab-separated pairs, the book's
``fra-eng/fra.txt`` format) -> ``<data_dir>/fra-eng/fra.txt`` -> this machine's gettext
catalogues (``/usr/share/locale/<lang>/LC_MESSAGES/*.mo``: every translated program message
is a human translation of an English sentence) -> the book's download -> an error saying
what to put where.
"""

from __future__ import annotations

import gettext
import hashlib
import io
import logging
import random
import re
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dlzoo.data.base import SPLITS, InMemoryDataModule
from dlzoo.data.spec import SequencePairSpec
from dlzoo.data.vocab import Vocab
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
RESERVED = (PAD, BOS, EOS)
FRA_ENG_URL = "http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip"
SOURCES = ("auto", "file", "gettext", "download")
Pair = tuple[str, str]


def preprocess_nmt(text: str) -> str:
    """The book's preprocessing (10.5): non-breaking and narrow spaces become spaces,
    typographic apostrophes plain ones, lower case, a space before ``, . ! ?`` (and
    ``: ;``) so punctuation becomes its own word."""
    text = re.sub("[\u202f\xa0\u2009]", " ", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = re.sub(r"(?<=\S)([,.!?:;])", r" \1", text)
    return " ".join(text.split())


def tokenize_nmt(text: str) -> list[str]:
    """Word tokens of an already preprocessed sentence."""
    return text.split()


def detokenize(tokens: list[str]) -> str:
    """Words back into text (no space before punctuation), for sacreBLEU and people."""
    return re.sub(r" ([,.!?:;])", r"\1", " ".join(tokens))


def pairs_hash(pairs: list[Pair]) -> str:
    digest = hashlib.sha1()
    for src, tgt in pairs:
        digest.update(f"{src}\t{tgt}\n".encode())
    return digest.hexdigest()[:16]


def read_tsv_pairs(text: str, where: str) -> list[Pair]:
    """``source<TAB>target[<TAB>anything]`` lines; blank lines are skipped."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataError(
                f"{where} line {number} has no tab: expected 'source<TAB>target', got {line!r}"
            )
        pairs.append((cols[0], cols[1]))
    return pairs


def _clean_message(text: str) -> str:
    """A program message as a sentence: keyboard accelerators (``_File``, ``&Open``) and
    line breaks removed."""
    return " ".join(re.sub(r"[_&](?=\w)", "", text).split())


def read_gettext_pairs(locale_dir: Path, lang: str) -> tuple[list[Pair], int]:
    """(English message, translation) pairs of every ``<lang>`` catalogue, and how many
    catalogues were read. Context prefixes (``ctx\\x04msgid``) are stripped; plural entries
    keep their singular form; empty, untranslated and duplicate pairs are dropped."""
    files = sorted((locale_dir / lang / "LC_MESSAGES").glob("*.mo"))
    seen: set[Pair] = set()
    catalogues = 0
    for file in files:
        try:
            with file.open("rb") as fp:
                catalog: dict[Any, str] = gettext.GNUTranslations(fp)._catalog  # type: ignore[attr-defined]
        except (OSError, UnicodeDecodeError, ValueError) as err:
            log.warning("skipping unreadable catalogue %s (%s)", file, err)
            continue
        catalogues += 1
        for key, value in catalog.items():
            if isinstance(key, tuple):
                if key[1] != 0:  # plural forms beyond the singular
                    continue
                key = key[0]
            src = _clean_message(key.split("\x04")[-1])
            tgt = _clean_message(value)
            if src and tgt and src != tgt:
                seen.add((src, tgt))
    return sorted(seen), catalogues


def _order_key(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:12], 16)


class SequencePairDataModule(InMemoryDataModule):
    """Sentence pairs as padded token tensors ``(src, src_len, tgt, tgt_len)``.

    Sentences are preprocessed like the book's (10.5), cut into words, filtered by length,
    split by a hash of the source sentence (one source sentence never lands in two
    splits), and encoded with vocabularies built on the training split (``min_freq``);
    ``<eos>`` ends every sequence, which is then padded or cut to ``num_steps``.

    Args:
        num_steps: tokens per sequence (with ``<eos>``).
        min_freq: rarer training words become ``<unk>``.
        max_src_words, max_tgt_words: drop longer pairs (``null``: keep all).
        max_pairs: keep at most this many pairs (a hash-ordered, reproducible subset).
        val_fraction, test_fraction: shares of the source sentences held out.
    """

    def __init__(
        self,
        num_steps: int = 16,
        min_freq: int = 2,
        max_src_words: int | None = None,
        max_tgt_words: int | None = None,
        max_pairs: int | None = None,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 2:
            raise ConfigError(f"data.num_steps={num_steps!r}: must be an integer >= 2")
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"data.min_freq={min_freq!r}: must be an integer >= 1")
        for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < value < 1:
                raise ConfigError(f"data.{key}={value!r}: must be between 0 and 1 (exclusive)")
        if val_fraction + test_fraction >= 1:
            raise ConfigError("data.val_fraction + data.test_fraction must be below 1")
        self.num_steps = num_steps
        self.min_freq = min_freq
        self.max_src_words = max_src_words
        self.max_tgt_words = max_tgt_words
        self.max_pairs = max_pairs
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        #: where the pairs came from (kept in the run's metrics.json)
        self.source_info: dict[str, Any] = {}
        #: per split, the token lists behind the tensors (references for BLEU)
        self.split_pairs: dict[str, list[tuple[list[str], list[str]]]] = {}
        self._vocabs: tuple[Vocab, Vocab] | None = None

    # -- what subclasses provide -----------------------------------------------------------
    def read_pairs(self) -> list[Pair]:
        """Raw (source, target) sentences; sets ``source_info``."""
        raise NotImplementedError

    def prepare_text(self, text: str) -> str:
        return preprocess_nmt(text)

    # -- pairs as tokens -------------------------------------------------------------------
    def source_tokens(self, text: str) -> list[str]:
        """A new source sentence prepared the way the training data was."""
        return tokenize_nmt(self.prepare_text(text))

    def _token_splits(self) -> dict[str, list[tuple[list[str], list[str]]]]:
        if self.split_pairs:
            return self.split_pairs
        kept: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
        dropped = {"with an empty side": 0, "with the same text on both sides": 0, "too long": 0}
        read = self.read_pairs()
        for src, tgt in read:
            s, t = self.source_tokens(src), tokenize_nmt(self.prepare_text(tgt))
            if not s or not t:
                dropped["with an empty side"] += 1
            elif s == t:
                dropped["with the same text on both sides"] += 1
            elif (self.max_src_words is not None and len(s) > self.max_src_words) or (
                self.max_tgt_words is not None and len(t) > self.max_tgt_words
            ):
                dropped["too long"] += 1
            else:
                kept.setdefault((*s, "\t", *t), (s, t))
        repeated = len(read) - sum(dropped.values()) - len(kept)
        reasons = [f"{n} {why}" for why, n in dropped.items() if n]
        if repeated:
            reasons.append(f"{repeated} repeated")
        if reasons:
            log.info(
                "%d of %d sentence pairs dropped: %s (data.max_src_words=%s, max_tgt_words=%s)",
                len(read) - len(kept),
                len(read),
                ", ".join(reasons),
                self.max_src_words,
                self.max_tgt_words,
            )
        pairs = sorted(kept.values(), key=lambda p: _order_key(" ".join(p[0] + ["\t"] + p[1])))
        if self.max_pairs is not None:
            pairs = pairs[: int(self.max_pairs)]
        if not pairs:
            raise DataError(
                f"no sentence pairs left from {self.source_info.get('source', 'the data')} "
                f"after the length filters (max_src_words={self.max_src_words}, "
                f"max_tgt_words={self.max_tgt_words})"
            )
        splits = self._split_by_source(pairs)
        empty = [name for name in SPLITS if not splits[name]]
        if empty:
            sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
            raise DataError(
                f"{len(pairs)} sentence pairs from {self.source_info.get('source', 'the data')} "
                f"leave the {' and '.join(empty)} split empty ({sizes}; data.val_fraction="
                f"{self.val_fraction}, data.test_fraction={self.test_fraction}): use more "
                f"pairs (at least a few hundred) or larger fractions"
            )
        self.split_pairs = splits
        self.source_info["pairs_used"] = len(pairs)
        self.source_info["split_sizes"] = {k: len(v) for k, v in splits.items()}
        return splits

    def _split_by_source(
        self, pairs: list[tuple[list[str], list[str]]]
    ) -> dict[str, list[tuple[list[str], list[str]]]]:
        """Test, validation and training pairs by a hash of the source sentence alone."""
        splits: dict[str, list[tuple[list[str], list[str]]]] = {s: [] for s in SPLITS}
        for s, t in pairs:
            share = (_order_key(" ".join(s)) % 100_000) / 100_000
            if share < self.test_fraction:
                splits["test"].append((s, t))
            elif share < self.test_fraction + self.val_fraction:
                splits["val"].append((s, t))
            else:
                splits["train"].append((s, t))
        return splits

    @property
    def vocabs(self) -> tuple[Vocab, Vocab]:
        """Source and target vocabularies: from a restored checkpoint, else built on the
        training split."""
        if self._vocabs is None and self.restored_state.get("source_tokens"):
            st = self.restored_state
            self._vocabs = (
                Vocab.from_dict({"tokens": list(st["source_tokens"])}),
                Vocab.from_dict({"tokens": list(st["target_tokens"])}),
            )
        if self._vocabs is None:
            train = self._token_splits()["train"]
            self._vocabs = (
                Vocab.build((w for s, _ in train for w in s), self.min_freq, RESERVED),
                Vocab.build((w for _, t in train for w in t), self.min_freq, RESERVED),
            )
        return self._vocabs

    @property
    def spec(self) -> SequencePairSpec:
        src, tgt = self.vocabs
        return SequencePairSpec((self.num_steps,), src.tokens, tgt.tokens)

    def state_dict(self) -> dict[str, Any]:
        src, tgt = self.vocabs
        return {"source_tokens": list(src.tokens), "target_tokens": list(tgt.tokens)}

    def encode(self, sentences: list[list[str]], vocab: Vocab) -> tuple[Tensor, Tensor]:
        """Token lists -> ``(n, num_steps)`` ids ending in ``<eos>``, padded or cut, and
        their valid lengths."""
        pad, eos = vocab.token_to_idx[PAD], vocab.token_to_idx[EOS]
        ids = torch.full((len(sentences), self.num_steps), pad, dtype=torch.long)
        lens = torch.zeros(len(sentences), dtype=torch.long)
        for i, words in enumerate(sentences):
            seq = (vocab.encode(words) + [eos])[: self.num_steps]
            ids[i, : len(seq)] = torch.tensor(seq)
            lens[i] = len(seq)
        return ids, lens

    def load_splits(self) -> dict[str, tuple[Tensor, ...]]:  # type: ignore[override]
        splits = self._token_splits()
        src_vocab, tgt_vocab = self.vocabs
        out = {}
        for name in SPLITS:
            src, src_len = self.encode([s for s, _ in splits[name]], src_vocab)
            tgt, tgt_len = self.encode([t for _, t in splits[name]], tgt_vocab)
            out[name] = (src, src_len, tgt, tgt_len)
        log.info(
            "%s: %s pairs (train/val/test %s), vocabularies %d / %d",
            self.source_info.get("source", type(self).__name__),
            sum(len(v) for v in splits.values()),
            "/".join(str(len(splits[s])) for s in SPLITS),
            len(src_vocab),
            len(tgt_vocab),
        )
        return out


class TranslationDataModule(SequencePairDataModule):
    """English -> French (``target_lang``) sentence pairs; see the module docstring for
    the order in which sources are tried (``source=auto``), or force one with ``source``."""

    def __init__(
        self,
        data_dir: str = "data",
        path: str | None = None,
        source: str = "auto",
        target_lang: str = "fr",
        locale_dir: str = "/usr/share/locale",
        download: bool = True,
        url: str = FRA_ENG_URL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if source not in SOURCES:
            raise ConfigError(f"data.source={source!r} is unknown; choose one of {list(SOURCES)}")
        if path and source not in ("auto", "file"):
            raise ConfigError(
                f"data.source={source} with data.path={path}: the file would win and the "
                f"{source} source be ignored; drop one of them"
            )
        if path:
            source = "file"
        self.data_dir = Path(data_dir)
        self.path = Path(path) if path else self.data_dir / "fra-eng" / "fra.txt"
        self.source = source
        self.target_lang = target_lang
        self.locale_dir = Path(locale_dir)
        self.download = download
        self.url = url

    def _from_file(self) -> list[Pair]:
        if self.path.is_dir():
            raise DataError(
                f"data.path={str(self.path)!r} is a folder: pass the tab-separated file itself"
            )
        if not self.path.is_file():
            raise DataError(f"data.path={str(self.path)!r}: no such file")
        raw = self.path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")  # a leading byte-order mark is not a word
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            raise DataError(
                f"data.path={str(self.path)!r} is not UTF-8 text (line {line}, byte "
                f"{raw[err.start]:#04x}): save it as UTF-8, e.g. iconv -f latin1 -t utf-8"
            ) from None
        pairs = read_tsv_pairs(text, str(self.path))
        if not pairs:
            raise DataError(
                f"data.path={str(self.path)!r} holds no sentence pairs: expected lines "
                f"'source<TAB>target'"
            )
        self.source_info = {
            "source": "file",
            "path": str(self.path),
            "pairs": len(pairs),
            "pairs_sha1": pairs_hash(pairs),
        }
        return pairs

    def _from_gettext(self) -> list[Pair]:
        pairs, catalogues = read_gettext_pairs(self.locale_dir, self.target_lang)
        self.source_info = {
            "source": "gettext",
            "catalogues": catalogues,
            "locale_dir": str(self.locale_dir / self.target_lang / "LC_MESSAGES"),
            "pairs": len(pairs),
            "pairs_sha1": pairs_hash(pairs),
        }
        return pairs

    def _from_download(self) -> list[Pair]:
        with urllib.request.urlopen(self.url, timeout=30) as response:
            raw = response.read()
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            text = archive.read("fra-eng/fra.txt").decode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(text, encoding="utf-8")
        except OSError:
            pass  # a read-only data dir: use it from memory
        pairs = read_tsv_pairs(text, self.url)
        self.source_info = {"source": "download", "url": self.url, "pairs": len(pairs)}
        return pairs

    def read_pairs(self) -> list[Pair]:
        if self.source == "file" or (self.source == "auto" and self.path.is_file()):
            return self._from_file()
        tried = [f"{self.path} (missing)"]
        if self.source in ("auto", "gettext"):
            pairs = self._from_gettext()
            if pairs:
                return pairs
            tried.append(f"no {self.target_lang!r} catalogues in {self.locale_dir}")
        if self.source in ("auto", "download") and self.download:
            try:
                return self._from_download()
            except Exception as err:  # network errors come in many types
                tried.append(f"download of {self.url} failed ({type(err).__name__}: {err})")
        langs = sorted(d.name for d in self.locale_dir.glob("*") if any(d.glob("LC_MESSAGES/*.mo")))
        have = f" (this machine has catalogues for: {', '.join(langs)})" if langs else ""
        raise DataError(
            f"no English -> {self.target_lang!r} sentence pairs: " + "; ".join(tried) + ". "
            f"Put the book's fra.txt (from {self.url}) at {self.path}, pass "
            f"data.path=<tab-separated pairs>, pick another data.target_lang{have}, or install "
            f"translations (e.g. apt-get install language-pack-{self.target_lang})"
        )


class ReverseDigitsDataModule(SequencePairDataModule):
    """A generated task that trains in seconds: a string of digits -> the same digits
    reversed ("3 1 4" -> "4 1 3"). Seeded: the same pairs every run."""

    def __init__(
        self,
        num_pairs: int = 3000,
        min_len: int = 1,
        max_len: int = 6,
        data_seed: int = 0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("min_freq", 1)
        kwargs.setdefault("num_steps", max_len + 1)
        kwargs.setdefault("val_fraction", 0.1)
        kwargs.setdefault("test_fraction", 0.1)
        super().__init__(**kwargs)
        if not 1 <= min_len <= max_len:
            raise ConfigError(
                f"data.min_len={min_len}, data.max_len={max_len}: need 1 <= min <= max"
            )
        self.num_pairs = num_pairs
        self.min_len = min_len
        self.max_len = max_len
        self.data_seed = data_seed

    def prepare_text(self, text: str) -> str:
        return " ".join(text.split())

    def read_pairs(self) -> list[Pair]:
        rng = random.Random(self.data_seed)
        pairs = []
        for _ in range(self.num_pairs):
            digits = [
                str(rng.randrange(10)) for _ in range(rng.randint(self.min_len, self.max_len))
            ]
            pairs.append((" ".join(digits), " ".join(reversed(digits))))
        self.source_info = {
            "source": "generated",
            "pairs": len(pairs),
            "pairs_sha1": pairs_hash(pairs),
        }
        return pairs
