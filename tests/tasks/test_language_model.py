"""Language modelling: text data, vocabulary, sampling, RNN/Transformer models, generation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import data_dir_from_environment, run_script
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.config.builders import build_datamodule, build_task
from dlzoo.config.checkpoints import load_checkpoint
from dlzoo.data.batches import SequenceBatches
from dlzoo.data.spec import TokenStreamSpec
from dlzoo.data.text import TIME_MACHINE_SHA1, TextFileDataModule, TimeMachineDataModule, sha1_of
from dlzoo.data.vocab import UNK, Vocab, preprocess, tokenize
from dlzoo.errors import ConfigError, DataError, IncompatibleError
from dlzoo.inference.generation import generate
from dlzoo.models.rnn import RNNLM, ScratchRNN
from dlzoo.models.transformer import TransformerLM
from dlzoo.tasks.language_model import LanguageModelTask
from text_data import SENTENCES, text_overrides


def generate_text(cfg):
    """The text predict.py prints for a language-model checkpoint."""
    return predict(cfg)[0]["continuation"]


REAL_DATA = data_dir_from_environment() or Path("DLZOO_DATA_DIR is not set")
TINY_NET = {
    "rnn": ["model.net.hidden_size=16"],
    "gru": ["model.net.hidden_size=16"],
    "lstm": ["model.net.hidden_size=16", "model.net.dropout=0.1"],
    "rnn_scratch": ["model.net.hidden_size=16"],
    "transformer_lm": ["model.net.d_model=16", "model.net.num_heads=2", "model.net.ffn_hidden=32"],
}


# -- vocabulary and preprocessing --------------------------------------------------------
def test_vocab_round_trip_and_plain_state() -> None:
    vocab = Vocab.letters()
    assert len(vocab) == 28 and vocab.idx_to_token[0] == UNK
    text = preprocess("The Time-Machine, 1895!", "letters")
    assert text == "the time machine "
    ids = vocab.encode(tokenize(text, "char"))
    assert vocab.decode(ids) == text
    assert vocab.encode(["é"]) == [0]  # unknown -> <unk>
    state = vocab.to_dict()
    assert all(isinstance(t, str) for t in state["tokens"])
    assert Vocab.from_dict(state) == vocab

    words = Vocab.build(["a", "b", "a", "c", "a", "b"], min_freq=2)
    assert words.tokens == (UNK, "a", "b")  # most frequent first, 'c' too rare
    assert words.decode(words.encode(["a", "c", "b"]), sep=" ") == f"a {UNK} b"


@pytest.mark.skipif(not (REAL_DATA / "timemachine.txt").is_file(), reason="no Time Machine text")
def test_real_time_machine_has_28_tokens_and_its_checksum() -> None:
    assert sha1_of((REAL_DATA / "timemachine.txt").read_bytes()) == TIME_MACHINE_SHA1
    dm = TimeMachineDataModule(data_dir=str(REAL_DATA), download=False)
    dm.setup()
    assert dm.spec.num_classes == 28 and dm.spec.task == "language_model"
    corpus = torch.cat([dm.corpora[s] for s in ("train", "val", "test")])
    assert int((corpus == 0).sum()) == 0  # every character is a letter or a space
    assert len(set(corpus.tolist())) == 27


# -- split and sampling -------------------------------------------------------------------
def test_split_is_contiguous_without_overlap(text_dir: Path) -> None:
    dm = TimeMachineDataModule(
        data_dir=str(text_dir), sha1=None, val_fraction=0.2, test_fraction=0.1
    )
    dm.setup()
    full = torch.tensor(dm.vocab.encode(dm.text_tokens((text_dir / "timemachine.txt").read_text())))
    parts = [dm.corpora[s] for s in ("train", "val", "test")]
    assert torch.equal(torch.cat(parts), full)  # in order, nothing lost, nothing repeated
    n = len(full)
    assert [len(p) for p in parts] == [n - int(0.2 * n) - int(0.1 * n), int(0.2 * n), int(0.1 * n)]


def test_random_sampling_windows_stay_inside_their_split() -> None:
    tokens = torch.arange(1000)
    batches = SequenceBatches(
        tokens, num_steps=10, batch_size=7, sampling="random", shuffle=True, seed=3
    )
    for _ in range(2):  # two epochs: different offsets and orders
        starts = []
        for x, y in batches:
            assert torch.equal(y, x + 1) and int(y.max()) < 1000
            assert torch.equal(x, x[:, :1] + torch.arange(10))  # contiguous windows
            starts += x[:, 0].tolist()
        assert len(starts) == len(set(starts))
        assert len({s % 10 for s in starts}) == 1  # non-overlapping: one offset per epoch


def test_sequential_sampling_rows_continue_the_previous_batch() -> None:
    tokens = torch.arange(500)
    batches = list(SequenceBatches(tokens, num_steps=5, batch_size=4, sampling="sequential"))
    # a plain bool: reading a tensor flag after the batch is moved to a GPU is a host sync
    assert [c for _, _, c in batches] == [False] + [True] * (len(batches) - 1)
    assert all(type(c) is bool for _, _, c in batches)
    for (x0, _, _), (x1, y1, _) in zip(batches, batches[1:], strict=False):
        assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # row b goes on where row b stopped
        assert torch.equal(y1, x1 + 1)


def _tiny_task(net: nn.Module, vocab_size: int) -> LanguageModelTask:
    tokens = [str(i) for i in range(1, vocab_size)]
    return LanguageModelTask(
        net=net, optimizer=torch.optim.SGD, spec=TokenStreamSpec((5,), (UNK, *tokens))
    )


def test_sequential_sampling_carries_the_state() -> None:
    """Loss over chunks with the state carried == loss over the whole stream at once."""
    torch.manual_seed(0)
    net = RNNLM([5], 11, cell="lstm", hidden_size=8).eval()
    task = _tiny_task(net, 11)
    tokens = torch.randint(1, 11, (2 * 5 * 6 + 1,))
    batches = list(SequenceBatches(tokens, num_steps=5, batch_size=2, sampling="sequential"))
    chunked = torch.stack([task.shared_step(b, "val").loss for b in batches]).mean()
    xs = torch.stack([b[0] for b in batches], 1).reshape(2, -1)
    ys = torch.stack([b[1] for b in batches], 1).reshape(2, -1)
    whole = task.shared_step((xs, ys), "val").loss
    torch.testing.assert_close(chunked, whole)
    fresh = torch.stack([task.shared_step((x, y), "val").loss for x, y, _ in batches]).mean()
    assert not torch.allclose(fresh, whole)  # without carrying, the losses differ


# -- models -------------------------------------------------------------------------------
def test_scratch_rnn_equals_nn_rnn() -> None:
    torch.manual_seed(0)
    reference = nn.RNN(6, 9, num_layers=2, batch_first=True)
    scratch = ScratchRNN(6, 9, num_layers=2)
    scratch.copy_from(reference)
    x, h0 = torch.randn(3, 7, 6), torch.randn(2, 3, 9)
    out, h = scratch(x, h0)
    ref_out, ref_h = reference(x, h0)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h)


def test_transformer_is_causal() -> None:
    torch.manual_seed(0)
    net = TransformerLM([12], 20, d_model=16, num_heads=4, num_layers=2, ffn_hidden=32).eval()
    tokens = torch.randint(0, 20, (2, 12))
    changed = tokens.clone()
    changed[:, 7] = (changed[:, 7] + 1) % 20
    before, _ = net(tokens)
    after, _ = net(changed)
    torch.testing.assert_close(before[:, :7], after[:, :7])  # the past does not see the future
    assert not torch.allclose(before[:, 7:], after[:, 7:])


def test_bidirectional_model_refuses_to_generate() -> None:
    net = RNNLM([5], 28, cell="gru", hidden_size=8, bidirectional=True)
    with pytest.raises(ConfigError, match="bidirectional"):
        generate(net, Vocab.letters(), list("time"), 5)


def test_generation_greedy_is_repeatable_and_sampling_is_seeded() -> None:
    torch.manual_seed(0)
    vocab = Vocab.letters()
    for net in (RNNLM([5], 28, hidden_size=8), TransformerLM([4], 28, d_model=8, num_heads=2)):
        greedy = generate(net, vocab, list("time"), 10)
        assert len(greedy) == 10 and greedy == generate(net, vocab, list("time"), 10)
        draws = [
            generate(net, vocab, list("ti"), 10, 1.0, torch.Generator().manual_seed(1))
            for _ in range(2)
        ]
        assert draws[0] == draws[1]


# -- data errors and model/data compatibility ------------------------------------------------
def test_missing_text_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="timemachine.txt"):
        TimeMachineDataModule(data_dir=str(tmp_path), download=False).setup()
    with pytest.raises(DataError, match="download from"):
        TimeMachineDataModule(
            data_dir=str(tmp_path), url=(tmp_path / "nowhere.txt").as_uri()
        ).setup()


def test_download_verifies_the_checksum(tmp_path: Path) -> None:
    source = tmp_path / "remote.txt"
    source.write_text(SENTENCES)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match="sha1"):
        TimeMachineDataModule(data_dir=str(data_dir), url=source.as_uri()).setup()
    dm = TimeMachineDataModule(
        data_dir=str(data_dir), url=source.as_uri(), sha1=sha1_of(source.read_bytes())
    )
    dm.setup()
    assert (data_dir / "timemachine.txt").read_text() == SENTENCES  # cached for next time


def test_text_file_datamodule_words(tmp_path: Path) -> None:
    path = tmp_path / "book.txt"
    path.write_text(SENTENCES * 3, encoding="utf-8")
    dm = TextFileDataModule(
        path=str(path), tokenizer="word", num_steps=4, batch_size=2, sampling="sequential"
    )
    dm.setup()
    assert "traveller" in dm.vocab.tokens and dm.spec.num_classes == len(dm.vocab)
    x, y, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (2, 4)
    with pytest.raises(DataError, match="no such file"):
        TextFileDataModule(path=str(tmp_path / "missing.txt")).setup()


def test_models_and_data_refuse_the_wrong_kind(make_cfg, text_dir: Path) -> None:
    cfg = make_cfg(*text_overrides(text_dir, "model=mlp"))
    with pytest.raises(IncompatibleError, match="rnn, gru, lstm"):
        build_task(cfg, build_datamodule(cfg.data).spec)
    cfg = make_cfg("model=gru", "data=fashion_mnist")
    with pytest.raises(IncompatibleError, match="language_model"):
        build_task(cfg, build_datamodule(cfg.data).spec)


# -- training end to end --------------------------------------------------------------------
@pytest.mark.parametrize("model", sorted(TINY_NET))
def test_fast_dev_run(make_cfg, text_dir: Path, model: str) -> None:
    cfg = make_cfg(
        *text_overrides(text_dir, f"model={model}", *TINY_NET[model], "+trainer.fast_dev_run=true")
    )
    record = train(cfg)
    assert record["task"] == "language_model"
    assert record["metrics"]["test/perplexity"] > 1


def test_random_sampling_fast_dev_run(make_cfg, text_dir: Path) -> None:
    overrides = [
        "model=gru",
        *TINY_NET["gru"],
        "data.sampling=random",
        "+trainer.fast_dev_run=true",
    ]
    cfg = make_cfg(*text_overrides(text_dir, *overrides))
    assert train(cfg)["metrics"]["test/perplexity"] > 1


def test_training_learns_and_logs_a_sample(trained_checkpoint: tuple[Path, Path]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, run_dir = trained_checkpoint
    record = __import__("json").loads((run_dir / "metrics.json").read_text())
    assert record["best_val"] < 12  # far below the ~28 of a uniform guess over 28 tokens
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert any(tag.startswith("val/sample") for tag in events.Tags()["tensors"])


def test_checkpoint_holds_the_vocabulary_as_plain_data(
    trained_checkpoint: tuple[Path, Path],
) -> None:
    checkpoint = load_checkpoint(trained_checkpoint[0])  # weights_only
    state = checkpoint["TimeMachineDataModule"]  # the datamodule's fitted state
    assert Vocab.from_dict(state) == Vocab.letters()


def test_predict_text_script(trained_checkpoint: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt = trained_checkpoint[0]
    result = run_script(
        "predict_text.py",
        f"ckpt_path={ckpt}",
        "prefix=Time Traveller",
        "num_tokens=30",
        f"hydra.run.dir={tmp_path / 'gen'}",
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.rstrip("\n").splitlines()[-1]
    assert line.startswith("time traveller") and len(line) == len("time traveller") + 30
    assert set(line) <= set(" abcdefghijklmnopqrstuvwxyz")


def test_generate_text_checks_its_arguments(trained_checkpoint: tuple[Path, Path]) -> None:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "ckpt_path": str(trained_checkpoint[0]),
            "prefix": "time",
            "num_tokens": 5,
            "temperature": 0.8,
            "seed": 1,
        }
    )
    assert generate_text(cfg) == generate_text(cfg)  # seeded sampling repeats
    cfg.temperature = -1
    with pytest.raises(ConfigError, match="temperature=-1"):
        generate_text(cfg)


def test_text_data_turns_on_gradient_clipping(make_cfg, text_dir: Path) -> None:
    assert make_cfg(*text_overrides(text_dir, "model=gru")).trainer.gradient_clip_val == 1.0
    assert make_cfg("model=mlp", "data=fashion_mnist").trainer.gradient_clip_val is None
    cfg = make_cfg("experiment=timemachine_transformer_lm", f"data.data_dir={text_dir}")
    assert cfg.model.name == "transformer_lm" and cfg.data.sampling == "random"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.sampling=shuffled", "data.sampling='shuffled'"),
        ("data.tokenizer=bpe", "data.tokenizer='bpe'"),
        ("data.num_steps=0", "data.num_steps=0"),
        ("data.val_fraction=0.95", "val_fraction"),
    ],
)
def test_bad_text_options_give_one_clear_error(
    make_cfg, text_dir: Path, override: str, message: str
) -> None:
    cfg = make_cfg(*text_overrides(text_dir, "model=gru", override))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build_datamodule(cfg.data)


def test_text_file_without_path_gives_one_clear_error(make_cfg) -> None:
    with pytest.raises(ConfigError, match="data.path"):
        build_datamodule(make_cfg("model=gru", "data=text_file").data)


def test_word_level_fast_dev_run(make_cfg, text_dir: Path) -> None:
    overrides = [
        "model=lstm",
        *TINY_NET["lstm"],
        "data.tokenizer=word",
        "+trainer.fast_dev_run=true",
    ]
    cfg = make_cfg(*text_overrides(text_dir, *overrides, "data.num_steps=4", "data.batch_size=2"))
    assert train(cfg)["metrics"]["test/perplexity"] > 1


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_DATA / "timemachine.txt").is_file(), reason="no Time Machine text")
def test_gru_reaches_the_book_perplexity_on_time_machine(make_cfg) -> None:
    """The issue's target: validation perplexity <= 4.3 (a few minutes on 2 CPU cores)."""
    record = train(make_cfg("experiment=timemachine_gru", f"data.data_dir={REAL_DATA}"))
    assert record["best_val"] <= 4.3


