"""BERT (the book's 15.8-15.10): the pretraining data's masking and pairs, padding in
attention, pretraining end to end from a user's text, mask filling, and the Hugging Face
export that transformers loads with the same outputs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import HUGGINGFACE_DIR, QUIET, compose_config, huggingface_transformers
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.config.restore import restore
from dlzoo.data.bert_pretraining import (
    CLS,
    IS_NEXT,
    MASK,
    PAD,
    RANDOM_NEXT,
    SEP,
    SPECIALS,
    UNK,
    mask_tokens,
    next_sentence_pairs,
    pack_pair,
)  # fmt: skip
from dlzoo.errors import ConfigError, DataError
from dlzoo.models.bert import BERT, BERTClassifier, pack_for_bert
from dlzoo.models.bert_huggingface import write_huggingface

SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the farmer", "a teacher"]
VERBS = ["saw", "liked", "fed", "called", "followed", "helped"]
OBJECTS = ["the bird", "a horse", "the child", "the king", "a stranger", "the baker"]


def write_paragraphs(path: Path, n: int = 60, seed: int = 0) -> Path:
    """Paragraphs of three to five generated sentences, one paragraph a line."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        sentences = [
            f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"in the {rng.choice(['morning', 'evening', 'rain', 'garden'])}."
            for _ in range(int(rng.integers(3, 6)))
        ]
        lines.append(" ".join(sentences))
    path.write_text("\n".join(lines) + "\n")
    return path


def pretraining_options(text: Path, *extra: str) -> list[str]:
    return [
        "experiment=bert_pretrain",
        f"data.path={text}",
        "data.max_len=24",
        "data.min_freq=1",
        "data.vocabulary_covers=[]",  # the recipe covers Rotten Tomatoes' words: not here
        "data.batch_size=32",
        "data.val_fraction=0.1",
        "data.test_fraction=0.1",
        "model.net.num_hiddens=32",
        "model.net.ffn_hiddens=64",
        "model.net.num_heads=2",
        "trainer.max_epochs=6",
        "optimizer.lr=0.01",
        *QUIET,
        *extra,
    ]


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bert")
    text = write_paragraphs(root / "paragraphs.txt", n=200)
    record = train(compose_config(pretraining_options(text), root / "run"))
    assert record["status"] == "completed"
    return root / "run"


# -- the data ------------------------------------------------------------------------------
def test_masking_follows_the_books_proportions_over_many_draws() -> None:
    rng = np.random.default_rng(0)
    n, width, vocab = 4000, 40, 1000
    lengths = rng.integers(10, width + 1, n)
    tokens = np.full((n, width), PAD)
    for i, length in enumerate(lengths):
        tokens[i, :length] = rng.integers(len(SPECIALS), vocab, length)
        tokens[i, 0], tokens[i, length - 1] = CLS, SEP
    tokens[0, 3] = UNK
    masked, positions, weights, labels = mask_tokens(tokens, lengths, vocab, 6, rng)
    counts = weights.sum(axis=1)
    np.testing.assert_array_equal(counts, np.clip(np.rint(0.15 * lengths), 1, 6))
    rows, cols = np.nonzero(weights)
    chosen = positions[rows, cols]
    original = tokens[rows, chosen]
    assert (original >= len(SPECIALS)).all(), "only words are masked: no <cls>, <sep>, <unk>"
    np.testing.assert_array_equal(labels[rows, cols], original)
    now = masked[rows, chosen]
    shares = [
        (now == MASK).mean(),
        ((now != MASK) & (now != original)).mean(),
        (now == original).mean(),
    ]
    assert shares == pytest.approx([0.8, 0.1, 0.1], abs=0.015)
    untouched = np.ones_like(tokens, dtype=bool)
    untouched[rows, chosen] = False
    np.testing.assert_array_equal(masked[untouched], tokens[untouched])
    assert len(set(zip(rows.tolist(), chosen.tolist(), strict=True))) == len(rows), (
        "no position twice"
    )


