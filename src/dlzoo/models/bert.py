"""BERT, the book's 15.8: token + segment + learned position embeddings, post-norm
Transformer encoder blocks (the project's :class:`MultiHeadAttention`), a masked-language-
model head and a next-sentence head.

Two layouts, chosen by the options (``layout`` sets them all, each may be set alone):

==============================  ====================  ==========================
option                          ``book`` (15.8)       ``huggingface`` (``BertModel``)
==============================  ====================  ==========================
``activation`` (FFN, MLM head)  relu                  gelu (erf)
``embedding_norm``              false                 true (LayerNorm, dropout)
``tie_mlm_decoder``             false                 true (token embeddings + bias)
``norm_eps``                    1e-5                  1e-12
``init_std``                    PyTorch's defaults    N(0, 0.02), zero biases
==============================  ====================  ==========================

Both have biased Q/K/V and output projections, a tanh pooler on ``<cls>`` under the
next-sentence head, and a dense-activation-LayerNorm transform before the MLM decoder, so
the ``huggingface`` layout is ``transformers.BertForPreTraining`` weight for weight
(:mod:`dlzoo.inference.huggingface` writes it in that format).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.attention import MultiHeadAttention

LAYOUTS: dict[str, dict[str, Any]] = {
    "book": {"activation": "relu", "embedding_norm": False, "tie_mlm_decoder": False,
             "norm_eps": 1e-5, "init_std": None},
    "huggingface": {"activation": "gelu", "embedding_norm": True, "tie_mlm_decoder": True,
                    "norm_eps": 1e-12, "init_std": 0.02},
}  # fmt: skip
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}
#: the options that change what the encoder computes (the rest: its MLM head, its start)
ENCODER_OPTIONS = ("activation", "embedding_norm", "norm_eps")


def layout_options(layout: str = "book", **given: Any) -> dict[str, Any]:
    """The options of ``layout``, with each one given (not ``None``) in its place."""
    if layout not in LAYOUTS:
        raise ConfigError(f"model.net.layout={layout!r}: choose one of {list(LAYOUTS)}")
    return {k: v if given.get(k) is None else given[k] for k, v in LAYOUTS[layout].items()}


class EncoderBlock(nn.Module):
    """Post-norm: ``LN(x + attention(x))`` then ``LN(x + FFN(x))``."""

    def __init__(self, num_hiddens: int, num_heads: int, ffn_hiddens: int, dropout: float,
                 activation: str, norm_eps: float) -> None:  # fmt: skip
        super().__init__()
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, bias=True)
        self.norm1 = nn.LayerNorm(num_hiddens, eps=norm_eps)
        self.ffn = nn.Sequential(
            nn.Linear(num_hiddens, ffn_hiddens),
            ACTIVATIONS[activation](),
            nn.Linear(ffn_hiddens, num_hiddens),
        )
        self.norm2 = nn.LayerNorm(num_hiddens, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, valid_lens: Tensor | None) -> Tensor:
        x = self.norm1(x + self.dropout(self.attention(x, x, x, valid_lens)))
        return self.norm2(x + self.dropout(self.ffn(x)))


class BERTEncoder(nn.Module):
    """Token ids and segment ids ``(batch, steps)`` -> one vector per token; keys at or
    past each pair's valid length get no attention."""

    def __init__(self, vocab_size: int, num_hiddens: int, num_heads: int, num_layers: int,
                 ffn_hiddens: int, dropout: float, max_len: int, activation: str,
                 embedding_norm: bool, norm_eps: float) -> None:  # fmt: skip
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, num_hiddens)
        self.segment_embedding = nn.Embedding(2, num_hiddens)
        self.pos_embedding = nn.Embedding(max_len, num_hiddens)  # learned, as BERT's
        self.embedding_norm = nn.LayerNorm(num_hiddens, eps=norm_eps) if embedding_norm else None
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(num_hiddens, num_heads, ffn_hiddens, dropout, activation, norm_eps)
            for _ in range(num_layers)
        )

    def forward(self, tokens: Tensor, segments: Tensor, valid_lens: Tensor | None) -> Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.token_embedding(tokens) + self.segment_embedding(segments)
        x = x + self.pos_embedding(positions)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x)
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x, valid_lens)
        return x


