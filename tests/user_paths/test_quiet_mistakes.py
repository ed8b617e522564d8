"""Trust round two, case 9: settings that were silently ignored or silently useless."""

from __future__ import annotations

import logging

import pytest

from dlzoo.data.translation import TranslationDataModule
from dlzoo.data.vocab import Vocab
from dlzoo.errors import ConfigError


def test_a_min_freq_that_makes_every_word_unknown_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        vocab = Vocab.build(
            ["the", "cat", "sat", "on", "the", "mat"], min_freq=50, reserved=["<unk>"]
        )
    assert len(vocab) == 1
    assert "every word is <unk>" in caplog.text and "seen 2 times" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Vocab.build(["the", "cat", "sat", "on", "the", "mat"], min_freq=2, reserved=["<unk>"])
    assert not caplog.text


def test_a_source_beside_a_path_is_refused_not_ignored(tmp_path) -> None:  # noqa: ANN001
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("go .\tva !\n")
    with pytest.raises(ConfigError, match="data.source=gettext with data.path=.*drop one"):
        TranslationDataModule(path=str(pairs), source="gettext")
    assert TranslationDataModule(path=str(pairs), source="file").source == "file"
    assert TranslationDataModule(path=str(pairs)).source == "file"  # auto: the file
