"""Sequence to sequence (translation): teacher forcing, masked cross-entropy, BLEU.

Training feeds the target shifted right by ``<bos>`` (teacher forcing) and averages the
cross-entropy over real tokens only. Validation adds corpus BLEU-4 of greedy translations
of the first ``bleu_sentences`` sentences, attention heatmaps of a few fixed sentences and
a table of examples (TensorBoard); test translates the whole split greedily and with beam
search (the record's BLEU is the beam's) and writes ``test_translations.tsv``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.functional.text import bleu_score

from dlzoo import lightning_internals as internals
from dlzoo.data.spec import DataSpec, SequencePairSpec
from dlzoo.data.translation import BOS, EOS, PAD, detokenize
from dlzoo.errors import ConfigError
from dlzoo.figures.attention import attention_figure, close
from dlzoo.inference.decoding import Decoded, beam_search, greedy_decode, sentence_bleu
from dlzoo.inference.translation import Translator
from dlzoo.tasks.base import StepOutput, Task
from dlzoo.tasks.registry import register

log = logging.getLogger(__name__)

Batch = tuple[Tensor, Tensor, Tensor, Tensor]


class TokenAccuracy(Metric):
    """Share of real (non-padding) target tokens predicted right under teacher forcing."""

    full_state_update = False

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad
        self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, logits: Tensor, targets: Tensor) -> None:
        mask = targets != self.pad
        self.correct += ((logits.argmax(dim=-1) == targets) & mask).sum()
        self.total += mask.sum()

    def compute(self) -> Tensor:
        return self.correct.float() / self.total.clamp(min=1)


class TokenPerplexity(Metric):
    """``exp`` of the mean cross-entropy over real target tokens."""

    full_state_update = False

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad
        self.add_state("nll", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, logits: Tensor, targets: Tensor) -> None:
        nll = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            targets.reshape(-1),
            ignore_index=self.pad,
            reduction="sum",
        )
        self.nll += nll.double()
        self.count += (targets != self.pad).sum()

    def compute(self) -> Tensor:
        return torch.exp(self.nll / self.count.clamp(min=1)).float()


def corpus_bleu(hyps: list[list[str]], refs: list[list[str]]) -> float:
    """Corpus BLEU-4 on word tokens (torchmetrics), 0..1."""
    if not hyps:
        return 0.0
    return float(bleu_score([" ".join(h) for h in hyps], [[" ".join(r)] for r in refs]))


def sacre_bleu(hyps: list[list[str]], refs: list[list[str]]) -> float:
    """sacreBLEU (0..100) on detokenized text: the standard, comparable across tokenizers."""
    import sacrebleu

    hyp_text = [detokenize(h) for h in hyps]
    return float(sacrebleu.corpus_bleu(hyp_text, [[detokenize(r) for r in refs]]).score)


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"model.task_options.{name}={value!r}: must be an integer >= {minimum}")
    return value


def _number(name: str, value: Any, low: float, high: float | None, allowed: str) -> float:
    """A float in ``[low, high)``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not (low <= value and (high is None or value < high)):
        raise ConfigError(f"model.task_options.{name}={value!r}: must be a number {allowed}")
    return float(value)


