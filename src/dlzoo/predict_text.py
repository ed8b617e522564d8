"""Text generation from a checkpoint (``scripts/predict_text.py``)."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from dlzoo.errors import ConfigError
from dlzoo.generation import check_can_generate, generate
from dlzoo.restore import restore
from dlzoo.sampling import Sampling


def generate_text(cfg: DictConfig) -> str:
    """Continue ``cfg.prefix`` with the model in ``cfg.ckpt_path``; returns (and prints) the
    prefix followed by the generated tokens. Model, vocabulary and text preprocessing come
    from the checkpoint; no data is read."""
    Sampling.from_config(cfg)  # bad sampling values fail before the model is loaded
    model = restore(cfg.ckpt_path, trust=cfg.get("trust_checkpoint", False))
    if model.module.task != "language_model":
        raise ConfigError(
            f"{cfg.ckpt_path} is not a language model (model={model.config.model.get('name')}, "
            f"data={model.config.data.get('name')}, task {model.module.task})"
        )
    net, dm = model.module.net, model.datamodule
    check_can_generate(net)
    prefix = dm.text_tokens(str(cfg.prefix))
    generator = (
        torch.Generator().manual_seed(int(cfg.seed)) if cfg.get("seed") is not None else None
    )
    sampling = Sampling.from_config(cfg)
    new = generate(
        net, model.module.vocab, prefix, int(cfg.num_tokens), generator=generator, sampling=sampling
    )
    sep = dm.separator
    text = sep.join(prefix) + (sep if new else "") + sep.join(new)
    print(text)
    return text
