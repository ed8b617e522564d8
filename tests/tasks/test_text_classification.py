"""Text classification end to end (the book's chapter 16) on generated data: train, the
record's baselines, predictions on a sentence, pretrained vectors, sentence pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import QUIET, compose_config
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.errors import ConfigError
from text_data import POSITIVE, write_sentiment_csv, write_snli


def sentiment_options(csv: Path, model: str = "textcnn", *extra: str) -> list[str]:
    return [
        f"model={model}",
        "data=text_csv",
        f"data.path={csv}",
        "data.text=review",
        "data.label=sentiment",
        "data.num_steps=16",
        "model.net.embedding_dim=16",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "scheduler=none",
        "trainer.max_epochs=4",
        *QUIET,
        *extra,
    ]


@pytest.fixture(scope="module")
def textcnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("textcnn")
    csv = write_sentiment_csv(root / "reviews.csv", n=600)
    record = train(compose_config(sentiment_options(csv), root / "run"))
    assert record["status"] == "completed"
    return root / "run"


def test_the_record_holds_both_baselines_and_whether_the_network_beat_each(
    textcnn_run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    record = json.loads((textcnn_run / "metrics.json").read_text())
    assert record["task"] == "text_classification" and record["monitor"] == "val/acc"
    assert {"test/acc", "test/macro_f1"} <= set(record["metrics"])
    hows = [b["how"] for b in record["baselines"]]
    assert hows[0] == record["baseline"]["how"] and hows[1] == "tfidf_logreg"
    accuracy = record["metrics"]["test/acc"]
    assert accuracy > 0.9 and record["baselines"][0]["learned"]
    tfidf = record["baselines"][1]  # a bag of words solves this toy data: it may well win
    assert tfidf["learned"] == (accuracy > tfidf["value"]) and 0.5 < tfidf["value"] <= 1
    # the last lines say it of each baseline (the majority class was left out: a report)
    from dlzoo.training.outcome import report

    with caplog.at_level("INFO", logger="dlzoo.commands.train"):
        report(record)
    said = [r.getMessage() for r in caplog.records]
    for baseline in record["baselines"]:
        verdict = "beat" if baseline["learned"] else "did NOT beat"
        assert any(m.startswith(f"{verdict} {baseline.get('description', baseline['how'])}")
                   for m in said), said  # fmt: skip


def test_predict_labels_a_sentence_and_a_file_of_lines(textcnn_run: Path, tmp_path: Path) -> None:
    lines = tmp_path / "mine.txt"
    lines.write_text("a dull boring mess of a film\n\nthe acting was awful and tedious\n")
    cfg = compose_config([f"ckpt_path={textcnn_run}", f"text=a {' '.join(POSITIVE[:3])} film",
                          f"inputs={lines}"], tmp_path, "predict")  # fmt: skip
    records = predict(cfg)
    assert [r["top_k"][0][0] for r in records] == ["pos", "neg", "neg"]
    assert 0.5 < records[0]["top_k"][0][1] <= 1.0
    wrong = compose_config([f"ckpt_path={textcnn_run}", "premise=a", "hypothesis=b"], tmp_path,
                           "predict")  # fmt: skip
    with pytest.raises(ConfigError, match="classifies single texts"):
        predict(wrong)


def test_predict_inputs_a_newcomer_tripped_on(
    textcnn_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty inputs file is named; a CSV whose text column has another name says how to
    fix it; a 100,000-word text is not echoed whole (its line was 600 KB)."""
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ConfigError, match="empty.txt'.*holds no text"):
        predict(compose_config([f"ckpt_path={textcnn_run}", f"inputs={empty}"], tmp_path,
                               "predict"))  # fmt: skip
    table = tmp_path / "reviews.csv"
    table.write_text("id,text\n1,a fine film\n")  # trained on the column "review"
    with pytest.raises(ConfigError, match="rename that column to 'review'"):
        predict(compose_config([f"ckpt_path={textcnn_run}", f"inputs={table}"], tmp_path,
                               "predict"))  # fmt: skip
    long = tmp_path / "long.txt"
    long.write_text(" ".join(["great"] * 100_000) + "\n")
    capsys.readouterr()
    (record,) = predict(compose_config([f"ckpt_path={textcnn_run}", f"inputs={long}"], tmp_path,
                                       "predict"))  # fmt: skip
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(printed) < 300 and printed.startswith("great great") and "...: " in printed
    assert len(record["input"]) > 500_000  # the record (and output=<csv>) keep the text


def test_pretrained_vectors_are_copied_in_the_rest_zero_and_fixed_when_frozen(
    tmp_path: Path,
) -> None:
    csv = write_sentiment_csv(tmp_path / "reviews.csv", n=200)
    vectors = tmp_path / "vectors.txt"
    known = {w: torch.randn(16) for w in ["great", "dull", "film"]}
    vectors.write_text(
        "".join(f"{w} {' '.join(f'{v:.5f}' for v in t)}\n" for w, t in known.items())
    )
    options = sentiment_options(csv, "birnn", f"model.embedding={vectors}",
                                "model.net.freeze_embedding=true", "trainer.max_epochs=1")  # fmt: skip
    record = train(compose_config(options, tmp_path / "run"))
    state = torch.load(record["last_checkpoint"], weights_only=False)
    tokens = state["TextClassificationDataModule"]["tokens"]
    table = state["state_dict"]["net.embedding.weight"]
    for word, vector in known.items():
        assert torch.allclose(table[tokens.index(word)], vector, atol=1e-4), word
    # the words the vectors lack start at zero, as the book's TokenEmbedding gives them
    # (random rows would stay noise in a frozen table)
    lacking = [i for i, w in enumerate(tokens) if w not in known]
    assert lacking and not table[lacking].any()
    wrong = sentiment_options(
        csv, "birnn", f"model.embedding={vectors}", "model.net.embedding_dim=8"
    )
    with pytest.raises(
        ConfigError, match="holds vectors of 16 numbers but model.net.embedding_dim=8"
    ):
        train(compose_config(wrong, tmp_path / "wrong"))


