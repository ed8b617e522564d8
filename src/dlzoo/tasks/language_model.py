"""Language modelling: next-token cross-entropy, perplexity, a generated sample per epoch."""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection

from dlzoo.data.spec import DataSpec, TokenStreamSpec
from dlzoo.data.vocab import Vocab
from dlzoo.inference.continuation import TextContinuation
from dlzoo.inference.generation import generate
from dlzoo.models.rnn import State, detach_state, map_state
from dlzoo.tasks.base import Baseline, StepOutput, Task
from dlzoo.tasks.registry import register

log = logging.getLogger(__name__)


class Perplexity(Metric):
    """``exp`` of the mean next-token cross-entropy over every token seen."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("nll", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: Tensor, targets: Tensor) -> None:
        nll = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum"
        )
        self.nll += nll.double()
        self.count += targets.numel()

    def compute(self) -> Tensor:
        return torch.exp(self.nll / self.count.clamp(min=1)).float()


class LogitsOnly(nn.Module):
    """A language model as an exported file runs it: token ids in, next-token logits out
    (from a fresh state)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, tokens: Tensor) -> Tensor:
        return self.net(tokens)[0]


@register
class LanguageModelTask(Task):
    """Trains a language model ``logits, state = net(tokens, state)`` on ``(x, y)`` windows.

    Batches of sequential sampling, ``(x, y, continues)``, carry the recurrent state (detached:
    truncated backpropagation through time) from one batch to the next while ``continues``
    is true; every other batch starts from a fresh state. After each validation epoch a
    sample continuing the datamodule's ``sample_prefix`` is logged to TensorBoard as text.
    """

    task = "language_model"
    spec_type = TokenStreamSpec
    monitor = "val/perplexity"
    monitor_mode = "min"
    fitting_models = "rnn, gru, lstm, rnn_scratch or transformer_lm"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocab = Vocab.from_dict({"tokens": list(self.class_names)})
        self._states: dict[str, State] = {}
        self.last_sample: str | None = None

    @classmethod
    def num_outputs(cls, spec: DataSpec) -> int:
        assert isinstance(spec, TokenStreamSpec)
        return spec.num_classes  # one logit per vocabulary token

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"perplexity": Perplexity()})

    def trivial_baseline(self, train_targets: Tensor, test_targets: Tensor) -> Baseline:
        """Perplexity of the unigram model: each token's training frequency (add-one
        smoothed), whatever came before."""
        vocab = max(int(train_targets.max()), int(test_targets.max())) + 1
        counts = torch.bincount(train_targets.flatten().long(), minlength=vocab).double() + 1
        log_p = (counts / counts.sum()).log()
        nll = -float(log_p[test_targets.flatten().long()].mean())
        return Baseline(
            "test/perplexity", math.exp(nll), "the unigram model (token frequencies)", False
        )

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:  # type: ignore[override]
        return self.net(x, state)

    def shared_step(self, batch: tuple[Any, ...], stage: str) -> StepOutput:
        x, y = batch[0], batch[1]
        carry = len(batch) > 2 and bool(batch[2])
        logits, state = self(x, self._states.get(stage) if carry else None)
        self._states[stage] = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return StepOutput(loss, logits.detach(), y, y.numel())

    # -- the carried state in checkpoints: a mid-epoch resume continues from it -------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["carried_state"] = self._states.get("train")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._states["train"] = checkpoint.get("carried_state")

    def on_train_start(self) -> None:
        super().on_train_start()
        state = self._states.get("train")
        # under DDP the checkpoint holds rank zero's rows only: every rank starts afresh
        if self.trainer.world_size > 1:
            state = None
        device = self.device  # a state restored from a checkpoint is on the CPU
        self._states["train"] = map_state(state, lambda t: t.to(device))

    def example_input(self, batch_size: int = 2) -> Tensor:
        assert self.spec is not None
        return torch.zeros(batch_size, *self.spec.input_shape, dtype=torch.long)

    def exportable_net(self) -> nn.Module:
        return LogitsOnly(self.net)

    export_free_dims = {0: "batch", 1: "steps"}
    predictor = TextContinuation

    def export_outputs(self) -> str:
        return "logits (batch, steps, vocabulary), one per class_names entry (the tokens)"

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self(x)[0].softmax(dim=-1)

    # -- a sample after every validation epoch ---------------------------------------------
    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        dm = getattr(self.trainer, "datamodule", None)
        prefix = getattr(dm, "sample_prefix", None)
        if not prefix or getattr(self.net, "bidirectional", False):
            return
        tokens = dm.text_tokens(prefix)  # type: ignore[union-attr]
        if not tokens:
            return
        new = generate(self.net, self.vocab, tokens, int(getattr(dm, "sample_tokens", 50)))
        sep = getattr(dm, "separator", "")
        self.last_sample = sep.join(tokens) + sep + sep.join(new) if sep else "".join(tokens + new)
        log.info("epoch %d sample: %s", self.current_epoch, self.last_sample)
        for logger in self.trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text("val/sample", self.last_sample, self.global_step)
