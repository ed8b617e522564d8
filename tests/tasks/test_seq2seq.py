"""Sequence to sequence: attention blocks, masking, decoding, BLEU, translation data."""

from __future__ import annotations

import gettext
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from dlzoo.data.translation import (
    BOS,
    EOS,
    PAD,
    ReverseDigitsDataModule,
    TranslationDataModule,
    detokenize,
    preprocess_nmt,
    read_gettext_pairs,
)
from dlzoo.errors import ConfigError, DataError
from dlzoo.inference.decoding import beam_search, greedy_decode, sentence_bleu
from dlzoo.models.attention import (
    AdditiveAttention,
    DotProductAttention,
    MultiHeadAttention,
    PositionalEncoding,
    masked_softmax,
)
from dlzoo.models.seq2seq import Seq2Seq, Seq2SeqAttention, TransformerSeq2Seq
from dlzoo.tasks.seq2seq import corpus_bleu


# -- attention blocks ----------------------------------------------------------------------
def test_masked_softmax_zeroes_keys_beyond_valid_length() -> None:
    scores = torch.randn(2, 3, 5)
    w = masked_softmax(scores, torch.tensor([2, 4]))
    assert torch.allclose(w.sum(-1), torch.ones(2, 3))
    assert (w[0, :, 2:] == 0).all() and (w[1, :, 4:] == 0).all()
    per_query = masked_softmax(scores, torch.tensor([[1, 2, 3], [5, 5, 5]]))
    assert (per_query[0, 0, 1:] == 0).all() and (per_query[0, 2, 3:] == 0).all()
    heads = masked_softmax(torch.randn(2, 4, 3, 5), torch.tensor([2, 4]))
    assert (heads[0, :, :, 2:] == 0).all()


def test_additive_and_dot_product_attention_shapes_and_masking() -> None:
    q, k, v = torch.randn(2, 1, 20), torch.randn(2, 10, 2), torch.randn(2, 10, 4)
    lens = torch.tensor([2, 6])
    add = AdditiveAttention(key_size=2, query_size=20, num_hiddens=8).eval()
    out = add(q, k, v, lens)
    assert out.shape == (2, 1, 4)
    assert add.attention_weights is not None and (add.attention_weights[0, :, 2:] == 0).all()
    # masked keys change nothing: the same as attending over the first two keys only
    alone = add(q[:1], k[:1, :2], v[:1, :2])
    assert torch.allclose(out[:1], alone, atol=1e-6)
    dot = DotProductAttention().eval()
    q2 = torch.randn(2, 3, 2)
    out2 = dot(q2, k, v, lens)
    assert out2.shape == (2, 3, 4)
    expected = torch.softmax(q2[1] @ k[1, :6].T / math.sqrt(2), -1) @ v[1, :6]
    assert torch.allclose(out2[1], expected, atol=1e-6)