def test_pairs_are_half_random_from_the_same_source_with_segments_and_lengths() -> None:
    rng = np.random.default_rng(1)
    docs = [[np.arange(10 * d + s, 10 * d + s + 1) + 5 for s in range(4)] for d in range(300)]
    sources = ["a" if d % 2 else "b" for d in range(300)]
    tokens, segments, lengths, labels = next_sentence_pairs(docs, sources, 8, rng)
    assert len(labels) == 300 * 3
    assert labels.mean() == pytest.approx(0.5, abs=0.05)
    for i in range(len(labels)):
        n = lengths[i]
        assert tokens[i, 0] == CLS and tokens[i, 2] == SEP and tokens[i, n - 1] == SEP
        assert (tokens[i, n:] == PAD).all() and n == 5
        np.testing.assert_array_equal(segments[i, :n], [0, 0, 0, 1, 1])
        first, second = tokens[i, 1] - 5, tokens[i, 3] - 5
        if labels[i] == IS_NEXT:
            assert second == first + 1
        else:
            assert labels[i] == RANDOM_NEXT and (first // 10) % 2 == (second // 10) % 2
    ids, segs = pack_pair(np.arange(5, 25), np.arange(5, 9), 12)
    assert list(ids) == [CLS, 5, 6, 7, 8, 9, SEP, 5, 6, 7, 8, SEP], "the longer one is cut"
    assert list(segs) == [0] * 7 + [1] * 5


def test_a_padded_batch_gives_the_unpadded_outputs() -> None:
    torch.manual_seed(0)
    net = BERT((12,), 30, num_hiddens=16, num_heads=2, num_layers=2, ffn_hiddens=32).eval()
    short = torch.tensor([[CLS, 7, 8, 9, SEP, 10, SEP]])
    padded = torch.cat([short, torch.full((1, 5), PAD)], dim=1)
    segs = torch.tensor([[0, 0, 0, 0, 0, 1, 1]])
    with torch.no_grad():
        alone, mlm_alone, nsp_alone = net(short, segs, torch.tensor([7]))
        pad_segs = torch.cat([segs, torch.zeros(1, 5, dtype=torch.long)], dim=1)
        inside, mlm_inside, nsp_inside = net(padded, pad_segs, torch.tensor([7]))
    torch.testing.assert_close(inside[:, :7], alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(nsp_inside, nsp_alone, atol=1e-5, rtol=0)
    with torch.no_grad():  # without the length the padding is attended to: outputs change
        unmasked, _, _ = net(padded, pad_segs, None)
    assert (unmasked[:, :7] - alone).abs().max() > 1e-3


def test_mean_pooling_averages_the_tokens_and_ignores_the_padding() -> None:
    """``model.net.pooling=mean``: the classifier reads the average of the encoded tokens of
    the pair (padding left out), with no pooler; other values are refused by name."""
    torch.manual_seed(0)
    vocab = [*SPECIALS, *"abcdefghij"]
    net = BERTClassifier((8,), 2, vocab, num_hiddens=16, num_heads=2, num_layers=1,
                         ffn_hiddens=32, max_len=12, pooling="mean").eval()  # fmt: skip
    assert net.pooler is None and all(
        p.requires_grad for g in net.parameter_groups() for p in g["params"]
    )
    short = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0, 0]])
    with torch.no_grad():
        torch.testing.assert_close(net(padded), net(short), atol=1e-5, rtol=0)
        tokens, segments, lengths = pack_for_bert(short, 12)
        expected = net.output(net.encoder(tokens, segments, lengths).mean(1))
        torch.testing.assert_close(net(short), expected, atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="model.net.pooling='max'.*cls, mean"):
        BERTClassifier((8,), 2, vocab, pooling="max")


# -- Hugging Face ----------------------------------------------------------------------------
def test_the_huggingface_folder_gives_the_same_hidden_states_and_scores(tmp_path: Path) -> None:
    transformers: Any = huggingface_transformers()
    torch.manual_seed(0)
    net = BERT((16,), 40, num_hiddens=32, num_heads=4, num_layers=2, ffn_hiddens=48,
               layout="huggingface").eval()  # fmt: skip
    with torch.no_grad():  # move every weight off its initial value (LayerNorms too)
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    words = [*SPECIALS, *(f"w{i}" for i in range(40 - len(SPECIALS)))]
    folder = write_huggingface(net, words, tmp_path / "hf")
    hf = transformers.BertForPreTraining.from_pretrained(folder).eval()
    tokens = torch.randint(len(SPECIALS), 40, (3, 16))
    lengths = torch.tensor([16, 9, 4])
    mask = (torch.arange(16)[None] < lengths[:, None]).long()
    tokens, segments = tokens * mask, (torch.arange(16)[None] >= 6).long().expand(3, -1) * mask
    with torch.no_grad():
        encoded, mlm, nsp = net(tokens, segments, lengths)
        out = hf(input_ids=tokens, token_type_ids=segments, attention_mask=mask,
                 output_hidden_states=True)  # fmt: skip
    valid = mask.bool()
    assert (encoded - out.hidden_states[-1])[valid].abs().max() <= 1e-4
    assert (mlm - out.prediction_logits)[valid].abs().max() <= 1e-4
    assert (nsp - out.seq_relationship_logits).abs().max() <= 1e-4
    assert (folder / "vocab.txt").read_text().splitlines()[:5] == list(SPECIALS)


