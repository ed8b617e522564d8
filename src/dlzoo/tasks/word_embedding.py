"""Word embeddings (the book's 15.1-15.7): a network that computes its own objective
(word2vec's negative sampling or hierarchical softmax, GloVe's weighted least squares) on a
word corpus. ``val/loss`` on held-out sentences picks the checkpoint; the word-similarity
and analogy scores are reported each epoch and at the end, never selected on.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn
from torchmetrics import MetricCollection

from dlzoo.data.word_corpus import WordCorpusSpec
from dlzoo.errors import ConfigError, TrainingDiverged
from dlzoo.inference.nearest_words import NearestWords
from dlzoo.inference.word_vectors import WordVectors, evaluate_vectors
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register

log = logging.getLogger(__name__)
#: the scores the progress bar shows (the rest go to the logs and the record)
PROGRESS_BAR = ("wordsim353_spearman", "simlex999_spearman", "analogy_acc")
#: the most frequent words shown in TensorBoard's embedding projector
PROJECTOR_WORDS = 1000


@register
class WordEmbeddingTask(Task):
    task = "word_embedding"
    spec_type = WordCorpusSpec
    monitor = "val/loss"
    monitor_mode = "min"
    fitting_models = "word2vec, glove or fasttext"
    predictor = NearestWords

    @classmethod
    def num_outputs(cls, spec: Any) -> int:
        return spec.vocab_size

    @classmethod
    def network_kwargs(cls, spec: Any) -> dict[str, Any]:
        return {"counts": list(spec.counts), "tokens": list(spec.tokens), "examples": spec.examples}

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({})

    def shared_step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        """The network computes its own objective from the whole example: word2vec's
        (centres, contexts), GloVe's (rows, columns, counts)."""
        return StepOutput(self.net(*batch), None, None, len(batch[0]))

    # -- the words, and how good they are ----------------------------------------------------
    def word_vectors(self) -> WordVectors:
        assert isinstance(self.spec, WordCorpusSpec)
        oov = getattr(self.net, "word_vector", None)  # fastText: unseen words from n-grams
        # <unk> (row 0) stands for every dropped word: no word's neighbour, not exported
        return WordVectors(list(self.spec.tokens[1:]), self.net.vectors()[1:].cpu(), oov=oov)

    def on_train_epoch_end(self) -> None:
        """A loss far above that of a network that learned nothing has diverged, even while
        it stays finite (summed sparse steps on a small corpus of one's own can do that)."""
        super().on_train_epoch_end()
        epoch_loss = self.trainer.callback_metrics.get("train/loss_epoch")
        untrained = self.net.untrained_loss()  # None where it depends on the data (GloVe)
        if epoch_loss is None or untrained is None or float(epoch_loss) <= 10 * untrained:
            return
        lr = self.trainer.optimizers[0].param_groups[0]["lr"] if self.trainer.optimizers else None
        raise TrainingDiverged(
            f"training diverged: the training loss of epoch {self.current_epoch} is "
            f"{float(epoch_loss):.4g}, over 10x that of a network that learned nothing "
            f"({untrained:.4g}). The learning rate is too high for this corpus"
            f"{'' if lr is None else f' (it was {lr:g})'}: lower optimizer.lr (e.g. 10x: the "
            f"recipes' rate suits the offline corpus; a small corpus of your own repeats "
            f"the same words in every batch)"
        )

    def on_validation_epoch_start(self) -> None:
        # the same noise words every validation: comparable losses across epochs
        self.net.eval_generator = torch.Generator(device=self.device).manual_seed(0)

    def on_test_epoch_start(self) -> None:
        self.on_validation_epoch_start()

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._log_scores("val")

    def on_test_epoch_end(self) -> None:
        self._log_scores("test")
        self._log_projector()

    def _log_scores(self, stage: str) -> None:
        for key, value in evaluate_vectors(self.word_vectors()).items():
            if value is not None:
                self.log(f"{stage}/{key}", float(value), prog_bar=key in PROGRESS_BAR)

    def _log_projector(self) -> None:
        vectors = self.word_vectors()
        n = min(PROJECTOR_WORDS, len(vectors))
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_embedding(
                    vectors.raw[:n], metadata=vectors.words[:n], tag="words"
                )

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        """The loss of a network whose every score is 0 (it learned nothing)."""
        loss = self.net.untrained_loss(test_targets)
        return None if loss is None else Baseline("test/loss", loss, "scores of zero", False)

    # -- export ------------------------------------------------------------------------------
    def exportable_net(self) -> nn.Module:
        raise ConfigError(
            "export.py does not export a word-embedding network: its product is the word "
            "vectors. Write them in word2vec's text format with: python scripts/embeddings.py "
            "vectors=<checkpoint> export=<file.txt>"
        )