def test_multi_head_attention_matches_torch() -> None:
    torch.manual_seed(0)
    ours = MultiHeadAttention(16, 4, dropout=0.0, bias=True).eval()
    ref = nn.MultiheadAttention(16, 4, bias=True, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.weight.copy_(ours.W_o.weight)
        ref.out_proj.bias.copy_(ours.W_o.bias)
    q, kv = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    lens = torch.tensor([3, 7])
    pad_mask = torch.arange(7).expand(2, 7) >= lens.unsqueeze(1)
    expected, weights = ref(q, kv, kv, key_padding_mask=pad_mask, average_attn_weights=False)
    assert torch.allclose(ours(q, kv, kv, lens), expected, atol=1e-5)
    assert torch.allclose(ours.attention_weights, weights, atol=1e-6)


def test_positional_encoding_is_the_book_table() -> None:
    pe = PositionalEncoding(8, dropout=0.0, max_len=20).eval()
    out = pe(torch.zeros(1, 20, 8))[0]
    assert torch.allclose(out[3, 0], torch.tensor(math.sin(3.0)))
    assert torch.allclose(out[3, 1], torch.tensor(math.cos(3.0)))
    assert torch.allclose(out[5, 2], torch.tensor(math.sin(5 / 10000 ** (2 / 8))))


# -- encoder-decoders: padding changes nothing -----------------------------------------------
MODELS = {
    "seq2seq": lambda: Seq2Seq((6,), 11, 9, embed_size=8, num_hiddens=12, num_layers=2),
    "seq2seq_attention": lambda: Seq2SeqAttention(
        (6,), 11, 9, embed_size=8, num_hiddens=12, num_layers=2
    ),
    "seq2seq_attention_bidirectional_output_context": lambda: Seq2SeqAttention(
        (6,), 11, 9, embed_size=8, num_hiddens=12, bidirectional_encoder=True, output_context=True
    ),
    "seq2seq_bidirectional_output_context": lambda: Seq2Seq(
        (6,), 11, 9, embed_size=8, num_hiddens=12, bidirectional_encoder=True, output_context=True
    ),
    "transformer": lambda: TransformerSeq2Seq(
        (6,), 11, 9, num_hiddens=16, num_heads=2, num_layers=2, ffn_hiddens=32
    ),
    "transformer_pre_norm": lambda: TransformerSeq2Seq(
        (6,), 11, 9, num_hiddens=16, num_heads=2, num_layers=2, ffn_hiddens=32, norm_first=True
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padded_batch_gives_the_unpadded_outputs(name: str) -> None:
    torch.manual_seed(0)
    net = MODELS[name]().eval()
    src = torch.tensor([[4, 5, 6, 3, 1, 1], [4, 7, 8, 5, 6, 3]])  # 1 = <pad>
    src_len = torch.tensor([4, 6])
    dec_in = torch.tensor([[2, 4, 5, 6], [2, 7, 8, 9]])
    batch = net(src, src_len, dec_in)
    alone = net(src[:1, :4], src_len[:1], dec_in[:1])
    assert batch.shape == (2, 4, 11)
    assert torch.allclose(batch[:1], alone, atol=1e-5)
    # step-by-step decoding agrees with teacher forcing
    state = net.begin(src, src_len)
    for t in range(4):
        logits, state, _ = net.step(dec_in[:, t], state)
        assert torch.allclose(logits, batch[:, t], atol=1e-5)
        if name.startswith("transformer"):  # a step adds one position to each block's cache
            assert all(state[f"past_{i}"].shape == (2, t + 1, 16) for i in range(2))


# -- decoding ------------------------------------------------------------------------------
class ToyNet(nn.Module):
    """A hand-made next-token distribution over {0: <unk>, 1: <pad>, 2: <bos>, 3: <eos>,
    4: a, 5: b}: after <bos>, a 0.5 / b 0.4 / <eos> 0.1; after a, a 0.4 / b 0.3 /
    <eos> 0.3; after b, <eos> 0.9. Greedy takes a (then a...), the best sequence is b <eos>
    (0.36 against at most 0.5 * 0.4)."""

    TABLE = {
        2: [0, 0, 0, 0.1, 0.5, 0.4],
        4: [0, 0, 0, 0.3, 0.4, 0.3],
        5: [0, 0, 0, 0.9, 0.05, 0.05],
    }

    def begin(self, src: Tensor, src_len: Tensor) -> dict[str, Tensor]:
        return {"dummy": torch.zeros(src.shape[0], 1)}

    def step(self, tokens: Tensor, state: dict[str, Tensor]):  # noqa: ANN201
        probs = torch.tensor([self.TABLE.get(int(t), [0, 0, 0, 1.0, 0, 0]) for t in tokens])
        return probs.clamp_min(1e-12).log(), state, None


def test_beam_search_finds_the_better_sequence_greedy_misses() -> None:
    src, src_len = torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 3])
    greedy = greedy_decode(ToyNet(), src, src_len, bos=2, eos=3, max_len=4)
    assert greedy[0].tokens[:2] == [4, 4]
    beam = beam_search(ToyNet(), src, src_len, bos=2, eos=3, max_len=4, beam_size=2)
    assert [d.tokens for d in beam] == [[5], [5]]
    one = beam_search(ToyNet(), src, src_len, bos=2, eos=3, max_len=4, beam_size=1)
    assert one[0].tokens == greedy[0].tokens  # beam 1 is greedy
    with pytest.raises(ConfigError, match="beam_size=0"):
        beam_search(ToyNet(), src, src_len, bos=2, eos=3, max_len=4, beam_size=0)


class BosLover(nn.Module):
    """An untrained-looking model that prefers <bos>, then <pad>, then b (4: a, 5: b)."""

    def begin(self, src: Tensor, src_len: Tensor) -> dict[str, Tensor]:
        return {"dummy": torch.zeros(src.shape[0], 1)}

    def step(self, tokens: Tensor, state: dict[str, Tensor]):  # noqa: ANN201
        probs = torch.tensor([[0.01, 0.3, 0.5, 0.01, 0.03, 0.15]] * len(tokens))
        return probs.log(), state, None


def test_decoding_never_outputs_bos_or_the_banned_tokens() -> None:
    src, src_len = torch.zeros(1, 3, dtype=torch.long), torch.tensor([3])
    greedy = greedy_decode(BosLover(), src, src_len, bos=2, eos=3, max_len=3, never=(1,))
    beam = beam_search(BosLover(), src, src_len, bos=2, eos=3, max_len=3, beam_size=2, never=(1,))
    assert greedy[0].tokens == [5, 5, 5]
    assert not {1, 2} & set(beam[0].tokens)


def test_beam_search_batches_like_single_sentences() -> None:
    torch.manual_seed(1)
    net = MODELS["transformer"]().eval()
    src = torch.tensor([[4, 5, 6, 3, 1, 1], [4, 7, 8, 5, 6, 3]])
    src_len = torch.tensor([4, 6])
    both = beam_search(net, src, src_len, 2, 3, max_len=6, beam_size=3)
    first = beam_search(net, src[:1], src_len[:1], 2, 3, max_len=6, beam_size=3)
    assert both[0].tokens == first[0].tokens
    assert both[0].attention is not None and both[0].attention.shape[1:] == (2, 6)


# -- BLEU ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pred", "label", "expected"),
    [  # the book's 10.7 examples
        ("va !", "va !", 1.0),
        ("j'ai perdu .", "j'ai perdu .", 1.0),
        ("il est riche .", "il est calme .", 0.658),
        ("je suis en retard ?", "je suis chez moi .", 0.447),
    ],
)
def test_sentence_bleu_on_the_books_examples(pred: str, label: str, expected: float) -> None:
    assert sentence_bleu(pred.split(), label.split(), k=2) == pytest.approx(expected, abs=5e-4)