def test_bidirectional_model_trains_without_samples(make_cfg, text_dir: Path) -> None:
    overrides = [
        "model=gru",
        *TINY_NET["gru"],
        "model.net.bidirectional=true",
        "+trainer.fast_dev_run=true",
    ]
    assert train(make_cfg(*text_overrides(text_dir, *overrides)))["metrics"]["test/perplexity"] > 0


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_a_language_model_exports(
    trained_checkpoint: tuple[Path, Path], tmp_path: Path, fmt: str
) -> None:
    """Token ids in, next-token logits out (the GRU's one_hot needs integer inputs)."""
    from omegaconf import OmegaConf

    from dlzoo.commands.export import export
    from dlzoo.config.restore import restore

    ckpt = trained_checkpoint[0]
    cfg = OmegaConf.create(
        {"ckpt_path": str(ckpt), "format": fmt, "output": str(tmp_path / f"lm.{fmt}"), "paths": {}}
    )
    path = export(cfg)
    model = restore(ckpt)
    tokens = torch.randint(1, 28, (3, 12))
    with torch.no_grad():
        expected = model.module.net(tokens)[0].numpy()
    if fmt == "torchscript":
        got = torch.jit.load(str(path))(tokens).detach().numpy()
    else:
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": tokens.numpy()})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    sidecar = json.loads(Path(str(path) + ".json").read_text())
    assert sidecar["fitted_preprocessing"]["tokens"][:3] == ["<unk>", " ", "a"]