class MaskLM(nn.Module):
    """The MLM head: dense, activation, LayerNorm, then scores over the vocabulary (a
    decoder of its own, or the token embeddings shared plus a bias)."""

    def __init__(self, vocab_size: int, num_hiddens: int, activation: str, norm_eps: float,
                 tied_to: nn.Embedding | None) -> None:  # fmt: skip
        super().__init__()
        self.transform = nn.Sequential(
            nn.Linear(num_hiddens, num_hiddens),
            ACTIVATIONS[activation](),
            nn.LayerNorm(num_hiddens, eps=norm_eps),
        )
        self.tied_to = [tied_to] if tied_to is not None else None  # a list: not a submodule
        self.decoder = None if tied_to is not None else nn.Linear(num_hiddens, vocab_size)
        self.bias = nn.Parameter(torch.zeros(vocab_size)) if tied_to is not None else None

    def forward(self, hidden: Tensor) -> Tensor:
        h = self.transform(hidden)
        if self.decoder is not None:
            return self.decoder(h)
        return F.linear(h, self.tied_to[0].weight, self.bias)


class BERT(nn.Module):
    """BERT for pretraining: ``forward(tokens, segments, valid_lens, positions)`` returns
    the encoded tokens, MLM scores at ``positions`` (``(batch, predictions, vocab)``; every
    position when ``None``) and NSP scores ``(batch, 2)`` (0: the second sentence follows).

    Args: ``num_hiddens`` (the book: 128), ``num_heads`` (2), ``num_layers`` (2),
    ``ffn_hiddens`` (256), ``dropout`` (0.2), ``layout`` (``book`` or ``huggingface``; the
    table in the module's docstring), or any of its options one by one (``init_std``
    ``null`` keeps the layout's).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        num_hiddens: int = 128,
        num_heads: int = 2,
        num_layers: int = 2,
        ffn_hiddens: int = 256,
        dropout: float = 0.2,
        layout: str = "book",
        activation: str | None = None,
        embedding_norm: bool | None = None,
        tie_mlm_decoder: bool | None = None,
        norm_eps: float | None = None,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        options = layout_options(layout, activation=activation, embedding_norm=embedding_norm,
                                 tie_mlm_decoder=tie_mlm_decoder, norm_eps=norm_eps,
                                 init_std=init_std)  # fmt: skip
        if options["activation"] not in ACTIVATIONS:
            raise ConfigError(f"model.net.activation={options['activation']!r}: choose one of "
                              f"{list(ACTIVATIONS)}")  # fmt: skip
        for name, value in (("num_hiddens", num_hiddens), ("num_heads", num_heads),
                            ("num_layers", num_layers), ("ffn_hiddens", ffn_hiddens)):  # fmt: skip
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model.net.{name}={value!r}: must be an integer >= 1")
        self.options = options
        self.vocab_size, self.max_len = num_outputs, int(input_shape[0])
        self.sizes = {"num_hiddens": num_hiddens, "num_heads": num_heads,
                      "num_layers": num_layers, "ffn_hiddens": ffn_hiddens, "dropout": dropout}  # fmt: skip
        self.encoder = BERTEncoder(num_outputs, num_hiddens, num_heads, num_layers, ffn_hiddens,
                                   dropout, self.max_len, options["activation"],
                                   options["embedding_norm"], options["norm_eps"])  # fmt: skip
        tied = self.encoder.token_embedding if options["tie_mlm_decoder"] else None
        self.mlm = MaskLM(num_outputs, num_hiddens, options["activation"], options["norm_eps"],
                          tied)  # fmt: skip
        self.pooler = nn.Sequential(nn.Linear(num_hiddens, num_hiddens), nn.Tanh())
        self.nsp = nn.Linear(num_hiddens, 2)
        if options["init_std"] is not None:
            self.apply(partial(_bert_init, std=float(options["init_std"])))

    def forward(
        self,
        tokens: Tensor,
        segments: Tensor | None = None,
        valid_lens: Tensor | None = None,
        positions: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        if segments is None:
            segments = torch.zeros_like(tokens)
        encoded = self.encoder(tokens, segments, valid_lens)
        if positions is None:
            picked = encoded
        else:
            index = positions.unsqueeze(-1).expand(-1, -1, encoded.shape[-1])
            picked = encoded.gather(1, index)
        return encoded, self.mlm(picked), self.nsp(self.pooler(encoded[:, 0]))


def _bert_init(module: nn.Module, std: float) -> None:
    """BERT's own initialisation: weights N(0, std), biases 0 (with a decoder tied to
    embeddings of unit variance, PyTorch's default start has MLM losses of ~25)."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


