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


def wikipedia_paragraphs() -> list[list[str]] | None:
    """The Wikipedia sample's paragraphs (markup removed by gensim), each a list of
    sentences."""
    path = gensim_file(GENSIM_WIKI)
    if path is None:
        return None
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    paragraphs: list[list[str]] = []
    with bz2.open(path, "rt", encoding="utf-8") as f:
        for _title, text, _page_id in extract_pages(f):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            for paragraph in filter_wiki(text).splitlines():
                paragraph = paragraph.strip()
                if len(paragraph.split()) >= 3:
                    paragraphs.append(SENTENCE_END.split(paragraph))
    return paragraphs


def read_wikipedia() -> list[str] | None:
    """Sentences of the Wikipedia sample's articles."""
    paragraphs = wikipedia_paragraphs()
    return None if paragraphs is None else [s for p in paragraphs for s in p]


def kjv_chapters() -> list[list[str]] | None:
    """Every chapter's verses, printed by Debian's ``bible`` program (its data is in its
    own format)."""
    program = shutil.which("bible") or (
        "/usr/bin/bible" if Path("/usr/bin/bible").is_file() else None
    )
    if program is None:
        return None
    result = subprocess.run(
        [program, "-f", "gen1:1-rev22:21"], capture_output=True, text=True, timeout=120
    )
    chapters: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^\s*([1-3]?[A-Za-z]+)\s*(\d+):\d+\s+(.*)$", line)
        if match and match.group(3).strip():
            chapters.setdefault(f"{match.group(1)} {match.group(2)}", []).append(
                match.group(3).strip()
            )
    return list(chapters.values()) or None


def read_kjv() -> list[str] | None:
    """Every verse, one a line."""
    chapters = kjv_chapters()
    return None if chapters is None else [verse for c in chapters for verse in c]


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


# -- documents: consecutive sentences, for BERT's next-sentence prediction -----------------------
WIKITEXT2_URL = "http://d2l-data.s3-accelerate.amazonaws.com/wikitext-2-v1.zip"  # the book's 15.9


@dataclass
class DocumentCorpus:
    """Documents (each a list of consecutive sentences) and the source each came from;
    ``splits``: already split (WikiText-2), else ``None``."""

    documents: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    splits: dict[str, list[list[str]]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


def foldoc_entries() -> list[list[str]] | None:
    entries = read_foldoc()
    return None if entries is None else [SENTENCE_END.split(e) for e in entries]


DOCUMENTS: dict[str, Callable[[], list[list[str]] | None]] = {
    "wikipedia": wikipedia_paragraphs,  # a paragraph of an article
    "kjv": kjv_chapters,  # a chapter's verses
    "foldoc": foldoc_entries,  # a dictionary entry's sentences
}


def _describe_documents(name: str, docs: list[list[str]], licence: str, origin: str) -> dict:
    info = describe(name, [s for d in docs for s in d], licence, origin)
    info["documents"] = len(docs)
    return info


def read_wikitext2(data_dir: str) -> dict[str, list[list[str]]] | None:
    """The book's reading of ``<data_dir>/wikitext-2/wiki.{train,valid,test}.tokens``: each
    line a paragraph, split into sentences on `` . ``, kept when it has two or more."""
    folder = Path(data_dir) / "wikitext-2"
    names = {"train": "wiki.train.tokens", "val": "wiki.valid.tokens", "test": "wiki.test.tokens"}
    if not all((folder / f).is_file() for f in names.values()):
        return None
    splits = {}
    for split, name in names.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        splits[split] = [p for p in (line.strip().lower().split(" . ") for line in lines)
                         if len(p) >= 2]  # fmt: skip
    return splits


def read_documents(path: str | None, data_dir: str, sources: list[str]) -> DocumentCorpus:
    """Documents from ``data.path`` (one paragraph a line, split into sentences), else the
    book's WikiText-2 files (downloaded when ``sources`` names ``wikitext2``), else the
    offline sources (Wikipedia paragraphs, Bible chapters, FOLDOC entries)."""
    if path:
        docs = [SENTENCE_END.split(line) for line in read_text_file(path)]
        info = _describe_documents("file", docs, "", str(path))
        return DocumentCorpus(docs, ["file"] * len(docs), info={"sources": [info]})
    wikitext = read_wikitext2(data_dir)
    if wikitext is None and "wikitext2" in sources:
        failed = fetch_zip(WIKITEXT2_URL, Path(data_dir), timeout=60)
        if failed:
            raise DataError(
                f"data.sources=[wikitext2]: the book's download from {WIKITEXT2_URL} failed "
                f"({failed.split(':')[0]}); unpack that zip into {data_dir} "
                f"(wikitext-2/wiki.train.tokens...), or use the offline sources: "
                f"data.sources=[wikipedia,kjv,foldoc]"
            )
        wikitext = read_wikitext2(data_dir)
    if wikitext is not None:
        every = [d for docs in wikitext.values() for d in docs]
        info = _describe_documents("wikitext2", every, "CC BY-SA 3.0", "WikiText-2")
        return DocumentCorpus(splits=wikitext, info={"sources": [info]})
    unknown = [s for s in sources if s not in DOCUMENTS]
    if unknown or not sources:
        raise ConfigError(
            f"data.sources={sources}: choose from {list(DOCUMENTS)}, or [wikitext2] (the "
            f"book's download), or give data.path=<file, one paragraph a line>"
        )
    corpus = DocumentCorpus(info={"sources": [], "missing": []})
    for name in sources:
        docs = DOCUMENTS[name]()
        if not docs:
            corpus.info["missing"].append(name)
            continue
        _, licence, origin = OFFLINE[name]
        corpus.documents += docs
        corpus.sources += [name] * len(docs)
        corpus.info["sources"].append(_describe_documents(name, docs, licence, origin))
    if not corpus.documents:
        raise DataError(f"none of the text corpora {sources} is installed: {INSTALL_HINT}")
    return corpus
