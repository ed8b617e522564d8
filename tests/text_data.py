"""A small English text as the Time Machine's stand-in, and a tiny GRU trained on it: the
language-model and sampling tests share them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train

SENTENCES = (
    "The Time Traveller (for so it will be convenient to speak of him) was expounding a "
    "recondite matter to us. His grey eyes shone and twinkled, and his usually pale face "
    "was flushed and animated. The fire burned brightly, and the soft radiance of the "
    "incandescent lights in the lilies of silver caught the bubbles that flashed and "
    "passed in our glasses. "
)


@pytest.fixture(scope="session")
def text_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a small English text saved as timemachine.txt (not the real one, so
    tests pass ``data.sha1=null``)."""
    root = tmp_path_factory.mktemp("text")
    (root / "timemachine.txt").write_text(SENTENCES * 12)
    return root


def text_overrides(text_dir: Path, *extra: str) -> list[str]:
    return [
        "data=timemachine",
        f"data.data_dir={text_dir}",
        "data.sha1=null",
        "data.num_steps=8",
        "data.batch_size=4",
        "data.eval_batch_size=4",
        *extra,
    ]


@pytest.fixture(scope="session")
def trained_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, text_dir: Path
) -> tuple[Path, Path]:
    """A tiny GRU trained for a few epochs: (best checkpoint, run dir)."""

    run_dir = tmp_path_factory.mktemp("lm_run")
    cfg = compose_config(
        [
            *QUIET,
            *text_overrides(
                text_dir, "model=gru", "model.net.hidden_size=32", "model.net.num_layers=1"
            ),
            "optimizer=adam",
            "optimizer.lr=0.02",
            "scheduler=none",
            "trainer.max_epochs=4",
            "data.num_steps=16",
            "data.batch_size=8",
            "data.sample_tokens=20",
            "trainer.accelerator=cpu",
            "trainer.log_every_n_steps=5",
        ],
        run_dir,
    )
    record = train(cfg)
    return Path(record["best_checkpoint"]), run_dir


TOPICS = {
    "animals": ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck", "hen", "mouse"],
    "tools": [
        "hammer",
        "saw",
        "drill",
        "wrench",
        "chisel",
        "pliers",
        "file",
        "vice",
        "clamp",
        "plane",
    ],
    "food": ["bread", "cheese", "apple", "soup", "rice", "bean", "pear", "plum", "cake", "milk"],
}


def write_topic_corpus(path: Path, sentences: int = 1500, seed: int = 0) -> Path:
    """Sentences of words from one topic each, with common words between them: words of a
    topic share contexts, so a word-embedding model learns to put them together."""
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(sentences):
        words = TOPICS[rng.choice(sorted(TOPICS))]
        lines.append(
            " ".join(
                rng.choice(words) if rng.random() < 0.7 else rng.choice(["the", "a", "and"])
                for _ in range(10)
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path
