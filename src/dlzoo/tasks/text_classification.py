"""Text classification, the book's chapter 16: sentiment of a text (16.1-16.3) and natural
language inference on a sentence pair (16.4-16.5), over word embeddings that may start from
pretrained vectors (GloVe...).

Metrics: accuracy (``val/acc`` picks the checkpoint) and macro-F1. The record holds the
majority class and a TF-IDF + logistic regression baseline fitted on the same split (the
datamodule's), and the run's last lines say whether the network beat each.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from dlzoo.data.bert_pretraining import pretrained_vocabulary
from dlzoo.data.text_classification import TOKEN, TextClassificationSpec
from dlzoo.data.word_corpus import WORD
from dlzoo.errors import ConfigError
from dlzoo.figures.render import confusion_image
from dlzoo.inference.text_labels import TextLabels
from dlzoo.inference.word_vectors import pretrained_vectors
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.multiclass import majority_class_baseline, top_k
from dlzoo.tasks.registry import register
from dlzoo.utils.checkpoint_files import CONFIG_KEY, checkpoint_of, load_checkpoint

log = logging.getLogger(__name__)


class SeenTexts:
    """One evaluation epoch's labels and predictions, and its first few examples."""

    def __init__(self, examples: int = 12) -> None:
        self.true: list[Tensor] = []
        self.pred: list[Tensor] = []
        self.examples: list[tuple[Tensor, int, int]] = []
        self.limit = examples

    def add(self, x: Tensor, y: Tensor, outputs: Tensor) -> None:
        pred = outputs.detach().argmax(dim=-1).cpu()
        self.true.append(y.detach().cpu())
        self.pred.append(pred)
        for i in range(min(self.limit - len(self.examples), len(y))):
            self.examples.append((x[i].detach().cpu(), int(y[i]), int(pred[i])))


