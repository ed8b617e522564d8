"""A BERT pretraining checkpoint's prediction: the words that fill each ``<mask>`` of a
text (``text="the <mask> of the program"``), the top ``top_k`` with their probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from omegaconf import DictConfig

from dlzoo.data.bert_pretraining import CLS, MASK, SEP, SPECIALS, encode_text
from dlzoo.data.word_corpus import word_tokens
from dlzoo.errors import ConfigError
from dlzoo.inference.predictor import Predictor, as_list

EXAMPLE = 'text="the <mask> of the program"'


class MaskFilling(Predictor):
    """Each text becomes ``<cls> words <sep>`` (one segment, cut to the training length);
    every ``<mask>`` gets its ``top_k`` words (never a special token)."""

    reads: ClassVar[frozenset[str]] = frozenset({"text", "inputs"})
    options: ClassVar[dict[str, Any]] = {"top_k": 5}
    takes: ClassVar[str] = f"{EXAMPLE}, or inputs=<file, one text a line>"

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        k = self.settings["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"top_k={k!r}: must be an integer >= 1")
        texts = [str(cfg.text)] if cfg.get("text") else []
        for item in as_list(cfg.get("inputs")):
            path = Path(item)
            if not path.is_file():
                raise ConfigError(f"inputs={item!r}: no such file (a text file, one text a line)")
            texts += [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        if not texts:
            raise ConfigError(f"nothing to fill: {self.model_name()} takes {self.takes}")
        task = self.model.module
        words = task.spec.tokens
        index = {w: i for i, w in enumerate(words)}
        max_len = task.spec.input_shape[0]
        records = []
        for text in texts:
            ids = encode_text(text, index)[: max_len - 2]
            if MASK not in ids:
                raise ConfigError(
                    f"text={text!r} holds no <mask> (within the first {max_len - 2} words): "
                    f"write <mask> where a word is missing, e.g. {EXAMPLE}"
                )
            tokens = torch.tensor([[CLS, *ids, SEP]], device=task.device)
            positions = (tokens[0] == MASK).nonzero().view(1, -1)
            with torch.no_grad():
                _, scores, _ = task.net.eval()(
                    tokens,
                    torch.zeros_like(tokens),
                    torch.tensor([tokens.shape[1]], device=task.device),
                    positions,
                )
            scores[..., : len(SPECIALS)] = float("-inf")  # a mask is filled with a word
            probs = scores.softmax(dim=-1)[0]
            masks = []
            for p in probs:
                top = p.topk(min(k, len(words) - len(SPECIALS)))
                masks.append(
                    [
                        (words[i], round(float(v), 4))
                        for v, i in zip(top.values, top.indices, strict=True)
                    ]
                )
            unknown = [w for w in word_tokens(text.replace("<mask>", " ")) if w not in index]
            record: dict[str, Any] = {"input": text, "masks": masks}
            if unknown:
                record["unknown_words"] = unknown
            records.append(record)
            for number, found in enumerate(masks, 1):
                label = f"<mask> {number}" if len(masks) > 1 else "<mask>"
                print(f"{text}: {label}: " + ", ".join(f"{w} ({s:.3f})" for w, s in found))
            if unknown:
                print(f"  (not in the vocabulary, read as <unk>: {', '.join(unknown)})")
        return records