def test_the_books_layout_is_refused_by_the_huggingface_export(tmp_path: Path) -> None:
    net = BERT((8,), 20, num_hiddens=8, num_heads=2, num_layers=1, ffn_hiddens=8)
    with pytest.raises(ConfigError, match="layout=huggingface"):
        write_huggingface(net, [f"w{i}" for i in range(20)], tmp_path / "hf")


# -- the user's path -------------------------------------------------------------------------
def test_pretraining_records_both_losses_and_accuracies(bert_run: Path) -> None:
    record = json.loads((bert_run / "metrics.json").read_text())
    assert record["task"] == "pretraining" and record["monitor"] == "val/mlm_loss"
    for stage in ("val", "test"):
        for part in ("mlm_loss", "mlm_acc", "nsp_loss", "nsp_acc"):
            assert f"{stage}/{part}" in record["metrics"], (stage, part)
    baseline = record["baseline"]
    assert baseline["metric"] == "test/mlm_loss" and baseline["learned"]
    assert record["metrics"]["test/mlm_loss"] < baseline["value"]


def test_predict_fills_masks_from_the_checkpoint_alone(bert_run: Path, tmp_path: Path) -> None:
    cfg = compose_config([f"ckpt_path={bert_run}", "text='The cat <mask> the bird in the <mask>.'",
                          "top_k=3"], tmp_path, "predict")  # fmt: skip
    (record,) = predict(cfg)
    assert len(record["masks"]) == 2 and all(len(m) == 3 for m in record["masks"])
    second = [w for w, _ in record["masks"][1]]
    assert {"morning", "evening", "rain", "garden"} & set(second), second
    assert all(0 < p <= 1 for m in record["masks"] for _, p in m)
    no_mask = compose_config([f"ckpt_path={bert_run}", "text=the cat"], tmp_path, "predict")
    with pytest.raises(ConfigError, match="holds no <mask>"):
        predict(no_mask)


def test_the_exported_folder_loads_in_transformers_in_a_fresh_process(
    bert_run: Path, tmp_path: Path
) -> None:
    huggingface_transformers()
    folder = export(compose_config([f"ckpt_path={bert_run}", "format=huggingface",
                                    f"output={tmp_path / 'hf'}"], tmp_path, "export"))  # fmt: skip
    code = (
        f"import sys, torch; sys.path.append({str(HUGGINGFACE_DIR)!r}); "
        "from transformers import BertForPreTraining; "
        "m = BertForPreTraining.from_pretrained(sys.argv[1]).eval(); "
        "ids = torch.tensor([[2, 5, 4, 6, 3]]); "
        "print(m(input_ids=ids).prediction_logits[0, 2].tolist())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = torch.tensor(json.loads(done.stdout.strip().splitlines()[-1]))
    net = restore(str(bert_run)).module.net.eval()
    with torch.no_grad():
        _, ours, _ = net(torch.tensor([[2, 5, 4, 6, 3]]))
    assert (ours[0, 2] - theirs).abs().max() <= 1e-4


# -- fine-tuning -------------------------------------------------------------------------------
def test_texts_and_pairs_are_packed_as_bert_reads_them() -> None:
    tokens, segments, lengths = pack_for_bert(torch.tensor([[5, 6, 7, 0, 0], [5, 0, 0, 0, 0]]), 64)
    assert tokens.tolist() == [[CLS, 5, 6, 7, SEP], [CLS, 5, SEP, PAD, PAD]]
    assert segments.tolist() == [[0] * 5, [0] * 5] and lengths.tolist() == [5, 3]
    pair = torch.tensor([[[5, 6, 0], [7, 8, 9]]])
    tokens, segments, lengths = pack_for_bert(pair, 64)
    assert tokens.tolist() == [[CLS, 5, 6, SEP, 7, 8, 9, SEP]]
    assert segments.tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]] and lengths.tolist() == [8]
    tokens, _, lengths = pack_for_bert(torch.tensor([[5, 6, 7, 8, 9]]), 6)
    assert tokens.tolist() == [[CLS, 5, 6, 7, 8, SEP]] and lengths.tolist() == [6]
    tokens, segments, _ = pack_for_bert(torch.tensor([[[5, 6, 7, 8, 9], [10, 11, 0, 0, 0]]]), 7)
    assert tokens.tolist() == [[CLS, 5, 6, SEP, 10, 11, SEP]], "the longer text is cut"
    assert segments.tolist() == [[0, 0, 0, 0, 1, 1, 1]]


