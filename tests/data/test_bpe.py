"""Byte-pair encoding (the book's 15.6.2), on the book's own example and as a corpus
tokenizer."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from dlzoo.data.bpe import BytePairEncoding, merge_pair
from dlzoo.data.word_corpus import WordCorpusDataModule
from dlzoo.errors import ConfigError
from text_data import write_topic_corpus

BOOK_SYMBOLS = [*string.ascii_lowercase, "_", "[UNK]"]
BOOK_WORDS = {"fast": 4, "faster": 3, "tall": 5, "taller": 4}


def test_the_books_ten_merges_and_segmentations() -> None:
    bpe = BytePairEncoding(BOOK_SYMBOLS)
    bpe.learn(BOOK_WORDS, 10)
    assert bpe.symbols[len(BOOK_SYMBOLS) :] == [
        "ta", "tal", "tall", "fa", "fas", "fast", "er", "er_", "tall_", "fast_",
    ]  # fmt: skip
    assert [" ".join(bpe.segment(w)) for w in ("tallest_", "fatter_")] == [
        "tall e s t _",
        "fa t t er_",
    ]


def test_merging_stops_when_no_pair_is_left_and_unknown_characters_are_named() -> None:
    bpe = BytePairEncoding.from_words({"ab": 2}, num_merges=50)
    assert bpe.merges == [("a", "b"), ("ab", "_")]
    assert bpe.segment("abz_") == ["ab", "[UNK]", "_"]
    assert bpe.tokenize(["ab", "ba"]) == ["ab_", "b", "a", "_"]


def test_a_pair_is_merged_left_to_right_without_overlap() -> None:
    assert merge_pair(list("aaa"), ("a", "a"), "aa") == ["aa", "a"]


def test_the_learned_encoding_round_trips_through_its_state() -> None:
    bpe = BytePairEncoding.from_words(BOOK_WORDS, 6)
    again = BytePairEncoding.from_state_dict(bpe.state_dict())
    assert again.merges == bpe.merges and again.segment("fastest_") == bpe.segment("fastest_")


def test_a_corpus_read_as_byte_pairs_has_subword_tokens_and_keeps_them(tmp_path: Path) -> None:
    corpus = write_topic_corpus(tmp_path / "corpus.txt")
    dm = WordCorpusDataModule(path=str(corpus), min_freq=2, tokenizer="bpe", bpe_merges=40)
    tokens = dm.spec.tokens
    assert any(t.endswith("_") for t in tokens) and any(not t.endswith("_") for t in tokens[1:])
    assert len(dm.state_dict()["bpe"]["merges"]) == 40
    with pytest.raises(ConfigError, match="data.tokenizer='spm'"):
        WordCorpusDataModule(path=str(corpus), tokenizer="spm")