@register
class TextClassificationTask(Task):
    """Logits per class of a text or a sentence pair.

    Options (``model.task_options``):
        embedding: pretrained vectors copied into the network's word embeddings before
            training (``glove_6b_50d``, the book's ``glove.6b.100d``..., or a vectors file;
            ``null``: random). Words the vectors lack keep their random start.
        data_dir: where the book's vectors are looked for and downloaded to.
        pretrained: a BERT pretraining checkpoint (or run folder) whose encoder the network
            starts from (``model=bert_classifier``); the texts take its vocabulary
            (``data.vocabulary_from``).
    """

    task = "text_classification"
    spec_type = TextClassificationSpec
    monitor = "val/acc"
    monitor_mode = "max"
    fitting_models = "birnn or textcnn (texts), decomposable_attention (sentence pairs)"
    predictor = TextLabels

    def __init__(
        self,
        *args: Any,
        embedding: str | None = None,
        data_dir: str = "data",
        pretrained: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.embedding_source, self.data_dir = embedding, data_dir
        self.pretrained_source = pretrained
        self._seen: SeenTexts | None = None

    @classmethod
    def num_outputs(cls, spec: Any) -> int:
        return spec.num_classes

    @classmethod
    def network_kwargs(cls, spec: Any) -> dict[str, Any]:
        return {"tokens": list(spec.tokens)}

    def make_metrics(self) -> MetricCollection:
        n = len(self.class_names)
        return MetricCollection({
            "acc": MulticlassAccuracy(n, average="micro"),
            "macro_f1": MulticlassF1Score(n, average="macro"),
        })  # fmt: skip

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        outputs = self(x)
        if stage != "train" and self._seen is not None:
            self._seen.add(x, y, outputs)
        return StepOutput(F.cross_entropy(outputs, y), outputs.detach(), y, len(x))

    # -- what TensorBoard shows: a confusion matrix and a table of examples -----------------
    def on_validation_epoch_start(self) -> None:
        self._seen = None if self.trainer.sanity_checking else SeenTexts()

    def on_test_epoch_start(self) -> None:
        self._seen = SeenTexts()

    def on_validation_epoch_end(self) -> None:
        self._show("val")

    def on_test_epoch_end(self) -> None:
        self._show("test")

    def _show(self, stage: str) -> None:
        seen, self._seen = self._seen, None
        writer = next(
            (lg.experiment for lg in self.loggers if isinstance(lg, TensorBoardLogger)), None
        )
        if seen is None or writer is None or not seen.true or not self.trainer.is_global_zero:
            return
        names = list(self.class_names)
        true, pred = torch.cat(seen.true).numpy(), torch.cat(seen.pred).numpy()
        matrix = np.zeros((len(names), len(names)), dtype=np.int64)
        np.add.at(matrix, (true, pred), 1)
        step = self.trainer.global_step
        writer.add_image(f"{stage}/confusion_matrix", confusion_image(matrix, names), step,
                         dataformats="HWC")  # fmt: skip
        tokens = list(getattr(self.spec, "tokens", ()))
        rows = ["| text | true | predicted |", "|---|---|---|"]
        for ids, t, p in seen.examples:
            words = " / ".join(
                " ".join(tokens[i] for i in row if i > 0)
                for row in ids.view(-1, ids.shape[-1]).tolist()
            )
            predicted = names[p] if t == p else f"**{names[p]}**"  # mistakes in bold
            rows.append(f"| {words} | {names[t]} | {predicted} |")
        writer.add_text(f"{stage}/examples", "\n".join(rows), step)

    def predict_outputs(self, outputs: Tensor) -> Tensor:
        return outputs.softmax(dim=-1)

    def readable(self, outputs: Tensor, k: int = 2) -> list[list[tuple[str, float]]]:
        return top_k(outputs, self.class_names, k)

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        return majority_class_baseline(train_targets, test_targets)

    # -- export ----------------------------------------------------------------------------
    def example_input(self, batch_size: int = 2) -> Tensor:
        """Token ids (1, the unknown word: a text of full length, no padding)."""
        assert self.spec is not None
        return torch.ones(batch_size, *self.spec.input_shape, dtype=torch.long)

    def export_info(self, datamodule: Any) -> dict[str, Any]:
        info = super().export_info(datamodule)
        bert = getattr(datamodule, "tokenizer", "glove") == "word"
        info["text"] = (
            "lower-case the text (’ as '), take its tokens with the regex "
            + (WORD.pattern if bert else TOKEN.pattern)
            + ", map each to its index in "
            "fitted_preprocessing.tokens (1 for a word not there), cut or pad with 0 to "
            f"{self.spec.num_steps if self.spec else '?'} ids"
            + (
                "; a pair is two such rows, premise then hypothesis"
                if self.spec and self.spec.is_pair
                else ""
            )
            + ("; the network adds <cls> and <sep> itself" if bert else "")
        )
        return info

    # -- pretrained vectors -----------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Before training starts (and before a resumed run's weights are restored over
        them), copy the pretrained vectors in; prediction and evaluation never need them."""
        if stage != "fit" or getattr(self, "_embedded", False):
            return
        if self.embedding_source:
            self.load_pretrained(str(self.embedding_source))
        if self.pretrained_source:
            self.load_pretrained_network(str(self.pretrained_source))
        elif getattr(self.net, "freeze_encoder", False):
            log.warning("model.net.freeze_encoder=true without model.pretrained: the encoder "
                        "stays random and only the head learns")  # fmt: skip
        self._embedded = True

    def load_pretrained_network(self, source: str) -> None:
        """A pretraining run's encoder (BERT) into the network, over the same vocabulary."""
        load = getattr(self.net, "load_pretrained", None)
        if load is None:
            raise ConfigError(f"model.pretrained={source}: this network starts from no "
                              f"pretrained network (model=bert_classifier does)")  # fmt: skip
        if pretrained_vocabulary(source) != tuple(getattr(self.spec, "tokens", ())):
            raise ConfigError(
                f"model.pretrained={source}: the texts were not read with its vocabulary; "
                f"set data.vocabulary_from={source} (the text data configs take "
                f"model.pretrained by default)"
            )
        checkpoint = load_checkpoint(checkpoint_of(source))
        weights = checkpoint["state_dict"]
        saved = checkpoint.get(CONFIG_KEY) or {}
        net_config = (saved.get("model") or {}).get("net")  # its layout, to compare
        count = load(
            {k.removeprefix("net."): v for k, v in weights.items() if k.startswith("net.")},
            net_config,
        )
        log.info("%s: %d tensors of the pretrained network copied in", source, count)

    def load_pretrained(self, source: str) -> None:
        vectors = pretrained_vectors(source, self.data_dir)
        tokens = list(getattr(self.spec, "tokens", ()))
        found = [(i, vectors.find(w)) for i, w in enumerate(tokens) if i > 0]  # 0: padding
        found = [(i, j) for i, j in found if j is not None]
        targets = [] if not hasattr(self.net, "word_embeddings") else self.net.word_embeddings()
        if not targets:
            raise ConfigError(f"model.embedding={source}: this network has no word embeddings")
        size = vectors.raw.shape[1]
        if targets[0].embedding_dim != size:
            raise ConfigError(
                f"model.embedding={source} holds vectors of {size} numbers but "
                f"model.net.embedding_dim={targets[0].embedding_dim}: set "
                f"model.net.embedding_dim={size}"
            )
        rows = torch.tensor([i for i, _ in found], dtype=torch.long)
        values = vectors.raw[torch.tensor([j for _, j in found], dtype=torch.long)]
        with torch.no_grad():
            for table in targets:
                # a word the vectors lack starts at zero, like the book's TokenEmbedding
                # gives it: random rows in a fixed table would be noise for good
                table.weight.zero_()
                table.weight[rows.to(table.weight.device)] = values.to(table.weight)
        log.info("%s: vectors for %d of the %d words (the rest start at zero)",
                 source, len(found), len(tokens) - 1)  # fmt: skip
