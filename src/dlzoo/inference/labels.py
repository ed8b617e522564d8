"""Predictions a person reads as labels: the top classes with their probabilities
(classification) or the values in the target's units (regression), for image files and
folders or the rows of a CSV file."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig
from torch import Tensor

from dlzoo.errors import ConfigError
from dlzoo.inference.inputs import image_files, predict_batch, prepare_images, prepare_rows
from dlzoo.inference.predictor import Predictor, as_list

log = logging.getLogger(__name__)


class LabelPredictor(Predictor):
    """Images (files, folders) or one CSV of feature rows -> one line per input."""

    reads: ClassVar[frozenset[str]] = frozenset({"inputs", "output"})
    options: ClassVar[dict[str, Any]] = {"top_k": 3}
    takes: ClassVar[str] = "inputs=<images, a folder of images, or one .csv of feature rows>"

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        k = self.settings["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"top_k={k!r}: must be an integer >= 1")
        names, x = self.read_inputs(cfg)
        readable = self.model.module.readable(predict_batch(self.model, x), k)
        if self.model.class_names:
            records = [{"input": n, "top_k": best} for n, best in zip(names, readable, strict=True)]
            for r in records:
                print(f"{r['input']}: " + ", ".join(f"{c} ({p:.3f})" for c, p in r["top_k"]))
        else:
            records = [
                {"input": n, "prediction": row} for n, row in zip(names, readable, strict=True)
            ]
            for r in records:
                print(f"{r['input']}: {', '.join(f'{v:.6g}' for v in r['prediction'])}")
        if cfg.get("output"):
            write_predictions(str(cfg.output), records)
        return records

    def read_inputs(self, cfg: DictConfig) -> tuple[list[str], Tensor]:
        """The inputs' names and the prepared batch: CSV rows or images, as the model takes."""
        inputs = as_list(cfg.get("inputs"))
        if not inputs:
            raise ConfigError(f"inputs is required: {self.model_name()} takes {self.takes}")
        if len(inputs) == 1 and inputs[0].lower().endswith(".csv"):
            x = prepare_rows(self.model, Path(inputs[0]))
            return [f"row {i}" for i in range(len(x))], x
        if not self.model.spec.is_image:
            raise ConfigError(f"{self.model_name()} takes feature rows: give inputs=<file>.csv")
        files = image_files(inputs)
        return [str(f) for f in files], prepare_images(self.model, files)


def write_predictions(output: str, records: list[dict[str, Any]]) -> None:
    """``output=<file.csv>``: the records as CSV, or one message saying why not."""
    try:
        write_csv(Path(output), records)
    except OSError as err:
        raise ConfigError(f"output={output!r}: cannot write it ({err.strerror})") from None
    log.info("predictions written to %s", output)


def write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if records and "top_k" in records[0]:
            k = len(records[0]["top_k"])
            writer.writerow(
                ["input", *[h for i in range(1, k + 1) for h in (f"top{i}_class", f"top{i}_prob")]]
            )
            for r in records:
                writer.writerow([r["input"], *[v for c, p in r["top_k"] for v in (c, f"{p:.6f}")]])
        else:
            writer.writerow(["input", "prediction"])
            for r in records:
                writer.writerow([r["input"], *r["prediction"]])