def test_decomposable_attention_classifies_sentence_pairs(tmp_path: Path) -> None:
    write_snli(tmp_path, {"train": 300, "dev": 60, "test": 60})
    options = ["model=decomposable_attention", "data=snli", f"paths.data_dir={tmp_path}",
               "data.min_freq=1", "data.num_steps=8", "data.batch_size=32",
               "model.net.embedding_dim=16", "model.net.num_hiddens=32",
               "trainer.max_epochs=2", *QUIET]  # fmt: skip
    record = train(compose_config(options, tmp_path / "run"))
    assert record["status"] == "completed" and len(record["baselines"]) == 2
    cfg = compose_config([f"ckpt_path={tmp_path / 'run'}", "premise=a tall man runs outside",
                          "hypothesis=a man runs"], tmp_path, "predict")  # fmt: skip
    assert len(predict(cfg)[0]["top_k"]) == 2


@pytest.mark.parametrize("model", ["textcnn", "birnn"])
def test_the_onnx_export_matches_the_network_on_padded_texts(model: str, tmp_path: Path) -> None:
    """A batch of another size than the traced one, texts of different lengths (the BiRNN's
    last-word lookup once baked the traced batch size into the graph)."""
    ort = pytest.importorskip("onnxruntime")
    from dlzoo.commands.export import export
    from dlzoo.config.restore import restore

    csv = write_sentiment_csv(tmp_path / "reviews.csv", n=100)
    small = ["model.net.num_hiddens=8"] if model == "birnn" else []  # a quicker ONNX export
    options = sentiment_options(csv, model, "trainer.max_epochs=1", *small)
    train(compose_config(options, tmp_path / "run"))
    out = export(
        compose_config([f"ckpt_path={tmp_path / 'run'}", "format=onnx"], tmp_path, "export")
    )
    info = json.loads(Path(f"{out}.json").read_text())
    assert info["input_dtype"] == "int64" and "fitted_preprocessing.tokens" in info["text"]
    x = torch.ones(3, 16, dtype=torch.long)
    x[0, 5:], x[1, 2:], x[2, 3] = 0, 0, 7
    with torch.no_grad():
        expected = restore(tmp_path / "run").module.net.eval()(x).numpy()
    session = ort.InferenceSession(str(out))
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert abs(got - expected).max() < 1e-4


def test_an_interrupted_run_resumes_to_the_unbroken_runs_figures(tmp_path: Path) -> None:
    from dlzoo.errors import TrainingInterrupted

    csv = write_sentiment_csv(tmp_path / "reviews.csv", n=300)
    base = sentiment_options(csv, "textcnn", "trainer.max_epochs=2", "trainer.deterministic=true")
    reference = train(compose_config(base, tmp_path / "reference"))
    interrupt = ["+callbacks.ask._target_=stall.InterruptAtStep",
                 f"+callbacks.ask.step={reference['global_steps'] // 2 + 2}"]  # fmt: skip
    with pytest.raises(TrainingInterrupted):
        train(compose_config([*base, *interrupt], tmp_path / "run"))
    resumed = train(compose_config([*base, "resume=auto"], tmp_path / "run"))
    for name, value in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(value, abs=1e-6), name


def test_tensorboard_shows_a_confusion_matrix_and_a_table_of_examples(textcnn_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(textcnn_run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(tags["images"])
    table = events.Tensors("test/examples/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.startswith("| text | true | predicted |") and table.count("\n") >= 10


def test_predict_reads_a_csv_writes_output_and_says_when_no_word_is_known(
    textcnn_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A newcomer's CSV was classified line by line, header included; output= was refused;
    an emoji-only text got an ordinary-looking answer."""
    table = tmp_path / "new.csv"
    table.write_text('id,review\n1,a dull boring mess\n2,"great, moving, superb"\n')
    out = tmp_path / "labels.csv"
    cfg = compose_config([f"ckpt_path={textcnn_run}", f"inputs={table}", f"output={out}"],
                         tmp_path, "predict")  # fmt: skip
    assert [r["top_k"][0][0] for r in predict(cfg)] == ["neg", "pos"]
    assert out.read_text().splitlines()[0].startswith("input,top1_class")
    cfg = compose_config([f"ckpt_path={textcnn_run}", "text='🎬🍿'"], tmp_path, "predict")
    predict(cfg)
    assert "no word of it is in the model's vocabulary" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="nothing to classify"):
        predict(compose_config([f"ckpt_path={textcnn_run}", "text='   '"], tmp_path, "predict"))