def write_time_of_day_csv(path: Path, n: int = 300, seed: int = 1) -> Path:
    """Generated sentences in the pretraining words, labelled by when they happen."""
    rng = np.random.default_rng(seed)
    rows = ["text,label"]
    for _ in range(n):
        when = str(rng.choice(["morning", "evening", "rain", "garden"]))
        text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} in the {when}"
        rows.append(f"{text},{'day' if when in ('morning', 'evening') else 'weather'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def finetune_options(csv: Path, pretrained: Path | None, *extra: str) -> list[str]:
    return [
        "experiment=bert_finetune_sentiment",
        f"model.pretrained={pretrained if pretrained else 'null'}",
        "data=text_csv",
        f"data.path={csv}",
        "data.num_steps=16",
        "model.net.num_hiddens=32",
        "model.net.ffn_hiddens=64",
        "model.net.max_len=24",
        "trainer.max_epochs=3",
        *QUIET,
        *extra,
    ]


def test_finetuning_starts_from_the_pretrained_encoder_and_predicts(
    bert_run: Path, tmp_path: Path
) -> None:
    csv = write_time_of_day_csv(tmp_path / "when.csv")
    options = finetune_options(csv, bert_run, "optimizer.lr=0.003", "model.net.head_lr=0.01",
                               "trainer.max_epochs=8")  # fmt: skip
    record = train(compose_config(options, tmp_path / "tuned"))
    assert record["status"] == "completed" and record["task"] == "text_classification"
    assert record["metrics"]["test/acc"] > 0.8, record["metrics"]  # majority: ~0.5
    cfg = compose_config([f"ckpt_path={tmp_path / 'tuned'}", "text='The cat fed a horse in the rain.'"],
                         tmp_path, "predict")  # fmt: skip
    (prediction,) = predict(cfg)
    assert prediction["top_k"][0][0] == "weather"
    # the exported classifier takes any batch (it was traced on two texts), both formats
    module = restore(str(tmp_path / "tuned")).module.eval()
    ort = pytest.importorskip("onnxruntime")
    for fmt in ("torchscript", "onnx"):
        out = tmp_path / f"classifier_{fmt}"
        path = export(compose_config([f"ckpt_path={tmp_path / 'tuned'}", f"format={fmt}",
                                      f"output={out}"], tmp_path, "export"))  # fmt: skip
        for batch in (1, 3):
            x = torch.randint(5, 20, (batch, 16))
            x[0, 6:] = PAD
            with torch.no_grad():
                expected = module.net(x)
            if fmt == "torchscript":
                got = torch.jit.load(str(path))(x)
            else:
                session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                got = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0, msg=f"{fmt} {batch}")


