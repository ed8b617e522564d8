"""Word vectors from a checkpoint, the pretrained GloVe 6B 50d, or a text file: nearest
words, analogies, the standard evaluations, and export in word2vec's text format
(``scripts/embeddings.py``; the book's 15.7)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlzoo.config.restore import restore
from dlzoo.errors import ConfigError
from dlzoo.inference.word_vectors import (
    WordVectors,
    evaluate_vectors,
    pretrained_vectors,
)

log = logging.getLogger(__name__)


def load_vectors(source: str, trust: bool = False, data_dir: str | None = None) -> WordVectors:
    """``glove_6b_50d``, the book's names (``glove.6b.100d``...), a dlzoo checkpoint (or
    run folder), or a word2vec/GloVe text file."""
    path = Path(source).expanduser()
    if path.is_dir() or path.suffix == ".ckpt":
        model = restore(path, data_dir=data_dir, trust=trust)
        word_vectors = getattr(model.module, "word_vectors", None)
        if word_vectors is None:
            raise ConfigError(f"vectors={source!r}: its model ({model.config.model.get('name')}) "
                              f"has no word vectors")  # fmt: skip
        return word_vectors()
    return pretrained_vectors(source, data_dir or "data", key="vectors")


def embeddings(cfg: DictConfig) -> dict[str, Any]:
    """Do what the options ask, print it, and return it."""
    if not cfg.get("vectors"):
        raise ConfigError(
            "vectors is required: a checkpoint or run folder, glove_6b_50d, or a text file"
        )
    k = cfg.get("top_k", 10)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"top_k={k!r}: must be an integer >= 1")
    analogy = cfg.get("analogy")
    if analogy is not None and (not isinstance(analogy, ListConfig | list) or len(analogy) != 3):
        raise ConfigError(f"analogy={analogy!r}: give three words, e.g. analogy=[man,king,woman]")
    data_dir = OmegaConf.select(cfg, "paths.data_dir", default=None)
    vectors = load_vectors(str(cfg.vectors), bool(cfg.get("trust_checkpoint", False)), data_dir)
    print(f"{cfg.vectors}: {len(vectors)} words of {vectors.raw.shape[1]} numbers")
    done: dict[str, Any] = {}
    if cfg.get("similar"):
        done["similar"] = vectors.similar(str(cfg.similar), k)
        print(
            f"nearest to {cfg.similar}: " + ", ".join(f"{w} ({s:.3f})" for w, s in done["similar"])
        )
    if analogy is not None:
        a, b, c = (str(w) for w in analogy)
        done["analogy"] = vectors.analogy(a, b, c, k)
        print(f"{a} : {b} :: {c} : " + ", ".join(f"{w} ({s:.3f})" for w, s in done["analogy"]))
    if cfg.get("evaluate"):
        done["evaluate"] = evaluate_vectors(vectors)
        print(json.dumps(done["evaluate"], indent=2))
    if cfg.get("export"):
        done["export"] = str(vectors.save_word2vec_text(str(cfg.export)))
        print(f"vectors written to {done['export']} (word2vec text format)")
    if not done:
        raise ConfigError(
            "nothing to do: give similar=<word>, analogy=[a,b,c], evaluate=true or export=<file>"
        )
    return done
