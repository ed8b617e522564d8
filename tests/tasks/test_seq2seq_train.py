"""Sequence to sequence the user's way: train on data=reverse_digits, read the event files,
translate with the checkpoint alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import QUIET, compose_config
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.config.builders import build_datamodule, build_task
from dlzoo.errors import ConfigError, DataError, IncompatibleError
from dlzoo.figures.attention import attention_figure, close


def translate(cfg):
    """The translation lines predict.py prints for a translation checkpoint."""
    return [r["translation"] for r in predict(cfg)]


TINY = [
    "data=reverse_digits",
    "data.num_pairs=1500",
    "model=seq2seq_attention",
    "model.net.embed_size=16",
    "model.net.num_hiddens=32",
    "model.net.num_layers=1",
    "model.net.dropout=0.0",
    "model.task_options.bleu_sentences=64",
    "model.task_options.num_heatmaps=2",
    "optimizer=adam",
    "optimizer.lr=0.01",
    "scheduler=none",
    "trainer.accelerator=cpu",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("s2s_run")
    cfg = compose_config([*QUIET, *TINY, "trainer.max_epochs=4"], run_dir)
    train(cfg)
    return run_dir


def test_training_learns_and_logs_heatmaps_and_examples(trained: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    record = json.loads((trained / "metrics.json").read_text())
    assert record["task"] == "seq2seq" and record["monitor"] == "val/bleu"
    assert record["metrics"]["test/bleu"] > 0.3  # reversing digits: far above chance
    assert record["metrics"]["test/sacrebleu"] > 30  # the same on sacreBLEU's 0..100 scale
    assert record["data_source"]["source"] == "generated"
    events = EventAccumulator(str(trained / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"val/attention_0", "val/attention_1"} <= set(events.Tags()["images"])
    texts = set(events.Tags()["tensors"])
    assert {"val/examples", "test/examples"} <= {t.split("/text_summary")[0] for t in texts}


def test_history_holds_each_epochs_own_bleu(trained: Path) -> None:
    """val/bleu is logged when validation ends (after the callbacks' epoch-end hooks):
    each history.jsonl row must still hold its own epoch's value, as TensorBoard does,
    not the previous epoch's (and the first row must have one)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(trained / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    by_step = {e.step: e.value for e in events.Scalars("val/bleu")}
    rows = [json.loads(line) for line in (trained / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3]
    for row in rows:
        assert row["val/bleu"] == pytest.approx(by_step[row["step"] - 1], abs=1e-6), row


def test_translate_reproduces_the_test_predictions(trained: Path, tmp_path: Path) -> None:
    rows = (trained / "test_translations.tsv").read_text().splitlines()[1:4]
    sentences = tmp_path / "inputs.txt"
    sentences.write_text("\n".join(r.split("\t")[0] for r in rows))
    ckpt = next((trained / "checkpoints").glob("epoch_*.ckpt"))
    cfg = OmegaConf.create(
        {"ckpt_path": str(ckpt), "inputs": str(sentences), "heatmap": str(tmp_path / "a.png")}
    )
    lines = translate(cfg)
    assert [line.split(" => ")[1] for line in lines] == [r.split("\t")[2] for r in rows]
    assert (tmp_path / "a_0.png").is_file()
    with pytest.raises(ConfigError, match="nothing to translate"):
        translate(OmegaConf.create({"ckpt_path": str(ckpt)}))


def test_unknown_words_and_bad_options_are_named(trained: Path, tmp_path: Path) -> None:
    ckpt = next((trained / "checkpoints").glob("epoch_*.ckpt"))
    lines = translate(OmegaConf.create({"ckpt_path": str(ckpt), "text": "1 x 2", "beam_size": 1}))
    assert lines[0].startswith("1 <unk> 2 =>")
    cfg = compose_config([*QUIET, *TINY, "+model.task_options.beam=3"], tmp_path)
    dm = build_datamodule(cfg.data)
    with pytest.raises(ConfigError, match="task_options.beam: unknown option.*beam_size"):
        build_task(cfg, dm.spec)
    cfg = compose_config([*QUIET, "data=reverse_digits", "model=mlp"], tmp_path)
    with pytest.raises(IncompatibleError, match="seq2seq, seq2seq_attention or transformer"):
        build_task(cfg, build_datamodule(cfg.data).spec)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"beam_size": 0}, r"beam_size=0: must be an integer >= 1"),
        ({"beam_size": "abc"}, r"beam_size='abc': must be an integer >= 1"),
        ({"heatmap": "/proc/no/a.png"}, r"heatmap='/proc/no/a.png': cannot write"),
        ({"trust_checkpoint": "maybe"}, r"trust_checkpoint='maybe': must be true or false"),
    ],
    ids=["beam-zero", "beam-text", "heatmap-unwritable", "trust-maybe"],
)
def test_bad_translate_options_are_one_clear_error(
    trained: Path, options: dict, message: str
) -> None:
    ckpt = next((trained / "checkpoints").glob("epoch_*.ckpt"))
    with pytest.raises(ConfigError, match=message):
        translate(OmegaConf.create({"ckpt_path": str(ckpt), "text": "1 2 3", **options}))


