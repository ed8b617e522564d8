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


POSITIVE = ["great", "moving", "gripping", "beautiful", "superb", "funny", "brilliant", "warm"]
NEGATIVE = ["dull", "lifeless", "boring", "awful", "tedious", "clumsy", "bland", "mess"]
FILLER = ["the", "film", "a", "story", "acting", "and", "was", "plot", "it", "is", "this"]


def sentiment_rows(n: int = 400, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) rows: a review is "pos" when it holds more positive than negative
    words (two to four opinion words among fillers)."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        major, minor = (POSITIVE, NEGATIVE) if label == "pos" else (NEGATIVE, POSITIVE)
        words = [rng.choice(major) for _ in range(rng.randint(2, 3))]
        words += [rng.choice(minor) for _ in range(rng.randint(0, 1))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(4, 10))]
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_sentiment_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment"])
        writer.writerows(sentiment_rows(n, seed))
    return path


SNLI_HEADER = (
    "gold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
    "sentence2_parse\tsentence1\tsentence2\tcaptionID\tpairID\tlabel1\tlabel2\tlabel3\t"
    "label4\tlabel5"
)
PEOPLE = ["man", "woman", "child", "dog", "girl", "boy", "worker", "player"]
ACTIONS = ["runs", "sleeps", "sings", "eats", "swims", "reads", "jumps", "cooks"]


def nli_rows(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """Rule-based pairs: the same subject and action -> entailment; the same subject and
    another action -> contradiction; another subject -> neutral."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        who, does = rng.choice(PEOPLE), rng.choice(ACTIONS)
        premise = f"a {rng.choice(['tall', 'small', 'young', 'old'])} {who} {does} outside"
        label = rng.choice(["entailment", "contradiction", "neutral"])
        if label == "entailment":
            hypothesis = f"a {who} {does}"
        elif label == "contradiction":
            hypothesis = f"a {who} {rng.choice([a for a in ACTIONS if a != does])}"
        else:
            hypothesis = f"a {rng.choice([p for p in PEOPLE if p != who])} {does}"
        rows.append((premise, hypothesis, label))
    return rows


def binary_parse(sentence: str) -> str:
    """A right-branching parse in SNLI's bracket style: ( a ( b ( c d ) ) )."""
    words = sentence.split()
    parse = words[-1]
    for word in reversed(words[:-1]):
        parse = f"( {word} {parse} )"
    return parse


def write_snli(root: Path, sizes: dict[str, int] | None = None, seed: int = 0) -> Path:
    """<root>/snli_1.0/snli_1.0_{train,dev,test}.txt in SNLI's exact columns, with a few
    rows labelled "-" (no agreement) that readers must drop."""
    folder = root / "snli_1.0"
    folder.mkdir(parents=True, exist_ok=True)
    sizes = sizes or {"train": 600, "dev": 100, "test": 100}
    for offset, (split, n) in enumerate(sizes.items()):
        lines = [SNLI_HEADER]
        for i, (p, h, label) in enumerate(nli_rows(n, seed + offset)):
            gold = "-" if i % 50 == 7 else label
            lines.append("\t".join([gold, binary_parse(p), binary_parse(h), "(ROOT)", "(ROOT)",
                                    p, h, "cap", f"{split}{i}", label, label, "", "", ""]))  # fmt: skip
        (folder / f"snli_1.0_{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