CLS_ID, SEP_ID, PAD_ID = 2, 3, 0  # dlzoo's BERT vocabularies start <pad> <unk> <cls> <sep>


def pack_for_bert(x: Tensor, max_len: int) -> tuple[Tensor, Tensor, Tensor]:
    """Padded token ids ``(b, steps)`` (a text) or ``(b, 2, steps)`` (a pair; 0 pads) as
    BERT reads them: ``<cls> a <sep>`` (``b <sep>``), segment ids and valid lengths, cut to
    ``max_len`` (a pair: the longer text first)."""
    parts = [x] if x.ndim == 2 else [x[:, 0], x[:, 1]]
    lengths = [(p != PAD_ID).sum(dim=1) for p in parts]
    budget = max_len - 1 - len(parts)  # <cls> and one <sep> a text
    if len(parts) == 1:
        la, lb = lengths[0].clamp(max=budget), None
    else:
        la = torch.minimum(
            lengths[0], torch.maximum(budget - lengths[1], torch.full_like(lengths[1], budget // 2))
        )
        lb = torch.minimum(lengths[1], budget - la)
    total = la + 2 if lb is None else la + lb + 3
    batch = x.shape[0]
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        # an exported file takes any batch: its width follows the input's, not the data's
        width = min(max_len, sum(p.shape[1] for p in parts) + 1 + len(parts))
    else:
        width = int(total.max())  # the longest pair of the batch: no attention to padding
    pos = torch.arange(width, device=x.device).unsqueeze(0)
    first = la.unsqueeze(1)
    tokens = torch.full((batch, width), PAD_ID, dtype=x.dtype, device=x.device)
    in_a = (pos >= 1) & (pos <= first)
    a_ids = parts[0].gather(1, (pos - 1).clamp(0, parts[0].shape[1] - 1).expand(batch, -1))
    tokens = torch.where(in_a, a_ids, tokens)
    tokens = torch.where(pos == 0, torch.full_like(tokens, CLS_ID), tokens)
    tokens = torch.where(pos == first + 1, torch.full_like(tokens, SEP_ID), tokens)
    segments = torch.zeros_like(tokens)
    if lb is not None:
        second = lb.unsqueeze(1)
        in_b = (pos >= first + 2) & (pos < first + 2 + second)
        b_ids = parts[1].gather(1, (pos - first - 2).clamp(0, parts[1].shape[1] - 1))
        tokens = torch.where(in_b, b_ids, tokens)
        tokens = torch.where(pos == first + second + 2, torch.full_like(tokens, SEP_ID), tokens)
        segments = ((pos >= first + 2) & (pos < total.unsqueeze(1))).long()
    return tokens, segments, total


#: how the classifier reads the encoder's outputs (``model.net.pooling``)
POOLINGS = ("cls", "mean")


class BERTClassifier(nn.Module):
    """BERT fine-tuned for a text or a sentence pair (the book's 16.6): the encoder, the
    pooler on ``<cls>`` (both from ``model.pretrained``, or random), dropout and a linear
    layer of ``num_outputs``. Takes the text-classification data's padded ids and adds
    ``<cls>``/``<sep>`` and segments itself.

    Args: the sizes and ``layout`` of :class:`BERT` (they must match the pretrained
    checkpoint's), ``max_len`` (its position embeddings: the pretraining ``data.max_len``),
    ``freeze_encoder`` (train the head only), ``head_lr`` (the head's learning rate;
    ``None``: the optimizer's), ``pretrained_pooler`` (start the tanh layer on ``<cls>``
    from the pretraining's next-sentence head, as the book does; ``False``: a fresh one),
    ``pooling`` (``cls``: the pooler on ``<cls>``, the book's; ``mean``: the average of the
    encoder's outputs over the pair's tokens, without the pooler, whose pretraining taught
    ``<cls>`` only whether two sentences follow each other).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        tokens: Sequence[str] = (),
        num_hiddens: int = 128,
        num_heads: int = 2,
        num_layers: int = 2,
        ffn_hiddens: int = 256,
        dropout: float = 0.2,
        max_len: int = 64,
        layout: str = "book",
        freeze_encoder: bool = False,
        head_lr: float | None = None,
        pretrained_pooler: bool = True,
        pooling: str = "cls",
        **options: Any,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ConfigError(
                f"model.net.pooling={pooling!r}: use one of {', '.join(POOLINGS)} (cls: the "
                "pooler on <cls>, the book's; mean: the average of the encoded tokens)"
            )
        if len(tokens) < 5 or list(tokens[:4]) != ["<pad>", "<unk>", "<cls>", "<sep>"]:
            raise ConfigError(
                "model=bert_classifier reads texts in a BERT pretraining vocabulary: give "
                "model.pretrained=<the run folder of experiment=bert_pretrain>, or for a random "
                "start over the same words model.pretrained=null model.vocabulary=<that run>"
            )
        bert = BERT((max_len,), len(tokens), num_hiddens, num_heads, num_layers, ffn_hiddens,
                    dropout, layout, **options)  # fmt: skip
        self.encoder, self.pooler, self.max_len = bert.encoder, bert.pooler, max_len
        self.options = bert.options
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(num_hiddens, num_outputs)
        self.freeze_encoder, self.head_lr = freeze_encoder, head_lr
        self.pooling = pooling
        self.pretrained_pooler = pretrained_pooler and pooling == "cls"
        if pooling != "cls":
            self.pooler = None  # not used: no parameters that never get a gradient
        for p in self.encoder.parameters():
            p.requires_grad_(not freeze_encoder)

    def load_pretrained(
        self, weights: dict[str, Tensor], net_config: Mapping[str, Any] | None = None
    ) -> int:
        """Copy a pretraining network's encoder and pooler in (names as in :class:`BERT`);
        returns how many tensors were copied. ``net_config``: the pretraining run's
        ``model.net``, whose layout must be this network's (an activation has no tensor)."""
        if net_config is not None:
            theirs = layout_options(str(net_config.get("layout") or "book"),
                                    **{k: net_config.get(k) for k in LAYOUTS["book"]})  # fmt: skip
            for key in ENCODER_OPTIONS:
                if theirs[key] != self.options[key]:
                    raise ConfigError(
                        f"model.pretrained: its network was built with {key}={theirs[key]!r} "
                        f"(layout {net_config.get('layout') or 'book'}), model.net with "
                        f"{key}={self.options[key]!r}; set model.net.layout="
                        f"{net_config.get('layout') or 'book'} as the pretraining run's"
                    )
        mine = {f"encoder.{k}": v for k, v in self.encoder.state_dict().items()}
        if self.pretrained_pooler:  # the book's: the NSP head's hidden layer on <cls>
            mine.update({f"pooler.{k}": v for k, v in self.pooler.state_dict().items()})
        missing = sorted(set(mine) - set(weights))
        # tensors of the pretrained encoder this one has no place for (its embedding norm)
        missing += sorted(k for k in weights if k.startswith("encoder.") and k not in mine)
        wrong = [k for k in mine if k in weights and weights[k].shape != mine[k].shape]
        if missing or wrong:
            key = (missing or wrong)[0]
            found = tuple(weights[key].shape) if key in weights else "nothing"
            makes = tuple(mine[key].shape) if key in mine else "nothing"
            raise ConfigError(
                f"model.pretrained: its network differs from model.net ({key}: it holds "
                f"{found}, model.net makes {makes}); set model.net's sizes and layout to the "
                f"pretraining run's"
            )
        with torch.no_grad():
            for key, value in mine.items():
                value.copy_(weights[key])
        return len(mine)

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The encoder and the head, the head at ``head_lr`` when given."""
        head = [*self.output.parameters()]
        if self.pooler is not None:
            head += self.pooler.parameters()
        head_group: dict[str, Any] = {"params": head}
        if self.head_lr is not None:
            head_group["lr"] = float(self.head_lr)
        groups = [head_group]
        if not self.freeze_encoder:
            groups.insert(0, {"params": list(self.encoder.parameters())})
        return groups

    def forward(self, x: Tensor) -> Tensor:
        tokens, segments, lengths = pack_for_bert(x, self.max_len)
        encoded = self.encoder(tokens, segments, lengths)
        if self.pooler is not None:
            return self.output(self.dropout(self.pooler(encoded[:, 0])))
        valid = torch.arange(tokens.shape[1], device=tokens.device) < lengths.unsqueeze(1)
        weights = valid.unsqueeze(-1).to(encoded.dtype)
        mean = (encoded * weights).sum(1) / weights.sum(1).clamp(min=1)
        return self.output(self.dropout(mean))
