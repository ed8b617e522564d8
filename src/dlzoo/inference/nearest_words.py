"""A word-embedding model's prediction: the words nearest to a word (``text=chip``), or
the answer to an analogy (``text="beijing china tokyo"``: beijing : china :: tokyo : ?)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from dlzoo.errors import ConfigError
from dlzoo.inference.predictor import Predictor, as_list


class NearestWords(Predictor):
    """One word -> its ``top_k`` nearest words by cosine; three words -> the analogy."""

    reads: ClassVar[frozenset[str]] = frozenset({"text", "inputs"})
    options: ClassVar[dict[str, Any]] = {"top_k": 10}
    takes: ClassVar[str] = (
        'text=<a word> (or text="a b c" for a : b :: c : ?), or inputs=<file, one a line>'
    )

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        k = self.settings["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"top_k={k!r}: must be an integer >= 1")
        queries = [str(cfg.text)] if cfg.get("text") else []
        for item in as_list(cfg.get("inputs")):
            path = Path(item)  # a file: one query a line; anything else is a query itself
            queries += (
                [q for q in path.read_text().splitlines() if q.strip()]
                if path.is_file()
                else [item]
            )
        if not queries:
            raise ConfigError(f"nothing to look up: {self.model_name()} takes {self.takes}")
        vectors = self.model.module.word_vectors()
        records = []
        for query in queries:
            words = query.split()
            if len(words) == 3:
                found = vectors.analogy(*words, k=k)
            elif len(words) == 1:
                found = vectors.similar(words[0], k)
            else:
                raise ConfigError(f"text={query!r}: give one word, or three for an analogy")
            records.append({"input": query, "nearest": found})
            print(f"{query}: " + ", ".join(f"{w} ({s:.3f})" for w, s in found))
        return records
