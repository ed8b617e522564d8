"""A text classifier's prediction: the label of a text (``text="..."``, or every line of
``inputs=<file>``), or of a sentence pair (``premise=... hypothesis=...``), with its
probability."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from dlzoo.errors import ConfigError
from dlzoo.inference.inputs import predict_batch
from dlzoo.inference.labels import write_predictions
from dlzoo.inference.predictor import Predictor, as_list

#: how much of a text its printed line repeats (the whole text goes to output=<csv>)
ECHOED_CHARS = 200


class TextLabels(Predictor):
    """Texts (or premise/hypothesis pairs) -> their ``top_k`` labels with probabilities."""

    reads: ClassVar[frozenset[str]] = frozenset({"text", "inputs", "output"})
    options: ClassVar[dict[str, Any]] = {"top_k": 2, "premise": None, "hypothesis": None}
    takes: ClassVar[str] = (
        'text="a text" or inputs=<file, one text a line, or a CSV with the training text '
        'column> (sentence pairs: premise="..." hypothesis="...", or inputs=<file, premise '
        "TAB hypothesis a line>); output=<file.csv> also writes them"
    )

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        k = self.settings["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"top_k={k!r}: must be an integer >= 1")
        rows = self.read_rows(cfg)
        x = self.model.datamodule.encode_texts(rows)
        readable = self.model.module.readable(predict_batch(self.model, x), k)
        known = (x > 1).flatten(1).any(dim=1).tolist()  # 0 pads, 1 is the unknown word
        records = []
        for texts, best, any_known in zip(rows, readable, known, strict=True):
            shown = " | ".join(texts)
            records.append({"input": shown, "top_k": best})
            note = "" if any_known else "  [no word of it is in the model's vocabulary]"
            echoed = shown if len(shown) <= ECHOED_CHARS else shown[:ECHOED_CHARS] + "..."
            print(f"{echoed}: " + ", ".join(f"{c} ({p:.3f})" for c, p in best) + note)
        if cfg.get("output"):
            write_predictions(str(cfg.output), records)
        return records

    def read_rows(self, cfg: DictConfig) -> list[tuple[str, ...]]:
        pair = self.model.spec.is_pair
        premise, hypothesis = self.settings["premise"], self.settings["hypothesis"]
        rows: list[tuple[str, ...]] = []
        if pair and (premise is not None or hypothesis is not None):
            if premise is None or hypothesis is None:
                raise ConfigError("a sentence pair needs both premise=... and hypothesis=...")
            rows.append((str(premise), str(hypothesis)))
        elif premise is not None or hypothesis is not None:
            raise ConfigError(f'{self.model_name()} classifies single texts: give text="..."')
        if cfg.get("text") is not None:
            if not str(cfg.text).strip():
                raise ConfigError('text="": nothing to classify')
            if pair:
                raise ConfigError(f"{self.model_name()} classifies sentence pairs: give "
                                  f"premise=\"...\" hypothesis=\"...\"")  # fmt: skip
            rows.append((str(cfg.text),))
        for name in as_list(cfg.get("inputs")):
            if Path(name).suffix.lower() in (".csv", ".tsv"):
                rows += read_table(Path(name), self.model.datamodule.text_columns)
            else:
                rows += read_lines(Path(name), pair)
        if not rows:
            raise ConfigError(f"nothing to classify: {self.model_name()} takes {self.takes}")
        return rows


def read_table(path: Path, columns: list[str]) -> list[tuple[str, ...]]:
    """The training text column(s) of each row of a CSV/TSV (its header names them)."""
    import csv
    import io

    if not path.is_file():
        raise ConfigError(f"inputs={str(path)!r}: no such file")
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"inputs={str(path)!r}: not UTF-8 text") from None
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"inputs={str(path)!r}: no column {missing[0]!r}, the text column the "
                          f"model was trained on (its columns: {reader.fieldnames}): rename "
                          f"that column to {missing[0]!r}, or give a .txt file of one text a "
                          f"line")  # fmt: skip
    return [tuple(r[c] or "" for c in columns) for r in reader]


def read_lines(path: Path, pair: bool) -> list[tuple[str, ...]]:
    """One text a line (a pair: premise TAB hypothesis); blank lines skipped."""
    if not path.is_file():
        raise ConfigError(f"inputs={str(path)!r}: no such file (one text a line)")
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ConfigError(f"inputs={str(path)!r}: not UTF-8 text") from None
    if not lines:
        raise ConfigError(f"inputs={str(path)!r}: the file holds no text (one text a line)")
    if not pair:
        return [(line,) for line in lines]
    rows = []
    for n, line in enumerate(lines, start=1):
        parts = line.split("\t")
        if len(parts) != 2:
            raise ConfigError(f"{path}:{n}: a pair a line, premise TAB hypothesis")
        rows.append((parts[0], parts[1]))
    return rows
