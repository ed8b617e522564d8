"""Word embeddings end to end on a generated corpus: train, the record, the nearest words
from the checkpoint alone (predict.py and embeddings.py), export in word2vec's format, and
export.py's plain refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import QUIET, compose_config, run_script
from dlzoo.commands.embeddings import embeddings
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError
from dlzoo.inference.word_vectors import WordVectors
from text_data import TOPICS, write_topic_corpus


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("word2vec")
    corpus = write_topic_corpus(root / "corpus.txt")
    cfg = compose_config(
        [
            "experiment=word2vec_skipgram",
            f"data.path={corpus}",
            "data.min_freq=5",
            "data.subsample_threshold=0",
            "data.max_window_size=2",
            "model.net.embedding_dim=16",
            # the mechanics on a toy corpus: a plain, dense setup (the recipe is measured
            # on real text in docs/word_embeddings.md; sparse training is tested below)
            "model.net.sparse=false",
            "optimizer=adam",
            "scheduler=none",
            "optimizer.lr=0.01",
            "trainer.max_epochs=3",
            *QUIET,
        ],
        root / "run",
    )
    record = train(cfg)
    assert record["status"] == "completed"
    return root / "run"


def test_training_learns_the_topics_and_records_the_corpus(trained: Path) -> None:
    record = json.loads((trained / "metrics.json").read_text())
    assert record["task"] == "word_embedding" and record["monitor"] == "val/loss"
    assert record["baseline"]["how"] == "scores of zero" and record["baseline"]["learned"]
    assert record["data_source"]["sources"][0]["sentences"] == 1500


def test_the_checkpoint_alone_answers_the_nearest_words(trained: Path, tmp_path: Path) -> None:
    cfg = compose_config([f"ckpt_path={trained}", "text=cat", "top_k=5"], tmp_path, "predict")
    nearest = [w for w, _ in predict(cfg)[0]["nearest"]]
    assert sum(w in TOPICS["animals"] for w in nearest) >= 4, nearest


def test_embeddings_command_exports_vectors_and_refuses_unknown_words(
    trained: Path, tmp_path: Path
) -> None:
    out = tmp_path / "vectors.txt"
    cfg = compose_config([f"vectors={trained}", "similar=hammer", f"export={out}"], tmp_path,
                         "embeddings")  # fmt: skip
    done = embeddings(cfg)
    assert sum(w in TOPICS["tools"] for w, _ in done["similar"][:5]) >= 4
    assert out.read_text().splitlines()[0].endswith(" 16")
    result = run_script("embeddings.py", f"vectors={out}", "similar=zebra")
    assert result.returncode == 2 and "'zebra' is not among" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_says_plainly_what_to_do_instead(trained: Path, tmp_path: Path) -> None:
    cfg = compose_config([f"ckpt_path={trained}", f"output={tmp_path}/w.pt"], tmp_path, "export")
    with pytest.raises(ConfigError, match="scripts/embeddings.py vectors=<checkpoint> export="):
        export(cfg)


def recipe_on_a_small_corpus(experiment: str, corpus: Path, *extra: str) -> list[str]:
    """A recipe's own optimizer, schedule and sparse gradients, on a small generated corpus."""
    return [
        f"experiment={experiment}",
        f"data.path={corpus}",
        "data.min_freq=2",
        "data.subsample_threshold=0",  # every word of a 40-word corpus is "frequent"
        "data.batch_size=256",
        "model.net.embedding_dim=16",
        "trainer.max_epochs=2",
        "trainer.deterministic=true",
        *QUIET,
        *extra,
    ]