def test_corpus_bleu() -> None:
    ref = ["le", "chat", "est", "sur", "le", "tapis", "."]
    assert corpus_bleu([ref], [ref]) == pytest.approx(1.0)
    assert corpus_bleu([["bonjour"]], [ref]) == 0.0


# -- data ----------------------------------------------------------------------------------
def test_book_preprocessing() -> None:
    text = "Go.\u202fVa\xa0! It\u2019s ME, Tom?"
    assert preprocess_nmt(text) == "go . va ! it's me , tom ?"
    assert detokenize(["va", "!", "c'est", "moi", ",", "tom", "?"]) == "va! c'est moi, tom?"


def write_mo(path: Path, catalog: dict[str, str]) -> None:
    """A minimal GNU .mo file (the format gettext reads)."""
    import struct

    keys = sorted(catalog)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(catalog[k].encode() + b"\0" for k in keys)
    n = len(keys)
    start = 7 * 4 + 16 * n
    koffsets, voffsets, o = [], [], 0
    for k in keys:
        koffsets += [len(k.encode()), start + o]
        o += len(k.encode()) + 1
    o2 = 0
    for k in keys:
        voffsets += [len(catalog[k].encode()), start + len(ids) + o2]
        o2 += len(catalog[k].encode()) + 1
    header = struct.pack("Iiiiiii", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        header
        + struct.pack(f"{2 * n}i", *koffsets)
        + struct.pack(f"{2 * n}i", *voffsets)
        + ids
        + strs
    )


def test_gettext_pairs_strip_context_keep_singular_drop_empty(tmp_path: Path) -> None:
    write_mo(
        tmp_path / "fr" / "LC_MESSAGES" / "demo.mo",
        {
            "": "Content-Type: text/plain; charset=UTF-8\n",
            "menu\x04_Open file": "_Ouvrir le fichier",
            "%d file\x00%d files": "%d fichier\x00%d fichiers",
            "OK": "OK",
            "Untranslated": "",
        },
    )
    with (tmp_path / "fr" / "LC_MESSAGES" / "demo.mo").open("rb") as fp:
        assert gettext.GNUTranslations(fp)._catalog  # a valid catalogue
    pairs, catalogues = read_gettext_pairs(tmp_path, "fr")
    assert catalogues == 1
    assert pairs == [("%d file", "%d fichier"), ("Open file", "Ouvrir le fichier")]


def test_translation_file_split_by_source_and_vocab_in_state(tmp_path: Path) -> None:
    lines = [f"I see {i}.\tJe vois {i}.\tCC-BY" for i in range(200)]
    lines += [f"I see {i}.\tJe regarde {i}." for i in range(50)]  # same sources, other targets
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    dm = TranslationDataModule(path=str(path), min_freq=1, val_fraction=0.2, test_fraction=0.2)
    dm.setup()
    sources = {s: {" ".join(p[0]) for p in dm.split_pairs[s]} for s in ("train", "val", "test")}
    assert not sources["train"] & sources["test"] and not sources["val"] & sources["test"]
    assert dm.source_info["source"] == "file"
    src, src_len, tgt, tgt_len = dm.splits["train"]
    assert src.shape[1] == 16 and int(src_len.max()) == 5  # i see N . <eos>
    tgt_vocab = dm.vocabs[1]
    assert tgt_vocab.idx_to_token[1:4] == [PAD, BOS, EOS]
    restored = TranslationDataModule(path="/nowhere")
    restored.load_state_dict(dm.state_dict())
    assert restored.spec == dm.spec  # the vocabularies come back without the data


