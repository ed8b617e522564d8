"""A language model's prediction: the text it writes after a prefix (``text=`` or
``prefix=``), drawn by greedy decoding or sampling."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from omegaconf import DictConfig

from dlzoo.inference.generation import check_can_generate, generate
from dlzoo.inference.predictor import Predictor
from dlzoo.inference.sampling import Sampling


class TextContinuation(Predictor):
    """Continue a prefix; prints (and returns) the prefix followed by the new tokens.
    Model, vocabulary and text preprocessing come from the checkpoint; no data is read."""

    reads: ClassVar[frozenset[str]] = frozenset({"text"})
    options: ClassVar[dict[str, Any]] = {
        "prefix": "time traveller",
        "num_tokens": 50,
        "temperature": 0.0,
        "top_k": 0,
        "top_p": 1.0,
        "no_repeat_ngram": 10,
        "repetition_penalty": 1.0,
        "seed": 0,
    }
    takes: ClassVar[str] = 'text="a prefix" (or prefix=...)'

    @classmethod
    def settings_from(cls, cfg: DictConfig) -> dict[str, Any]:
        settings = super().settings_from(cfg)
        Sampling.from_config(settings)  # bad sampling values fail before anything runs
        return settings

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        settings = self.settings
        prefix_text = cfg.get("text") if cfg.get("text") is not None else settings["prefix"]
        module, dm = self.model.module, self.model.datamodule
        check_can_generate(module.net)
        prefix = dm.text_tokens(str(prefix_text))
        seed = settings.get("seed")
        generator = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        new = generate(
            module.net,
            module.vocab,
            prefix,
            int(settings["num_tokens"]),
            generator=generator,
            sampling=Sampling.from_config(settings),
        )
        sep = dm.separator
        text = sep.join(prefix) + (sep if new else "") + sep.join(new)
        print(text)
        return [{"input": str(prefix_text), "continuation": text}]