@register
class Seq2SeqTask(Task):
    """Trains ``logits = net(src, src_len, dec_in)`` on ``(src, src_len, tgt, tgt_len)``.

    Args (``model.task_options``):
        label_smoothing: of the cross-entropy (0: none).
        bleu_sentences: validation sentences translated (greedy) for ``val/bleu``.
        beam_size: beam width on the test split (1: greedy only).
        length_alpha: beam search's length normalisation exponent.
        num_heatmaps: fixed validation sentences whose attention is drawn each epoch.
        num_examples: rows of the example table logged each epoch.
    """

    task = "seq2seq"
    spec_type = SequencePairSpec
    monitor = "val/bleu"
    monitor_mode = "max"
    fitting_models = "seq2seq, seq2seq_attention or transformer"

    def __init__(
        self,
        *args: Any,
        label_smoothing: float = 0.0,
        bleu_sentences: int = 500,
        beam_size: int = 4,
        length_alpha: float = 0.75,
        num_heatmaps: int = 3,
        num_examples: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.label_smoothing = _number("label_smoothing", label_smoothing, 0.0, 1.0, "in [0, 1)")
        # val/bleu picks the best checkpoint, so at least one sentence
        self.bleu_sentences = _integer("bleu_sentences", bleu_sentences, 1)
        self.beam_size = _integer("beam_size", beam_size, 1)
        self.length_alpha = _number("length_alpha", length_alpha, 0.0, None, ">= 0")
        self.num_heatmaps = _integer("num_heatmaps", num_heatmaps, 0)
        self.num_examples = _integer("num_examples", num_examples, 0)
        spec = self.spec
        assert isinstance(spec, SequencePairSpec)
        self.source_tokens = spec.source_tokens
        self.pad, self.bos, self.eos = (spec.target_tokens.index(t) for t in (PAD, BOS, EOS))
        self.max_len = int(spec.input_shape[0])
        self._outputs: dict[str, dict[str, list[Any]]] = {}

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        assert isinstance(spec, SequencePairSpec)
        return len(spec.target_tokens)

    @classmethod
    def network_kwargs(cls, spec: DataSpec) -> dict[str, Any]:
        assert isinstance(spec, SequencePairSpec)
        return {"src_vocab_size": len(spec.source_tokens)}

    def make_metrics(self) -> MetricCollection:
        pad = self.spec.target_tokens.index(PAD)  # type: ignore[union-attr]
        return MetricCollection(
            {"token_acc": TokenAccuracy(pad), "perplexity": TokenPerplexity(pad)}
        )

    def forward(self, src: Tensor, src_len: Tensor, dec_in: Tensor) -> Tensor:  # type: ignore[override]
        return self.net(src, src_len, dec_in)

    def shared_step(self, batch: Batch, stage: str) -> StepOutput:
        src, src_len, tgt, tgt_len = batch[:4]
        # cut the batch to its longest sentences: padding columns cost compute, teach nothing
        src, tgt = src[:, : int(src_len.max())], tgt[:, : int(tgt_len.max())]
        bos = torch.full_like(tgt[:, :1], self.bos)
        logits = self(src, src_len, torch.cat([bos, tgt[:, :-1]], dim=1))  # teacher forcing
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            tgt.reshape(-1),
            ignore_index=self.pad,
            label_smoothing=self.label_smoothing,
        )
        return StepOutput(loss, logits.detach(), tgt, src.shape[0])

    # -- using a trained model -------------------------------------------------------------
    predictor = Translator

    def exportable_net(self) -> nn.Module:
        raise ConfigError(
            "export of sequence-to-sequence models is not supported: a translation is a "
            "decoding loop (greedy or beam search) around the network, not one forward pass. "
            'Translate with scripts/predict.py ckpt_path=<checkpoint> text="..."; the '
            "checkpoint holds the weights and both vocabularies"
        )

    # -- decoding --------------------------------------------------------------------------
    def words(self, ids: list[int]) -> list[str]:
        return [self.class_names[i] for i in ids]

    def source_words(self, ids: Tensor, length: int) -> list[str]:
        return [self.source_tokens[int(i)] for i in ids[:length]]

    def translate(self, src: Tensor, src_len: Tensor, beam_size: int = 1) -> list[Decoded]:
        """Greedy (``beam_size=1``) or beam-search translations of a batch."""
        src = src[:, : int(src_len.max())]
        if beam_size == 1:
            return greedy_decode(
                self.net, src, src_len, self.bos, self.eos, self.max_len, never=(self.pad,)
            )
        return beam_search(
            self.net,
            src,
            src_len,
            self.bos,
            self.eos,
            self.max_len,
            beam_size,
            self.length_alpha,
            never=(self.pad,),
        )

    def _sentences(
        self, stage: str, start: int, src: Tensor, src_len: Tensor, tgt: Tensor, tgt_len: Tensor
    ) -> tuple[list[list[str]], list[list[str]]]:
        """Sources and references of rows ``start...`` of a split: the datamodule's own
        words (rare ones too, not ``<unk>``) when it has them, else the ids' words."""
        dm = getattr(internals.attached_trainer(self), "datamodule", None)
        pairs = getattr(dm, "split_pairs", {}).get(stage)
        if pairs and start + len(tgt) <= len(pairs):
            chosen = pairs[start : start + len(tgt)]
            return [list(s) for s, _ in chosen], [list(t) for _, t in chosen]
        sources = [self.source_words(s, int(n) - 1) for s, n in zip(src, src_len, strict=True)]
        refs = [self.words(row[: int(n) - 1].tolist()) for row, n in zip(tgt, tgt_len, strict=True)]
        return sources, refs

    def _collect(self, batch: Batch, stage: str) -> None:
        out = self._outputs.setdefault(stage, {"src": [], "ref": [], "greedy": [], "beam": []})
        src, src_len, tgt, tgt_len = batch[:4]
        start = len(out["ref"])
        if stage == "val":
            room = self.bleu_sentences - start
            if room <= 0:
                return
            src, src_len, tgt, tgt_len = (t[:room] for t in (src, src_len, tgt, tgt_len))
        sources, refs = self._sentences(stage, start, src, src_len, tgt, tgt_len)
        out["src"] += sources
        out["ref"] += refs
        out["greedy"] += [self.words(d.tokens) for d in self.translate(src, src_len)]
        if stage == "test" and self.beam_size > 1:
            out["beam"] += [
                self.words(d.tokens) for d in self.translate(src, src_len, self.beam_size)
            ]

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss = super().validation_step(batch, batch_idx)
        self._collect(batch, "val")
        return loss

    def test_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss = super().test_step(batch, batch_idx)
        self._collect(batch, "test")
        return loss

    def on_validation_epoch_start(self) -> None:
        self._outputs.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self._outputs.pop("test", None)

    def on_validation_epoch_end(self) -> None:
        out = self._outputs.pop("val", None)
        if not out:
            return
        self.log("val/bleu", corpus_bleu(out["greedy"], out["ref"]), prog_bar=True)
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        table = example_table(out["src"], out["ref"], out["greedy"], self.num_examples)
        log.info("epoch %d examples:\n%s", self.current_epoch, table)
        for logger in self.trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text("val/examples", table, self.global_step)
                self._log_heatmaps(logger)

    def on_test_epoch_end(self) -> None:
        out = self._outputs.pop("test", None)
        if not out:
            return
        best = out["beam"] or out["greedy"]
        metrics = {
            "test/bleu": corpus_bleu(best, out["ref"]),
            "test/bleu_greedy": corpus_bleu(out["greedy"], out["ref"]),
        }
        metrics["test/sacrebleu"] = sacre_bleu(best, out["ref"])
        self.log_dict(metrics)
        if not self.trainer.is_global_zero:
            return
        table = example_table(out["src"], out["ref"], best, self.num_examples)
        log.info("test examples (beam %d):\n%s", self.beam_size, table)
        for logger in self.trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text("test/examples", table, self.global_step)
        root = Path(self.trainer.default_root_dir)
        if root.is_dir():
            lines = ["source\treference\tprediction"] + [
                f"{' '.join(s)}\t{' '.join(r)}\t{' '.join(p)}"
                for s, r, p in zip(out["src"], out["ref"], best, strict=True)
            ]
            (root / "test_translations.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _log_heatmaps(self, logger: TensorBoardLogger) -> None:
        """Attention of the first ``num_heatmaps`` validation sentences (greedy output)."""
        dm = getattr(self.trainer, "datamodule", None)
        splits = getattr(dm, "splits", {})
        if self.num_heatmaps < 1 or "val" not in splits:
            return
        src, src_len = (t[: self.num_heatmaps].to(self.device) for t in splits["val"][:2])
        for i, decoded in enumerate(self.translate(src, src_len)):
            if decoded.attention is None:
                return  # a model without attention
            fig = attention_figure(
                decoded.attention,
                self.source_words(src[i], int(src_len[i])),
                [*self.words(decoded.tokens), EOS],
                title=f"epoch {self.current_epoch}",
            )
            logger.experiment.add_figure(f"val/attention_{i}", fig, self.global_step)
            close(fig)


def example_table(src: list[list[str]], ref: list[list[str]], pred: list[list[str]], n: int) -> str:
    """A markdown table: source, reference, prediction and the book's sentence BLEU."""
    rows = ["| source | reference | prediction | BLEU |", "|---|---|---|---|"]
    for s, r, p in list(zip(src, ref, pred, strict=True))[:n]:
        rows.append(
            f"| {' '.join(s)} | {' '.join(r)} | {' '.join(p)} | {sentence_bleu(p, r):.3f} |"
        )
    return "\n".join(rows)
