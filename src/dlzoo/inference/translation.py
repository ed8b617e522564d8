"""A sequence-to-sequence model's prediction: the translation of each sentence (``text=``
or ``inputs=<file>``, one a line), with attention heatmaps on request.

Model, vocabularies and preprocessing come from the checkpoint alone; no training data is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from hydra.utils import get_class
from omegaconf import DictConfig

from dlzoo.data.translation import EOS, RESERVED, detokenize
from dlzoo.data.vocab import UNK
from dlzoo.errors import ConfigError, DataError
from dlzoo.figures.attention import attention_figure, close
from dlzoo.inference.predictor import Predictor

log = logging.getLogger(__name__)


def read_sentences(cfg: DictConfig) -> list[str]:
    """``text=...`` (one sentence) and/or ``inputs=<file>`` (one sentence a line)."""
    sentences = [str(cfg.text)] if cfg.get("text") else []
    if cfg.get("inputs"):
        path = Path(str(cfg.inputs))
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "no such file"
            raise DataError(f"inputs={str(path)!r}: {what}; give a text file, one sentence a line")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(
                f"inputs={str(path)!r} is not UTF-8 text: save it as UTF-8, e.g. iconv -f latin1 "
                f"-t utf-8"
            ) from None
        sentences += [line.strip() for line in text.splitlines()]
        sentences = [s for s in sentences if s]
    if not sentences:
        raise ConfigError('nothing to translate: pass text="a sentence" or inputs=<file>')
    return sentences


def beam_size(value: Any, default: int) -> int:
    """``beam_size=`` from the command line (``null``: the training config's)."""
    if value is None:
        return int(default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"beam_size={value!r}: must be an integer >= 1 (1: greedy search)")
    return value


def check_heatmap(heatmap: Any, saved: DictConfig) -> None:
    """A heatmap needs a network with attention (its class says, ``has_attention``)."""
    if not heatmap:
        return
    net_class = get_class(saved.model.net._target_)
    if not getattr(net_class, "has_attention", True):
        raise ConfigError(
            f"heatmap={heatmap!r}: model={saved.model.get('name')} has no attention to "
            f"draw; seq2seq_attention and transformer do"
        )


class Translator(Predictor):
    """Sentences in, ``source => translation`` lines out (and heatmaps)."""

    reads: ClassVar[frozenset[str]] = frozenset({"text", "inputs"})
    options: ClassVar[dict[str, Any]] = {"beam_size": None, "heatmap": None}
    takes: ClassVar[str] = 'text="a sentence" or inputs=<file, one sentence a line>'

    @classmethod
    def check_saved_config(cls, settings: Mapping[str, Any], saved: DictConfig) -> None:
        check_heatmap(settings.get("heatmap"), saved)

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        lines = translate(cfg, self.model, self.settings)
        return [{"translation": line} for line in lines]


def translate(cfg: DictConfig, model: Any, settings: dict[str, Any]) -> list[str]:
    """Print (and return) ``source => translation`` for each sentence."""
    task, dm = model.module, model.datamodule
    beam = beam_size(settings.get("beam_size"), task.beam_size)
    heatmap = settings.get("heatmap")
    check_heatmap(heatmap, model.config)
    src_vocab = dm.vocabs[0]
    # a typed "<eos>" or "<pad>" is an unknown word, not a control token
    words = [
        [UNK if token in RESERVED else token for token in dm.source_tokens(s)]
        for s in read_sentences(cfg)
    ]
    for i, w in enumerate(words):
        if len(w) + 1 > dm.num_steps:  # + <eos>
            log.warning(
                "sentence %d has %d words: only its first %d are translated "
                "(data.num_steps=%d, <eos> included)",
                *(i, len(w), dm.num_steps - 1, dm.num_steps),
            )
    src, src_len = dm.encode(words, src_vocab)
    decoded = task.translate(src.to(task.device), src_len.to(task.device), beam)
    lines = []
    for i, (w, d) in enumerate(zip(words, decoded, strict=True)):
        shown = [t if t in src_vocab.token_to_idx else "<unk>" for t in w]
        out = task.words(d.tokens)
        lines.append(f"{' '.join(shown)} => {detokenize(out)}")
        print(lines[-1])
        if heatmap and d.attention is not None:
            path = Path(str(heatmap))
            if len(words) > 1:
                path = path.with_name(f"{path.stem}_{i}{path.suffix or '.png'}")
            fig = attention_figure(d.attention, [*shown, EOS][: int(src_len[i])], [*out, EOS])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fig.savefig(path, dpi=120, bbox_inches="tight")
            except OSError as err:
                raise ConfigError(f"heatmap={str(heatmap)!r}: cannot write {path}: {err}") from None
            finally:
                close(fig)
            print(f"attention heatmap: {path}")
    return lines