def test_a_random_start_a_frozen_encoder_and_clear_errors(
    bert_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    csv = write_time_of_day_csv(tmp_path / "when.csv", n=100)
    control = finetune_options(csv, None, f"model.vocabulary={bert_run}", "trainer.max_epochs=1")
    record = train(compose_config(control, tmp_path / "random"))
    assert record["status"] == "completed"
    random_frozen = [*control, "model.net.freeze_encoder=true"]
    with caplog.at_level(logging.WARNING):
        train(compose_config(random_frozen, tmp_path / "random_frozen"))
    assert "the encoder stays random and only the head learns" in caplog.text
    frozen = finetune_options(
        csv, bert_run, "model.net.freeze_encoder=true", "trainer.max_epochs=1"
    )
    train(compose_config(frozen, tmp_path / "frozen"))
    pretrained = restore(str(bert_run)).module.net.encoder.state_dict()
    tuned = restore(str(tmp_path / "frozen")).module.net.encoder.state_dict()
    for key, value in pretrained.items():  # frozen: the pretrained encoder, unchanged
        torch.testing.assert_close(tuned[key], value, msg=key)
    with pytest.raises(ConfigError, match="BERT pretraining vocabulary"):  # neither given
        train(compose_config(finetune_options(csv, None), tmp_path / "none"))
    wrong_size = finetune_options(csv, bert_run, "model.net.num_hiddens=16")
    with pytest.raises(ConfigError, match="set model.net's sizes"):
        train(compose_config(wrong_size, tmp_path / "wrong"))
    # another layout copied 37 of 39 tensors and ran ReLU where pretraining ran GELU
    book = finetune_options(csv, bert_run, "model.net.layout=book")
    with pytest.raises(ConfigError, match="activation='gelu'.*set model.net.layout=huggingface"):
        train(compose_config(book, tmp_path / "book"))
    relu = finetune_options(csv, bert_run, "+model.net.activation=relu")
    with pytest.raises(ConfigError, match="activation='relu'"):
        train(compose_config(relu, tmp_path / "relu"))


def test_a_pretrained_tensor_with_no_place_in_the_network_is_refused() -> None:
    """Without the run's config to compare, the tensors still tell: the Hugging Face
    layout's embedding norm has no place in the book's network."""
    vocab = [*SPECIALS, *"abcdefghij"]
    pretrained = BERT((12,), len(vocab), num_hiddens=16, num_heads=2, num_layers=1,
                      ffn_hiddens=32, layout="huggingface")  # fmt: skip
    weights = {k: v for k, v in pretrained.state_dict().items()}
    book = BERTClassifier((8,), 2, vocab, num_hiddens=16, num_heads=2, num_layers=1,
                          ffn_hiddens=32, max_len=12, layout="book")  # fmt: skip
    with pytest.raises(ConfigError, match="encoder.embedding_norm.*model.net makes nothing"):
        book.load_pretrained(weights)
    same = BERTClassifier((8,), 2, vocab, num_hiddens=16, num_heads=2, num_layers=1,
                          ffn_hiddens=32, max_len=12, layout="huggingface")  # fmt: skip
    assert same.load_pretrained(weights, {"layout": "huggingface"}) > 0


def test_finetuning_on_sentence_pairs_reads_snli_and_predicts_a_pair(
    bert_run: Path, tmp_path: Path
) -> None:
    """The book's 16.7: experiment=bert_finetune_snli puts premise and hypothesis in one
    <cls> a <sep> b <sep> sequence (files in SNLI's exact layout, written here)."""
    from text_data import write_snli

    write_snli(tmp_path, {"train": 120, "dev": 30, "test": 30})
    options = ["experiment=bert_finetune_snli", f"model.pretrained={bert_run}",
               f"paths.data_dir={tmp_path}", "data.num_steps=12", "data.batch_size=32",
               "model.net.num_hiddens=32", "model.net.ffn_hiddens=64", "model.net.max_len=24",
               "trainer.max_epochs=1", *QUIET]  # fmt: skip
    record = train(compose_config(options, tmp_path / "tuned"))
    assert record["status"] == "completed" and record["task"] == "text_classification"
    assert [b["how"] for b in record["baselines"]][1:] == ["tfidf_logreg"]
    cfg = compose_config([f"ckpt_path={tmp_path / 'tuned'}", "premise=a man plays a guitar",
                          "hypothesis=a man plays music"], tmp_path, "predict")  # fmt: skip
    (prediction,) = predict(cfg)
    labels = {name for name, _ in prediction["top_k"]}
    assert labels <= {"entailment", "contradiction", "neutral"} and len(labels) >= 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("One sentence only.\nAnother line of one sentence.\n" * 20, "two or more sentences"),
        ("", "holds no text"),
        (b"Caf\xe9 society. It was late.\n", "not UTF-8"),
    ],
)
def test_a_text_that_cannot_make_pairs_is_one_clear_error(
    content: str | bytes, message: str, tmp_path: Path
) -> None:
    text = tmp_path / "mine.txt"
    text.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises((ConfigError, DataError), match=message):
        train(compose_config(pretraining_options(text), tmp_path / "run"))