def test_odd_inputs_to_translate(trained: Path, tmp_path: Path) -> None:
    """A non-UTF-8 inputs file is one clear error; typed control tokens are unknown words."""
    ckpt = next((trained / "checkpoints").glob("epoch_*.ckpt"))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"1 2 \xe9\n")
    with pytest.raises(DataError, match=r"inputs='.*latin1.txt' is not UTF-8 text"):
        translate(OmegaConf.create({"ckpt_path": str(ckpt), "inputs": str(latin1)}))
    lines = translate(OmegaConf.create({"ckpt_path": str(ckpt), "text": "1 <eos> <pad> 2"}))
    assert lines[0].startswith("1 <unk> <unk> 2 =>")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("beam_size=abc", r"model.task_options.beam_size='abc': must be an integer >= 1"),
        ("beam_size=2.7", r"model.task_options.beam_size=2.7: must be an integer >= 1"),
        ("length_alpha=-5", r"model.task_options.length_alpha=-5: must be a number >= 0"),
        ("num_heatmaps=-1", r"model.task_options.num_heatmaps=-1: must be an integer >= 0"),
        ("num_examples=abc", r"model.task_options.num_examples='abc': must be an integer >= 0"),
    ],
)
def test_bad_task_options_are_named(tmp_path: Path, option: str, message: str) -> None:
    cfg = compose_config([*QUIET, *TINY, f"model.task_options.{option}"], tmp_path)
    dm = build_datamodule(cfg.data)
    with pytest.raises(ConfigError, match=message):
        build_task(cfg, dm.spec)


def test_a_heatmap_of_a_model_without_attention_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 31, case 18: refused from the saved config, before the model is built."""
    import dlzoo.config.restore

    run_dir = tmp_path / "plain"
    overrides = [o for o in TINY if o != "model=seq2seq_attention"] + ["model=seq2seq"]
    train(compose_config([*QUIET, *overrides, "trainer.max_epochs=1", "test=false"], run_dir))
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    cfg = {"ckpt_path": str(ckpt), "text": "1 2 3", "heatmap": str(tmp_path / "h.png")}

    def no_building(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built before the option was checked")

    with monkeypatch.context() as patched:
        patched.setattr(dlzoo.config.restore, "build_datamodule", no_building)
        with pytest.raises(ConfigError, match=r"model=seq2seq has no attention to draw"):
            translate(OmegaConf.create(cfg))
    assert not (tmp_path / "h.png").exists()


def test_a_sentence_longer_than_num_steps_is_cut_with_a_warning(
    trained: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ckpt = next((trained / "checkpoints").glob("epoch_*.ckpt"))
    long = " ".join(["1"] * 30)
    with caplog.at_level("WARNING", logger="dlzoo.commands.translate"):
        translate(OmegaConf.create({"ckpt_path": str(ckpt), "text": long, "beam_size": 1}))
    assert "has 30 words: only its first" in caplog.text


def test_transformer_heatmap_has_a_panel_per_head(tmp_path: Path) -> None:
    fig = attention_figure(torch.rand(3, 4, 6), ["a", "b", "<eos>"], ["x", "y", "<eos>"])
    assert len([ax for ax in fig.axes if ax.get_images()]) == 4
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "<eos>"]
    fig.savefig(tmp_path / "h.png")
    close(fig)


def test_the_alignment_measure_sees_the_reversal(trained: Path) -> None:
    """benchmarks/attention_alignment.py (the docs' correlation numbers): on digit reversal
    the attention moves backwards along the source as the output goes on."""
    from benchmarks.attention_alignment import alignment_correlations

    found = alignment_correlations(str(trained), batches=2)
    assert len(found) > 20
    assert sum(found) / len(found) < -0.3, found[:10]
