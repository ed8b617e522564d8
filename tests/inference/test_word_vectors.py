"""Word vectors: nearest words, 3CosAdd analogies, Spearman and analogy scoring with their
coverage, and the word2vec text format (read back by gensim when it is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.inference.word_vectors import (
    WordVectors,
    analogy_score,
    read_analogies,
    read_pairs,
    read_text_vectors,
    similarity_score,
)

#: a hand-made space: king - man + woman = queen; paris - france + italy = rome
WORDS = ["man", "woman", "king", "queen", "france", "paris", "italy", "rome", "apple"]
MATRIX = torch.tensor(
    [
        [1.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 1.0, 0.0],
        [1.0, 1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 1.0, 1.0],
        [0.0, 1.0, 0.0, 1.0],
        [0.0, 1.0, 1.0, 1.0],
        [-1.0, -1.0, -1.0, -1.0],
    ]
)


@pytest.fixture
def vectors() -> WordVectors:
    return WordVectors(WORDS, MATRIX)


def test_nearest_words_and_analogies(vectors: WordVectors) -> None:
    assert vectors.similar("king", 1)[0][0] == "queen"
    assert vectors.analogy("man", "king", "woman")[0][0] == "queen"
    assert vectors.analogy("france", "paris", "italy")[0][0] == "rome"
    with pytest.raises(ConfigError, match="'banana' is not among the 9 words"):
        vectors.similar("banana")


def test_spearman_over_covered_pairs_with_coverage(vectors: WordVectors) -> None:
    pairs = [("king", "queen", 9.0), ("man", "woman", 8.0), ("king", "apple", 1.0),
             ("zebra", "king", 5.0)]  # fmt: skip
    score = similarity_score(vectors, pairs, min_covered=2)
    assert similarity_score(vectors, pairs).value is None  # 3 pairs: too few to rank
    assert score.coverage == pytest.approx(0.75)
    assert score.value == pytest.approx(1.0)  # the covered pairs are ranked like the scores


def test_analogy_accuracy_over_questions_in_the_top_words(vectors: WordVectors) -> None:
    questions = [
        ("man", "king", "woman", "queen"),
        ("france", "paris", "italy", "rome"),
        ("man", "woman", "king", "apple"),  # wrong answer expected: queen
        ("man", "king", "woman", "zebra"),  # not covered
    ]
    score = analogy_score(vectors, questions, min_covered=1)
    assert score.coverage == pytest.approx(0.75) and score.value == pytest.approx(2 / 3)
    limited = analogy_score(vectors, questions, limit=4, min_covered=1)  # only man woman king queen
    assert limited.coverage == pytest.approx(0.25) and limited.value == 1.0


def test_evaluation_files_are_read(tmp_path: Path) -> None:
    pairs = tmp_path / "wordsim.tsv"
    pairs.write_text("# a comment\nWord 1\tWord 2\tHuman (mean)\nTiger\tcat\t7.35\n")
    assert read_pairs(pairs) == [("tiger", "cat", 7.35)]
    questions = tmp_path / "questions.txt"
    questions.write_text(": capital\nAthens Greece Baghdad Iraq\n")
    assert read_analogies(questions) == [("athens", "greece", "baghdad", "iraq")]


def test_word2vec_text_format_round_trip(vectors: WordVectors, tmp_path: Path) -> None:
    path = vectors.save_word2vec_text(tmp_path / "v.txt")
    assert path.read_text().splitlines()[0] == "9 4"
    again = read_text_vectors(path)
    assert again.words == WORDS and torch.allclose(again.raw, MATRIX)
    glove = tmp_path / "glove.txt"  # GloVe's files have no header
    glove.write_text("the 0.1 0.2\ncat 0.3 0.4\n")
    assert read_text_vectors(glove).words == ["the", "cat"]
    gensim = pytest.importorskip("gensim")
    loaded = gensim.models.KeyedVectors.load_word2vec_format(str(path))
    assert loaded.most_similar("king", topn=1)[0][0] == "queen"


def test_lists_never_show_the_words_left_out_and_pieces_stand_for_whole_words() -> None:
    """A newcomer's 3-word file printed the query itself at -inf; a byte-pair run knew
    "chip" only as its piece "chip_"."""
    small = WordVectors(["a", "b", "c"], MATRIX[:3])
    assert sorted(w for w, _ in small.similar("a", k=10)) == ["b", "c"]
    assert small.analogy("a", "b", "c", k=5) == []
    pieces = WordVectors(["chip_", "ch", "ip_"], MATRIX[:3])
    assert pieces.find("chip") == 0 and pieces.find("Chip") == 0 and pieces.find("ch") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,1,2\nb,3,4\n", "a word needs finite numbers"),
        ("a 1 nan\nb 3 4\n", "a word needs finite numbers"),
        ("a 1 2\na 3 4\n", "'a' again"),
        ("5 2\na 1 2\nb 3 4\n", "header says 5 words but it holds 2"),
        ("a 1 x\n", "binary files are not read"),
    ],
)
def test_a_bad_vectors_file_is_one_message(tmp_path: Path, content: str, message: str) -> None:
    from dlzoo.errors import DataError

    path = tmp_path / "v.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_text_vectors(path)
