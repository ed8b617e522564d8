"""GloVe (the book's 15.5): the weighting function, the co-occurrence counts with distance
weighting, the loss of an untrained network, and that fitting recovers log counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dlzoo.data.cooccurrence import CooccurrenceDataModule, cooccurrence_counts
from dlzoo.errors import ConfigError
from dlzoo.models.glove import GloVe, glove_weight
from text_data import write_topic_corpus


def test_the_weighting_rises_as_x_over_x_max_to_the_alpha_then_caps_at_one() -> None:
    counts = torch.tensor([1.0, 10.0, 100.0, 1000.0])
    assert glove_weight(counts).tolist() == pytest.approx([0.1**1.5, 0.1**0.75, 1.0, 1.0])


def test_cooccurrences_weigh_one_over_distance_both_ways_inside_sentences() -> None:
    ids = np.array([1, 2, 3, 0, 1, 2])  # id 0 (<unk>) is left out before counting
    sentence = np.array([0, 0, 0, 0, 0, 1])
    rows, cols, counts = cooccurrence_counts(ids, sentence, max_window=2, vocab_size=4)
    table = {(int(r), int(c)): float(x) for r, c, x in zip(rows, cols, counts, strict=True)}
    # sentence 0 is 1 2 3 1 once <unk> goes (1 at distance 3 from itself: outside the
    # window); sentence 1 is a lone 2, counted with nothing
    assert table == pytest.approx(
        {(1, 2): 1 + 0.5, (2, 1): 1 + 0.5, (2, 3): 1, (3, 2): 1, (1, 3): 0.5 + 1, (3, 1): 0.5 + 1}
    )


def test_an_untrained_network_has_the_loss_it_says_and_fitting_recovers_log_counts() -> None:
    torch.manual_seed(0)
    net = GloVe([2], 6, embedding_dim=8)
    rows, cols = torch.tensor([1, 2, 3, 4, 5, 1]), torch.tensor([2, 1, 4, 3, 1, 5])
    counts = torch.tensor([50.0, 50.0, 5.0, 5.0, 200.0, 200.0])
    with torch.no_grad():
        for table in (net.centre, net.context):
            table.weight.zero_()
    assert net(rows, cols, counts).item() == pytest.approx(net.untrained_loss(counts), rel=1e-5)
    optimizer = torch.optim.Adagrad(net.parameters(), lr=0.2)
    for _ in range(300):
        optimizer.zero_grad()
        net(rows, cols, counts).backward()
        optimizer.step()
    assert net(rows, cols, counts).item() < 1e-3 * net.untrained_loss(counts)
    assert net.vectors().shape == (6, 8)


def test_bad_options_are_named() -> None:
    with pytest.raises(ConfigError, match="model.net.x_max=0"):
        GloVe([2], 6, x_max=0)


def test_the_datamodule_holds_out_word_pairs_both_ways_round(tmp_path: Path) -> None:
    corpus = write_topic_corpus(tmp_path / "corpus.txt")
    dm = CooccurrenceDataModule(path=str(corpus), min_freq=5, val_fraction=0.1)
    dm.setup()
    rows, cols, counts = dm.splits["train"]
    assert rows.dtype == cols.dtype == torch.long and bool((counts > 0).all())
    parts = {name: set(zip(*(t.tolist() for t in dm.splits[name][:2]), strict=True))
             for name in ("train", "val", "test")}  # fmt: skip
    assert parts["val"] and parts["test"] and not parts["train"] & parts["val"]
    assert {(j, i) for i, j in parts["val"]} == parts["val"]  # (i, j) with (j, i)
    assert dm.split_targets("test").dtype == torch.float32
