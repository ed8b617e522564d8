"""word2vec's parts: the noise distribution, Huffman codes, and hierarchical softmax
probabilities that sum to one over the vocabulary."""

from __future__ import annotations

import math

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.models.word2vec import Word2Vec, huffman_codes, noise_table

COUNTS = [0, 50, 20, 10, 10, 5, 3, 2]


def test_noise_words_are_drawn_with_weights_count_to_the_three_quarters() -> None:
    table = noise_table(COUNTS, size=1 << 16)
    drawn = torch.bincount(table, minlength=len(COUNTS)).double() / len(table)
    expected = torch.tensor(COUNTS, dtype=torch.float64) ** 0.75
    expected /= expected.sum()
    assert torch.allclose(drawn, expected, atol=1e-4)
    assert drawn[0] == 0  # <unk> (count 0) is never noise


def test_huffman_codes_are_prefix_free_and_shorter_for_frequent_words() -> None:
    points, codes = huffman_codes(COUNTS)
    words = ["".join(map(str, c)) for c in codes]
    assert len(set(words)) == len(COUNTS)
    for a in words:
        for b in words:
            assert a == b or not b.startswith(a)
    assert len(codes[1]) <= len(codes[2]) <= len(codes[7])
    assert all(0 <= p < len(COUNTS) - 1 for path in points for p in path)
    # Kraft's equality: a full binary tree
    assert math.isclose(sum(2.0 ** -len(c) for c in codes), 1.0)


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_hierarchical_softmax_probabilities_sum_to_one(arch: str) -> None:
    net = Word2Vec([4], len(COUNTS), COUNTS, arch=arch, objective="hierarchical_softmax",
                   embedding_dim=6)  # fmt: skip
    torch.nn.init.normal_(net.output.weight)
    hidden = torch.randn(5, 6)
    probabilities = net.word_probabilities(hidden)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(5), atol=1e-5)
    # the training loss of a word is -log of its probability
    word = 3
    loss = net.hierarchical_softmax_loss(hidden, torch.full((5,), word))
    assert loss.item() == pytest.approx(-probabilities[:, word].log().mean().item(), rel=1e-4)


@pytest.mark.parametrize("objective", ["negative_sampling", "hierarchical_softmax"])
@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_an_untrained_network_has_the_loss_it_says(arch: str, objective: str) -> None:
    counts = [0] + [1] * 15  # a balanced tree: every path 4 long
    net = Word2Vec([4], 16, counts, arch=arch, objective=objective, embedding_dim=8)
    centres = torch.tensor([1, 2, 3])
    contexts = torch.tensor([[4, 5, -1, -1], [6, -1, -1, -1], [7, 8, 9, 10]])
    assert net(centres, contexts).item() == pytest.approx(net.untrained_loss(), rel=1e-5)


def test_skipgram_learns_which_words_go_together() -> None:
    torch.manual_seed(0)
    counts = [0] + [100] * 8
    net = Word2Vec([2], 9, counts, embedding_dim=8)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    centres = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8] * 8)
    partner = {1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 7: 8, 8: 7}
    contexts = torch.tensor([[partner[int(c)], -1] for c in centres])
    for _ in range(200):
        optimizer.zero_grad()
        net(centres, contexts).backward()
        optimizer.step()
    assert net(centres, contexts).item() < 0.5 * net.untrained_loss()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"arch": "glove"}, "model.net.arch='glove': choose one of"),
        ({"objective": "softmax"}, "model.net.objective='softmax'"),
        ({"embedding_dim": 0}, "model.net.embedding_dim=0"),
        ({"num_noise": 0}, "model.net.num_noise=0"),
    ],
)
def test_bad_options_are_named(option: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Word2Vec([4], len(COUNTS), COUNTS, **option)
