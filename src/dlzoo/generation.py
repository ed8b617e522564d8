"""Text generation with a trained language model: greedy, temperature, top-k, top-p and a
repetition guard (the choice of each token: :mod:`dlzoo.sampling`)."""

from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from dlzoo.data.vocab import Vocab, preprocess, tokenize
from dlzoo.errors import ConfigError
from dlzoo.sampling import SAMPLING_KEYS, Sampling, check_known_keys, next_token


def check_can_generate(net: nn.Module) -> None:
    """A bidirectional model reads the future it should predict: it cannot generate."""
    if getattr(net, "bidirectional", False):
        raise ConfigError(
            "this model is bidirectional (model.net.bidirectional=true): it reads the tokens it "
            "predicts, so it cannot generate text left to right. Train a unidirectional model "
            "(model.net.bidirectional=false) to generate."
        )


@torch.no_grad()
def generate(
    net: nn.Module,
    vocab: Vocab,
    prefix: list[str],
    num_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    sampling: Sampling | None = None,
) -> list[str]:
    """Continue ``prefix`` (tokens) by ``num_tokens`` tokens.

    ``temperature`` 0 is greedy (the most likely token each step); above 0, tokens are drawn
    from ``softmax(logits / temperature)``; ``sampling`` (which then replaces
    ``temperature``) adds top-k, top-p and the repetition guard. Recurrent models are warmed
    up on the prefix and then fed one token at a time with their state; a model with a ``context_size`` (the
    Transformer) is re-run on at most its last ``context_size`` tokens.
    """
    check_can_generate(net)
    if not prefix:
        raise ConfigError("prefix must hold at least one token to start generating from")
    if num_tokens < 0:
        raise ConfigError(f"num_tokens={num_tokens}: must be >= 0")
    if temperature < 0:
        raise ConfigError(f"temperature={temperature}: must be >= 0 (0 is greedy)")
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    ids = vocab.encode(prefix)
    context = getattr(net, "context_size", None)
    sampling = sampling or Sampling(temperature=temperature)

    def pick(logits: Tensor) -> int:
        return next_token(logits, ids, sampling, generator)

    try:
        if context is None:  # recurrent: carry the state
            logits, state = net(torch.tensor([ids], device=device))
            for _ in range(num_tokens):
                ids.append(pick(logits[0, -1]))
                logits, state = net(torch.tensor([[ids[-1]]], device=device), state)
        else:
            for _ in range(num_tokens):
                logits, _ = net(torch.tensor([ids[-context:]], device=device))
                ids.append(pick(logits[0, -1]))
    finally:
        net.train(was_training)
    return [vocab.idx_to_token[i] for i in ids[len(prefix) :]]


def load_language_model(ckpt_path: str, trust: bool = False) -> tuple[nn.Module, Vocab, DictConfig]:
    """The network, vocabulary and training config of a language-model checkpoint (no data
    needed: the vocabulary is stored in the checkpoint)."""
    from dlzoo.builders import build_network
    from dlzoo.checkpoints import config_from_checkpoint, load_checkpoint
    from dlzoo.data.spec import DataSpec
    from dlzoo.tasks.language_model import VOCAB_KEY

    checkpoint = load_checkpoint(ckpt_path, trust=trust)
    train_cfg = config_from_checkpoint(checkpoint, ckpt_path)
    if VOCAB_KEY not in checkpoint:
        raise ConfigError(
            f"{ckpt_path} holds no vocabulary ('{VOCAB_KEY}'): it is not a language model "
            f"(model={train_cfg.model.get('name')}, data={train_cfg.data.get('name')})"
        )
    vocab = Vocab.from_dict(checkpoint[VOCAB_KEY])
    spec = DataSpec(
        "language_model",
        (int(train_cfg.data.get("num_steps", 32)),),
        num_classes=len(vocab),
        class_names=vocab.tokens,
    )
    net = build_network(train_cfg.model, spec, "language_model")
    state = {k[4:]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    net.load_state_dict(state)
    return net, vocab, train_cfg


#: the keys of conf/generate.yaml; any other key is a mistake (e.g. ``+topk=5``)
GENERATE_KEYS = (
    "ckpt_path",
    "trust_checkpoint",
    "prefix",
    "num_tokens",
    "seed",
    *SAMPLING_KEYS,
    "task_name",
    "paths",
    "hydra",
)


def generate_text(cfg: DictConfig) -> str:
    """Continue ``cfg.prefix`` with the model in ``cfg.ckpt_path``; returns (and prints) the
    prefix followed by the generated tokens."""
    check_known_keys(cfg.keys(), GENERATE_KEYS, "predict_text.py (conf/generate.yaml)")
    sampling = Sampling.from_config(cfg)
    net, vocab, train_cfg = load_language_model(cfg.ckpt_path, cfg.get("trust_checkpoint", False))
    check_can_generate(net)
    tokenizer = train_cfg.data.get("tokenizer", "char")
    prefix = tokenize(
        preprocess(str(cfg.prefix), train_cfg.data.get("preprocessing", "letters")), tokenizer
    )
    generator = (
        torch.Generator().manual_seed(int(cfg.seed)) if cfg.get("seed") is not None else None
    )
    new = generate(net, vocab, prefix, int(cfg.num_tokens), generator=generator, sampling=sampling)
    sep = "" if tokenizer == "char" else " "
    text = sep.join(prefix) + (sep if new else "") + sep.join(new)
    print(text)
    return text
