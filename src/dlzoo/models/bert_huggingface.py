"""A dlzoo BERT in Hugging Face's format: a folder that
``transformers.BertForPreTraining.from_pretrained`` loads (``config.json``, the weights,
the vocabulary as ``vocab.txt``), for a network built with ``layout=huggingface``.

The token ids are dlzoo's: lower-cased word tokens without punctuation, ``<unk>`` for
words not in the vocabulary. Hugging Face's ``BertTokenizer`` splits text differently
(punctuation, word pieces), so the folder's ``README.md`` says to make ids with dlzoo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from dlzoo.errors import ConfigError
from dlzoo.models.bert import BERT, LAYOUTS

#: our names -> Hugging Face's, per encoder block
BLOCK_NAMES = {
    "attention.W_q": "attention.self.query",
    "attention.W_k": "attention.self.key",
    "attention.W_v": "attention.self.value",
    "attention.W_o": "attention.output.dense",
    "norm1": "attention.output.LayerNorm",
    "ffn.0": "intermediate.dense",
    "ffn.2": "output.dense",
    "norm2": "output.LayerNorm",
}
NAMES = {
    "encoder.token_embedding": "bert.embeddings.word_embeddings",
    "encoder.segment_embedding": "bert.embeddings.token_type_embeddings",
    "encoder.pos_embedding": "bert.embeddings.position_embeddings",
    "encoder.embedding_norm": "bert.embeddings.LayerNorm",
    "pooler.0": "bert.pooler.dense",
    "mlm.transform.0": "cls.predictions.transform.dense",
    "mlm.transform.2": "cls.predictions.transform.LayerNorm",
    "nsp": "cls.seq_relationship",
}


def check_layout(net: BERT) -> None:
    wanted = LAYOUTS["huggingface"]
    differ = {k: v for k, v in net.options.items() if v != wanted[k]}
    if differ:
        given = ", ".join(f"{k}={v}" for k, v in differ.items())
        raise ConfigError(
            f"format=huggingface needs a BERT of Hugging Face's layout; this checkpoint has "
            f"{given}. Train with model.net.layout=huggingface (experiment=bert_pretrain "
            f"model.net.layout=huggingface)"
        )


def huggingface_state_dict(net: BERT) -> dict[str, Tensor]:
    """The network's weights under ``BertForPreTraining``'s names."""
    out: dict[str, Tensor] = {}
    for name, value in net.state_dict().items():
        module, _, leaf = name.rpartition(".")
        if module.startswith("encoder.blocks."):
            _, _, number, rest = module.split(".", 3)
            target = f"bert.encoder.layer.{number}.{BLOCK_NAMES[rest]}"
        elif module in NAMES:
            target = NAMES[module]
        elif name == "mlm.bias":
            out["cls.predictions.bias"] = value
            out["cls.predictions.decoder.bias"] = value
            continue
        else:
            raise KeyError(f"no Hugging Face name for {name}")
        out[f"{target}.{leaf}"] = value
    out["cls.predictions.decoder.weight"] = out["bert.embeddings.word_embeddings.weight"]
    return {k: v.detach().cpu().contiguous().clone() for k, v in out.items()}


def huggingface_config(net: BERT) -> dict:
    sizes = net.sizes
    return {
        "architectures": ["BertForPreTraining"],
        "model_type": "bert",
        "vocab_size": net.vocab_size,
        "hidden_size": sizes["num_hiddens"],
        "num_hidden_layers": sizes["num_layers"],
        "num_attention_heads": sizes["num_heads"],
        "intermediate_size": sizes["ffn_hiddens"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": sizes["dropout"],
        "attention_probs_dropout_prob": sizes["dropout"],
        "max_position_embeddings": net.max_len,
        "type_vocab_size": 2,
        "layer_norm_eps": net.options["norm_eps"],
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "tie_word_embeddings": True,
    }


README = """# A BERT trained with dlzoo

Load it with `transformers.BertForPreTraining.from_pretrained("{folder}")` (or `BertModel`).

Token ids come from dlzoo's tokenizer, not from `BertTokenizer`: lower-cased word tokens
(letters and digits, an apostrophe inside a word kept: "don't"), punctuation dropped, each
word looked up in `vocab.txt` (line number = id; `<unk>` = 1 for words not there). A text
becomes `<cls> words <sep>` (a pair: `<cls> a <sep> b <sep>`, segment ids 0 then 1).
Special ids: <pad> 0, <unk> 1, <cls> 2, <sep> 3, <mask> 4. Next-sentence scores follow
Hugging Face's convention: class 0 means the second sentence follows the first.
"""


def write_huggingface(net: BERT, tokens: Sequence[str], folder: str | Path) -> Path:
    """Write config, weights, ``vocab.txt`` and a README into ``folder``."""
    check_layout(net)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(huggingface_config(net), indent=2))
    weights = huggingface_state_dict(net)
    weights.pop("cls.predictions.decoder.weight")  # tied: transformers restores it
    try:
        from safetensors.torch import save_file
    except ImportError:
        torch.save(weights, folder / "pytorch_model.bin")
    else:
        save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "vocab.txt").write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
    specials = {"pad_token": "<pad>", "unk_token": "<unk>", "cls_token": "<cls>",
                "sep_token": "<sep>", "mask_token": "<mask>"}  # fmt: skip
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (folder / "README.md").write_text(README.format(folder=folder))
    return folder