def test_tensorboard_shows_masked_pairs_with_the_top_guesses(bert_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    texts = []
    for events in (bert_run / "tensorboard").glob("events.out.tfevents*"):
        acc = EventAccumulator(str(events), size_guidance={"tensors": 0})
        acc.Reload()
        if "val/masked_words/text_summary" in acc.Tags()["tensors"]:
            texts += [
                e.tensor_proto.string_val[0].decode()
                for e in acc.Tensors("val/masked_words/text_summary")
            ]
    assert texts, "no masked pairs in TensorBoard"
    last = texts[-1].splitlines()
    assert len(last) == 2 + 4 and last[2].startswith("| <cls> ") and "<sep>" in last[2]
    assert "**" in last[2], "each chosen word in bold with its guesses"


def test_the_vocabulary_covers_a_fine_tuning_datasets_training_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlzoo.data import bert_pretraining
    from dlzoo.data.text_sources import LabelledTexts

    reviews = {"train": [(("a splendid film",), "fresh")] * 3 + [(("a dreary film",), "rotten")],
               "test": [(("an unseen marvel",), "fresh")] * 9}  # fmt: skip
    monkeypatch.setitem(
        bert_pretraining.COVERABLE, "rotten_tomatoes", lambda _: LabelledTexts(reviews)
    )
    data = bert_pretraining.BertPretrainingDataModule(
        path=str(write_paragraphs(tmp_path / "p.txt")), min_freq=2,
        vocabulary_covers=["rotten_tomatoes"])  # fmt: skip
    words = data.vocabulary()
    assert "splendid" in words and "film" in words, "training words seen min_freq times"
    assert "dreary" not in words and "marvel" not in words, "rarer ones and other splits not"
    assert data.source_info["vocabulary_covers"] == {"rotten_tomatoes": 2}
    with pytest.raises(ConfigError, match="vocabulary_covers"):
        bert_pretraining.BertPretrainingDataModule(vocabulary_covers=["imbd"])


def test_a_fine_tuning_datasets_training_texts_join_the_training_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """data.unlabelled_texts: task-adaptive pretraining on the reviews, labels dropped;
    their validation and test texts stay unseen, and the corpus's own splits are unchanged."""
    from dlzoo.data import bert_pretraining
    from dlzoo.data.text_sources import LabelledTexts

    reviews = {"train": [((f"review number {i} was splendid",), "fresh") for i in range(5)],
               "test": [(("an unseen marvel",), "fresh")] * 9}  # fmt: skip
    monkeypatch.setitem(
        bert_pretraining.COVERABLE, "rotten_tomatoes", lambda _: LabelledTexts(reviews)
    )
    paragraphs = str(write_paragraphs(tmp_path / "p.txt"))
    plain = bert_pretraining.BertPretrainingDataModule(path=paragraphs, min_freq=1).documents()
    data = bert_pretraining.BertPretrainingDataModule(
        path=paragraphs, min_freq=1, unlabelled_texts=["rotten_tomatoes"], texts_per_document=2
    )
    docs = data.documents()
    assert docs["val"] == plain["val"] and docs["test"] == plain["test"]
    added = [d for d, s in zip(*docs["train"], strict=True) if s == "rotten_tomatoes"]
    # 5 texts, 2 a document: the last text alone cannot make a pair and is dropped
    assert added == [[["review", "number", str(i), "was", "splendid"] for i in (j, j + 1)]
                     for j in (0, 2)]  # fmt: skip
    assert docs["train"][0][: len(plain["train"][0])] == plain["train"][0]
    assert "marvel" not in data.vocabulary() and "splendid" in data.vocabulary()
    assert data.source_info["unlabelled_texts"] == {"rotten_tomatoes": 5}
    with pytest.raises(ConfigError, match="unlabelled_texts"):
        bert_pretraining.BertPretrainingDataModule(unlabelled_texts=["rotten"])
    with pytest.raises(ConfigError, match="texts_per_document=1"):
        bert_pretraining.BertPretrainingDataModule(texts_per_document=1)
