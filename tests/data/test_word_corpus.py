"""The word corpus: tokens, vocabulary, subsampling, context windows, splits, sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlzoo.data.word_corpus import (
    WordCorpusDataModule,
    context_windows,
    keep_probabilities,
    word_tokens,
)
from dlzoo.errors import ConfigError, DataError
from text_data import write_topic_corpus


def test_word_tokens_are_lower_case_words() -> None:
    assert word_tokens("The Time-Traveller's 2 dogs, don't!") == [
        "the", "time", "traveller's", "2", "dogs", "don't",
    ]  # fmt: skip


def test_subsampling_keeps_a_word_with_probability_sqrt_t_over_f() -> None:
    counts = np.array([0, 9000, 900, 90, 10], dtype=float)  # 10,000 words
    keep = keep_probabilities(counts, 1e-2)
    assert keep[1] == pytest.approx(np.sqrt(1e-2 / 0.9))
    assert keep[3] == 1.0 and keep[4] == 1.0
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(5), counts.astype(int))
    kept = rng.random(len(ids)) < keep[ids]
    assert kept[ids == 1].mean() == pytest.approx(keep[1], abs=0.02)


def test_context_windows_stay_inside_sentences_and_the_random_width() -> None:
    ids = np.arange(10)
    sentence = np.array([0] * 6 + [1] * 4)
    windows = context_windows(ids, sentence, 2, np.random.default_rng(0))
    assert windows.shape == (10, 4)
    for i, row in enumerate(windows):
        others = row[row >= 0]
        assert all(sentence[o] == sentence[i] and 0 < abs(o - i) <= 2 for o in others)
        assert len(others) >= 1
    # widths are drawn from 1..max: some windows hold fewer words than the maximum
    full = context_windows(np.arange(200), np.zeros(200, int), 3, np.random.default_rng(1))
    sizes = (full[3:-3] >= 0).sum(axis=1)
    assert set(sizes) == {2, 4, 6}


def test_the_datamodule_splits_sentences_and_keeps_its_vocabulary(tmp_path: Path) -> None:
    corpus = write_topic_corpus(tmp_path / "corpus.txt")
    dm = WordCorpusDataModule(path=str(corpus), min_freq=5, subsample_threshold=0)
    spec = dm.spec
    assert spec.tokens[0] == "<unk>" and spec.counts[0] == 0
    assert list(spec.counts[1:]) == sorted(spec.counts[1:], reverse=True)
    dm.setup()
    sizes = {k: len(v[0]) for k, v in dm.splits.items()}
    assert sizes["train"] > 10 * sizes["val"] > 0 and sizes["test"] > 0
    restored = WordCorpusDataModule(path="/nonexistent")
    restored.load_state_dict(dm.state_dict())
    assert restored.spec == spec  # no text read


def test_every_epoch_draws_fresh_windows_of_one_length_and_a_resume_replays_its_epoch(
    tmp_path: Path,
) -> None:
    corpus = write_topic_corpus(tmp_path / "corpus.txt")
    dm = WordCorpusDataModule(path=str(corpus), min_freq=5, batch_size=64)
    loader = dm.train_dataloader()

    def epoch(e: int, skip: int = 0) -> list[tuple]:
        loader.load_state_dict({"epoch": e, "batches_yielded": skip})
        return list(iter(loader))

    first, second = epoch(0), epoch(1)
    assert len(first) == len(second) == len(loader)
    assert sum(len(b[0]) for b in second) == len(dm.splits["train"][0])
    assert not all(a[0].equal(b[0]) for a, b in zip(first, second, strict=True))
    replayed = epoch(1, skip=2)  # a run killed after two batches of epoch 1
    assert all(a[1].equal(b[1]) for a, b in zip(second[2:], replayed, strict=True))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"path": "missing.txt"}, ConfigError, "data.path='missing.txt': no such file"),
        ({"min_freq": 0}, ConfigError, "data.min_freq=0"),
        ({"max_window_size": 0}, ConfigError, "data.max_window_size=0"),
        ({"min_freq": 10_000}, DataError, "lower data.min_freq"),
    ],
)
def test_bad_corpora_and_options_are_one_message(
    tmp_path: Path, options: dict, error: type, message: str
) -> None:
    corpus = write_topic_corpus(tmp_path / "corpus.txt")
    with pytest.raises(error, match=message):
        _ = WordCorpusDataModule(**{"path": str(corpus), **options}).spec


def test_a_non_utf8_or_empty_file_is_named(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        _ = WordCorpusDataModule(path=str(latin)).spec
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="holds no text"):
        _ = WordCorpusDataModule(path=str(empty)).spec


def test_the_books_ptb_is_downloaded_when_asked_for_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """data.sources=[ptb]: the book's zip (here a local one, by a file:// address) unpacked
    into the data folder; a failed download names the address and the offline way."""
    import zipfile

    from dlzoo.data import corpus_sources

    archive = tmp_path / "ptb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("train", "valid", "test"):
            zf.writestr(f"ptb/ptb.{name}.txt", " the cat sat on the mat \n" * 50)
    monkeypatch.setattr(corpus_sources, "PTB_URL", archive.as_uri())
    dm = WordCorpusDataModule(data_dir=str(tmp_path / "data"), sources=["ptb"], min_freq=1)
    assert dm.sentences()["train"][0] == ["the", "cat", "sat", "on", "the", "mat"]
    assert (tmp_path / "data" / "ptb" / "ptb.test.txt").is_file()
    monkeypatch.setattr(corpus_sources, "PTB_URL", "http://127.0.0.1:9/ptb.zip")
    with pytest.raises(DataError, match=r"127.0.0.1:9/ptb.zip failed .*data.sources=\[wikipedia"):
        WordCorpusDataModule(data_dir=str(tmp_path / "none"), sources=["ptb"]).sentences()