def test_the_skipgram_recipe_trains_and_resumes_exactly_after_an_interruption(
    tmp_path: Path,
) -> None:
    """Sparse SGD with linear decay and a fresh subsample every epoch: a Ctrl-C in the
    second epoch, then resume=auto, gives the unbroken run's figures (the interrupted epoch's
    draw is replayed, not drawn anew)."""
    from dlzoo.errors import TrainingInterrupted

    corpus = write_topic_corpus(tmp_path / "corpus.txt", sentences=600)
    # the recipe's rate is for subsampled text: without subsampling the three filler words
    # fill every batch, and their summed steps need a rate 10x lower
    base = recipe_on_a_small_corpus("word2vec_skipgram", corpus, "optimizer.lr=20")
    reference = train(compose_config(base, tmp_path / "reference"))
    assert reference["status"] == "completed" and reference["baseline"]["learned"]
    steps_per_epoch = reference["global_steps"] // 2
    interrupt = ["+callbacks.ask._target_=stall.InterruptAtStep",
                 f"+callbacks.ask.step={steps_per_epoch + 3}"]  # fmt: skip
    with pytest.raises(TrainingInterrupted):
        train(compose_config([*base, *interrupt], tmp_path / "run"))
    resumed = train(compose_config([*base, "resume=auto"], tmp_path / "run"))
    for name, value in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize(
    ("experiment", "extra", "query"),
    [
        ("glove", [], "cat"),
        ("fasttext", ["optimizer.lr=20"], "hammers"),  # lr: as the skip-gram test says
        ("word2vec_cbow", ["optimizer=sparse_adam", "scheduler=none", "optimizer.lr=0.05"], "cat"),
    ],
)
def test_the_other_recipes_train_and_answer_from_the_checkpoint(
    experiment: str, extra: list[str], query: str, tmp_path: Path
) -> None:
    """GloVe on co-occurrence counts; fastText also answers a word it never saw
    ("hammers") from its character n-grams; CBOW with SparseAdam, whose state (its betas
    once a ListConfig) must load with weights_only when the best checkpoint is tested."""
    corpus = write_topic_corpus(tmp_path / "corpus.txt", sentences=600)
    options = recipe_on_a_small_corpus(experiment, corpus, *extra)
    record = train(compose_config(options, tmp_path / "run"))
    assert record["status"] == "completed" and record["baseline"]["learned"], record["baseline"]
    cfg = compose_config([f"ckpt_path={tmp_path / 'run'}", f"text={query}", "top_k=3"], tmp_path,
                         "predict")  # fmt: skip
    nearest = [w for w, _ in predict(cfg)[0]["nearest"]]
    topic = "animals" if query == "cat" else "tools"
    assert sum(w in TOPICS[topic] for w in nearest) >= 2, nearest


def test_mismatched_model_and_data_and_bad_options_are_one_message(tmp_path: Path) -> None:
    """experiment=glove data=word_corpus ended in a TypeError deep in training."""
    corpus = write_topic_corpus(tmp_path / "corpus.txt", sentences=300)
    for options, message in [
        (["experiment=glove", "data=word_corpus"], "model=glove trains on cooccurrence"),
        (["experiment=word2vec_skipgram", "data=word_cooccurrence"], "model=word2vec"),
        (["experiment=word2vec_skipgram", "data.max_sentences=-5"], "data.max_sentences=-5"),
    ]:
        cfg = compose_config([*options, f"data.path={corpus}", *QUIET], tmp_path / "run")
        with pytest.raises(ConfigError, match=message):
            train(cfg)


def test_the_vectors_leave_out_unk_and_a_word_too_short_for_ngrams_is_refused(
    trained: Path, tmp_path: Path
) -> None:
    from dlzoo.commands.embeddings import load_vectors
    from dlzoo.models.fasttext import FastText

    assert "<unk>" not in load_vectors(str(trained)).words
    net = FastText([2], 3, [0, 5, 5], ["<unk>", "cat", "dog"], embedding_dim=4, buckets=50)
    vectors = WordVectors(["cat", "dog"], net.vectors()[1:], oov=net.word_vector)
    with pytest.raises(ConfigError, match="'x' .* too short to have character n-grams"):
        vectors.similar("x")


def test_a_finite_but_exploding_loss_is_called_divergence() -> None:
    """On a newcomer's own small corpus the recipe's rate sent the loss to 1e29 while it
    stayed finite, and the run said "completed"."""
    from types import SimpleNamespace
    from unittest.mock import PropertyMock, patch

    from dlzoo.errors import TrainingDiverged
    from dlzoo.models.word2vec import Word2Vec
    from dlzoo.tasks.word_embedding import WordEmbeddingTask

    net = Word2Vec([4], 5, [0, 4, 3, 2, 1])
    task = WordEmbeddingTask(net, optimizer=lambda p: torch.optim.SGD(p, lr=280.0))
    optimizer = task.optimizer_factory(net.parameters())
    for loss, diverges in ((3.0, False), (2.7e6, True)):
        fake = SimpleNamespace(callback_metrics={"train/loss_epoch": torch.tensor(loss)},
                               optimizers=[optimizer], current_epoch=1)  # fmt: skip
        with patch.object(WordEmbeddingTask, "trainer", new_callable=PropertyMock) as trainer:
            trainer.return_value = fake
            if diverges:
                with pytest.raises(TrainingDiverged, match=r"it was 280\): lower optimizer.lr"):
                    task.on_train_epoch_end()
            else:
                task.on_train_epoch_end()
