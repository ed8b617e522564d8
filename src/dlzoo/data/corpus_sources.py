"""Where a word corpus comes from, offline first.

In order: ``data.path`` (any UTF-8 text, one sentence or paragraph a line); the book's Penn
Treebank files ``<data_dir>/ptb/ptb.{train,valid,test}.txt``; then the real English this
machine's package registries carry, each read from its installed files:

- ``wikipedia``: the 106 Wikipedia articles of the PyPI package ``gensim``'s test data
  (CC BY-SA), read with gensim's own ``extract_pages`` and ``filter_wiki``;
- ``kjv``: the King James Bible of Debian's ``bible-kjv`` (public domain), one verse a line,
  printed by the package's ``bible`` program;
- ``foldoc``: the Free On-line Dictionary of Computing of Debian's ``dict-foldoc`` (GFDL),
  one entry a paragraph.

What was read is named in the run's record: each source with its sentences, words, licence
and a hash of the text as read.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from dlzoo.data.sources import fetch_zip
from dlzoo.errors import ConfigError, DataError

GENSIM_WIKI = (
    "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
)
FOLDOC_FILE = Path("/usr/share/dictd/foldoc.dict.dz")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
INSTALL_HINT = (
    "install one: `sudo apt-get install bible-kjv dict-foldoc` (Debian/Ubuntu) or `pip install "
    "'dlzoo[text]'` (gensim's Wikipedia sample), or give data.path=<a UTF-8 text file, one "
    "sentence a line>, or put the book's ptb.train.txt, ptb.valid.txt, ptb.test.txt in "
    "<data_dir>/ptb"
)


@dataclass
class CorpusText:
    """Lines of text (``splits``: already split, as PTB is) and what they are."""

    lines: list[str] = field(default_factory=list)
    splits: dict[str, list[str]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


def describe(name: str, lines: list[str], licence: str, origin: str) -> dict[str, Any]:
    text = "\n".join(lines)
    return {
        "name": name,
        "origin": origin,
        "licence": licence,
        "sentences": len(lines),
        "words": len(text.split()),
        "sha1": hashlib.sha1(text.encode()).hexdigest()[:16],
    }


def read_text_file(path: str) -> list[str]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"data.path={path!r}: no such file (a UTF-8 text, one sentence a line)")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"data.path={path!r} is not UTF-8 text (byte {err.start}): save it as UTF-8, e.g. "
            f"iconv -f latin1 -t utf-8"
        ) from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"data.path={path!r} holds no text")
    return lines


PTB_URL = "http://d2l-data.s3-accelerate.amazonaws.com/ptb.zip"  # the book's 15.3


def download_ptb(data_dir: str) -> None:
    """The book's PTB zip, unpacked into ``<data_dir>/ptb`` (``data.sources=[ptb]``)."""
    failed = fetch_zip(PTB_URL, Path(data_dir), timeout=30)
    if failed:
        raise DataError(
            f"data.sources=[ptb]: the book's download from {PTB_URL} failed "
            f"({failed.split(':')[0]}); unpack that zip into {data_dir} (ptb/ptb.train.txt...), "
            f"or use the offline sources: data.sources=[wikipedia,kjv,foldoc]"
        )


def read_ptb(data_dir: str) -> dict[str, list[str]] | None:
    folder = Path(data_dir) / "ptb"
    names = {"train": "ptb.train.txt", "val": "ptb.valid.txt", "test": "ptb.test.txt"}
    if not all((folder / f).is_file() for f in names.values()):
        return None
    return {k: read_text_file(str(folder / f)) for k, f in names.items()}


# -- the offline sources ---------------------------------------------------------------------
def gensim_file(relative: str) -> Path | None:
    """A data file shipped inside the installed ``gensim`` package (not imported)."""
    try:
        path = Path(str(metadata.distribution("gensim").locate_file(relative)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def read_wikipedia() -> list[str] | None:
    """Sentences of the Wikipedia sample's articles, markup removed by gensim."""
    path = gensim_file(GENSIM_WIKI)
    if path is None:
        return None
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    lines: list[str] = []
    with bz2.open(path, "rt", encoding="utf-8") as f:
        for _title, text, _page_id in extract_pages(f):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            for paragraph in filter_wiki(text).splitlines():
                paragraph = paragraph.strip()
                if len(paragraph.split()) >= 3:
                    lines += SENTENCE_END.split(paragraph)
    return lines


def read_kjv() -> list[str] | None:
    """Every verse, printed by Debian's ``bible`` program (its data is in its own format)."""
    program = shutil.which("bible") or (
        "/usr/bin/bible" if Path("/usr/bin/bible").is_file() else None
    )
    if program is None:
        return None
    result = subprocess.run(
        [program, "-f", "gen1:1-rev22:21"], capture_output=True, text=True, timeout=120
    )
    verses = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s*[1-3]?[A-Za-z]+\s*\d+:\d+\s+(.*)$", line)
        if match and match.group(1).strip():
            verses.append(match.group(1).strip())
    return verses or None


def read_foldoc() -> list[str] | None:
    """Every FOLDOC entry as one paragraph (the dictzip file reads as gzip)."""
    if not FOLDOC_FILE.is_file():
        return None
    with gzip.open(FOLDOC_FILE, "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    entries, current = [], []
    for line in text.splitlines():
        if line and not line[0].isspace():  # a headword starts an entry
            if current:
                entries.append(" ".join(current))
            current = [line.strip()]
        elif line.strip():
            current.append(line.strip())
    if current:
        entries.append(" ".join(current))
    entries = [e for e in entries if not e.startswith("00-database")]  # the file's own header
    return [e for e in entries if len(e.split()) >= 3] or None


OFFLINE: dict[str, tuple[Callable[[], list[str] | None], str, str]] = {
    "wikipedia": (read_wikipedia, "CC BY-SA 3.0", "Wikipedia sample in the PyPI package gensim"),
    "kjv": (read_kjv, "public domain", "King James Bible, Debian package bible-kjv"),
    "foldoc": (read_foldoc, "GFDL", "FOLDOC computing dictionary, Debian package dict-foldoc"),
}


def read_offline(sources: list[str]) -> CorpusText:
    unknown = [s for s in sources if s not in OFFLINE]
    if unknown or not sources:
        raise ConfigError(
            f"data.sources={sources}: choose from {list(OFFLINE)}, or [ptb] (the book's "
            f"download), or give data.path=<file>"
        )
    corpus = CorpusText(info={"sources": [], "missing": []})
    for name in sources:
        read, licence, origin = OFFLINE[name]
        lines = read()
        if not lines:
            corpus.info["missing"].append(name)
            continue
        corpus.lines += lines
        corpus.info["sources"].append(describe(name, lines, licence, origin))
    if not corpus.lines:
        raise DataError(f"none of the word corpora {sources} is installed: {INSTALL_HINT}")
    return corpus


def read_corpus(path: str | None, data_dir: str, sources: list[str]) -> CorpusText:
    """The corpus, in the order the module's docstring gives."""
    if path:
        lines = read_text_file(path)
        return CorpusText(lines, info={"sources": [describe("file", lines, "", str(path))]})
    ptb = read_ptb(data_dir)
    if ptb is None and "ptb" in sources:  # asked for by name: the book's download
        download_ptb(data_dir)
        ptb = read_ptb(data_dir)
    if ptb is not None:
        info = describe("ptb", [s for v in ptb.values() for s in v], "LDC", "Penn Treebank")
        return CorpusText(splits=ptb, info={"sources": [info]})
    return read_offline(sources)
