"""BERT's pretraining, the book's 15.10: the masked-language-model loss (averaged over the
masked words) plus the next-sentence loss. ``val/mlm_loss`` picks the checkpoint; the
record holds ``mlm_loss``, ``mlm_acc``, ``nsp_loss`` and ``nsp_acc`` of validation and
test, and the MLM loss of guessing every masked word by its training frequency (a run that
does not beat it learned nothing).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection

from dlzoo.data.bert_pretraining import MASK, PretrainingSpec
from dlzoo.errors import ConfigError
from dlzoo.inference.mask_filling import MaskFilling
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register

PARTS = ("mlm_loss", "mlm_acc", "nsp_loss", "nsp_acc")
#: masked sentences shown in TensorBoard after each validation
SHOWN = 4


@register
class PretrainingTask(Task):
    task = "pretraining"
    spec_type = PretrainingSpec
    monitor = "val/mlm_loss"
    monitor_mode = "min"
    fitting_models = "bert"
    predictor = MaskFilling
    record_final_validation = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # MeanMetric objects: Lightning computes them at epoch end, weighted by the words
        # (MLM) or pairs (NSP) of each batch, with no host sync per step
        self.loss_parts = nn.ModuleDict(
            {
                f"{stage}_{part}": MeanMetric()
                for stage in ("train", "val", "test")
                for part in PARTS
            }
        )

    @classmethod
    def num_outputs(cls, spec: Any) -> int:
        return spec.vocab_size

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({})

    def losses(self, batch: tuple[Tensor, ...]) -> dict[str, Tensor]:
        tokens, segments, lengths, positions, weights, labels, nsp = batch
        _, mlm, nsp_scores = self.net(tokens, segments, lengths, positions)
        words = weights.sum().clamp(min=1)
        per_word = F.cross_entropy(mlm.flatten(0, 1), labels.flatten(), reduction="none")
        hits = (mlm.argmax(dim=-1) == labels).float()
        return {
            "mlm_loss": (per_word * weights.flatten()).sum() / words,
            "mlm_acc": (hits * weights).sum() / words,
            "nsp_loss": F.cross_entropy(nsp_scores, nsp),
            "nsp_acc": (nsp_scores.argmax(dim=-1) == nsp).float().mean(),
            "words": words,
        }

    def shared_step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        parts = self.losses(batch)
        size = len(batch[0])
        for part in PARTS:
            metric = self.loss_parts[f"{stage}_{part}"]
            metric.update(parts[part].detach(), parts["words"] if part.startswith("mlm") else size)
            if stage != "train" or not self._epoch_logged:  # training: once per epoch
                self.log(f"{stage}/{part}", metric, on_step=False, on_epoch=True,
                         prog_bar=stage != "train" and part in ("mlm_loss", "nsp_acc"))  # fmt: skip
        return StepOutput(parts["mlm_loss"] + parts["nsp_loss"], None, None, size)

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        """Every masked word guessed by its frequency among the training masks."""
        counts = torch.bincount(train_targets, minlength=self.spec.vocab_size).double() + 1
        probs = counts / counts.sum()
        loss = -probs[test_targets].log().mean().item()
        return Baseline("test/mlm_loss", loss, "each masked word guessed by its frequency", False)

    # -- what a user looks at ----------------------------------------------------------------
    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        splits = getattr(datamodule, "splits", None)
        if not splits or "val" not in splits:
            return
        text = self.masked_examples(tuple(t[:SHOWN].to(self.device) for t in splits["val"]))
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text("val/masked_words", text, self.current_epoch)

    @torch.no_grad()
    def masked_examples(self, batch: tuple[Tensor, ...], k: int = 3) -> str:
        """A Markdown table: each masked sentence, and at each mask the true word and the
        network's top guesses."""
        tokens, segments, lengths, positions, weights, labels, _ = batch
        was_training = self.net.training
        self.net.eval()
        _, mlm, _ = self.net(tokens, segments, lengths, positions)
        self.net.train(was_training)
        words = self.spec.tokens
        probs = mlm.softmax(dim=-1)
        rows = [
            "| masked pair (a chosen word shows as <mask>, a random word or itself) "
            "| each chosen word, left to right: the top guesses |",
            "|---|---|",
        ]
        for i in range(len(tokens)):
            shown = " ".join(words[t] for t in tokens[i, : lengths[i]].tolist())
            guesses = []
            count = int(weights[i].sum())
            for j in sorted(range(count), key=lambda j: int(positions[i, j])):  # left to right
                top = probs[i, j].topk(k)
                best = ", ".join(
                    f"{words[t]} {p:.2f}"
                    for p, t in zip(top.values.tolist(), top.indices.tolist(), strict=True)
                )
                guesses.append(f"**{words[int(labels[i, j])]}**: {best}")
            rows.append(f"| {shown.replace('|', '/')} | {'; '.join(guesses)} |")
        return "\n".join(rows)

    # -- export --------------------------------------------------------------------------------
    def example_input(self, batch_size: int = 2) -> Tensor:
        assert self.spec is not None
        return torch.full((batch_size, *self.spec.input_shape), MASK, dtype=torch.long)

    def exportable_net(self) -> nn.Module:
        raise ConfigError(
            "export.py writes a BERT checkpoint in Hugging Face's format only: "
            "python scripts/export.py ckpt_path=<checkpoint> format=huggingface (a folder "
            "that transformers.BertForPreTraining.from_pretrained loads)"
        )

    def write_huggingface(self, folder: Any) -> None:
        from dlzoo.models.bert_huggingface import write_huggingface

        write_huggingface(self.net, self.spec.tokens, folder)