def test_translation_errors_name_the_bad_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.source='web'"):
        TranslationDataModule(source="web")
    bad = tmp_path / "bad.txt"
    bad.write_text("no tab here\n")
    with pytest.raises(DataError, match="line 1 has no tab"):
        TranslationDataModule(path=str(bad)).setup()
    nothing = TranslationDataModule(
        data_dir=str(tmp_path), locale_dir=str(tmp_path), download=False
    )
    with pytest.raises(DataError, match="fra.txt"):
        nothing.setup()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ok\tbien\ncaf\xe9\tcaf\xe9\n", r"is not UTF-8 text \(line 2, byte 0xe9\)"),
        (b"", r"holds no sentence pairs"),
        (b"\n\n", r"holds no sentence pairs"),
        (b"I see.\tJe vois.\nGo.\tVa.\nRun.\tCours.\n", r"leave the .*split empty"),
    ],
    ids=["latin1", "empty", "blank-lines", "three-pairs"],
)
def test_a_bad_pairs_file_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        TranslationDataModule(path=str(path), min_freq=1).setup()


def test_a_pairs_file_is_hashed_and_its_byte_order_mark_dropped(tmp_path: Path) -> None:
    lines = "\n".join(f"I see {i}.\tJe vois {i}." for i in range(300))
    plain, marked = tmp_path / "plain.tsv", tmp_path / "bom.tsv"
    plain.write_text(lines, encoding="utf-8")
    marked.write_text(lines, encoding="utf-8-sig")
    infos = []
    for path in (plain, marked):
        dm = TranslationDataModule(path=str(path), min_freq=1)
        dm.setup()
        infos.append(dm.source_info)
    assert infos[0]["pairs_sha1"] == infos[1]["pairs_sha1"]  # the mark is not part of a word
    assert infos[0]["split_sizes"] == infos[1]["split_sizes"]
    with pytest.raises(DataError, match="is a folder"):
        TranslationDataModule(path=str(tmp_path)).setup()


def test_dropped_pairs_are_counted_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"I see {i}.\tJe vois {i}." for i in range(300)]
    lines += ["\tBonjour.", "Hello.\t", "OK\tok", "I see 1.\tJe vois 1.", "a " * 20 + "\tb"]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level("INFO", logger="dlzoo.data.translation"):
        TranslationDataModule(path=str(path), min_freq=1, max_src_words=12).setup()
    assert (
        "5 of 305 sentence pairs dropped: 2 with an empty side, 1 with the same text on both "
        "sides, 1 too long, 1 repeated" in caplog.text
    )


@pytest.mark.parametrize("option", ["bidirectional_encoder", "output_context"])
def test_gru_switches_must_be_booleans(option: str) -> None:
    with pytest.raises(ConfigError, match=rf"model.net.{option}='yes': must be true or false"):
        Seq2Seq((6,), 11, 9, **{option: "yes"})


def test_reverse_digits_pairs() -> None:
    dm = ReverseDigitsDataModule(num_pairs=200)
    dm.setup()
    s, t = dm.split_pairs["train"][0]
    assert t == list(reversed(s))


def test_transformer_embedding_options() -> None:
    """``tie_embeddings`` shares one matrix (and stays shared after a state-dict round trip);
    ``embedding_init=scaled`` draws N(0, 1/d); a bad choice names the allowed ones."""
    torch.manual_seed(0)
    net = TransformerSeq2Seq((6,), 50, 40, num_hiddens=64, tie_embeddings=True)
    assert net.dense.weight is net.tgt_embedding.weight
    copy = TransformerSeq2Seq((6,), 50, 40, num_hiddens=64, tie_embeddings=True)
    copy.load_state_dict(net.state_dict())
    assert copy.dense.weight is copy.tgt_embedding.weight
    assert torch.equal(copy.dense.weight, net.tgt_embedding.weight)
    scaled = TransformerSeq2Seq((6,), 500, 400, num_hiddens=64, embedding_init="scaled")
    for embedding in (scaled.src_embedding, scaled.tgt_embedding):
        assert float(embedding.weight.detach().std()) == pytest.approx(64**-0.5, rel=0.05)
    assert float(TransformerSeq2Seq((6,), 500, 400).src_embedding.weight.detach().std()) > 0.9
    with pytest.raises(ConfigError, match=r"embedding_init='unit': must be 'book'"):
        TransformerSeq2Seq((6,), 50, 40, embedding_init="unit")


def test_attention_dropout_defaults_to_the_models_dropout() -> None:
    book = Seq2SeqAttention((6,), 11, 9, embed_size=8, num_hiddens=12, dropout=0.2)
    assert book.attention.dropout.p == 0.2
    none = Seq2SeqAttention((6,), 11, 9, embed_size=8, num_hiddens=12, attention_dropout=0.0)
    assert none.attention.dropout.p == 0.0
