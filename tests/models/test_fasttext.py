"""fastText's subword embeddings (the book's 15.6): n-grams with boundary marks, hashed
buckets, and vectors for words never seen in training."""

from __future__ import annotations

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.inference.word_vectors import WordVectors
from dlzoo.models.fasttext import FastText, char_ngrams, fnv1a

TOKENS = ["<unk>", "where", "here", "there", "cat", "cats"]
COUNTS = [0, 40, 30, 20, 10, 5]


def test_ngrams_of_the_marked_word_are_the_books() -> None:
    assert char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert "<where>" not in char_ngrams("where")  # the word has its own row
    assert len(char_ngrams("where", 3, 6)) == 5 + 4 + 3 + 2


def test_the_ngram_hash_is_fnv1a() -> None:
    assert fnv1a("") == 2166136261
    assert fnv1a("a") == 0xE40C292C  # the published 32-bit FNV-1a test vector


def test_a_word_is_the_mean_of_its_own_row_and_its_ngram_rows() -> None:
    net = FastText([4], len(TOKENS), COUNTS, TOKENS, embedding_dim=6, buckets=1000)
    bag = net.centre.bag.weight
    rows = net.centre.pieces("cats", 5)
    assert rows[0] == 5 and all(r >= len(TOKENS) for r in rows[1:])
    assert torch.allclose(net.vectors()[5], bag[rows].mean(dim=0).detach(), atol=1e-6)
    assert torch.allclose(net.vectors()[0], bag[0].detach())  # <unk>: its own row only


def test_an_unseen_word_gets_a_vector_from_its_ngrams() -> None:
    torch.manual_seed(0)  # wide random rows are near orthogonal: shared n-grams dominate
    net = FastText([4], len(TOKENS), COUNTS, TOKENS, embedding_dim=256, buckets=20_000)
    vectors = WordVectors(TOKENS, net.vectors(), oov=net.word_vector)
    near = vectors.similar("catss", k=len(TOKENS) - 1)  # shares "<ca", "cat", "ats"...
    assert [w for w, _ in near][:2] == ["cats", "cat"]
    assert vectors.analogy("cat", "cats", "wheres", k=1)  # unlisted words answer too
    with pytest.raises(ConfigError, match="'catss' is not among"):
        WordVectors(TOKENS, net.vectors()).similar("catss")


def test_training_lowers_the_loss() -> None:
    torch.manual_seed(0)
    net = FastText([2], len(TOKENS), COUNTS, TOKENS, embedding_dim=8, buckets=500)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    centres = torch.tensor([1, 2, 3, 4, 5] * 8)
    contexts = torch.tensor([[2, -1], [3, -1], [1, -1], [5, -1], [4, -1]] * 8)
    for _ in range(100):
        optimizer.zero_grad()
        net(centres, contexts).backward()
        optimizer.step()
    assert net(centres, contexts).item() < 0.5 * net.untrained_loss()


@pytest.mark.parametrize(
    ("option", "message"),
    [({"min_n": 4, "max_n": 3}, "need 1 <= min_n <= max_n"), ({"buckets": 0}, "buckets=0")],
)
def test_bad_options_are_named(option: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FastText([4], len(TOKENS), COUNTS, TOKENS, **option)
