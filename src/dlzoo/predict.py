"""Predict with a trained checkpoint: image files/folders -> top-k classes (a detector: boxes,
in :mod:`dlzoo.predict_boxes`); CSV rows -> outputs."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

from dlzoo.errors import ConfigError
from dlzoo.inputs import image_files, predict_batch, prepare_images, prepare_rows
from dlzoo.predict_boxes import predict_boxes
from dlzoo.restore import restore

log = logging.getLogger(__name__)


def as_list(inputs: Any) -> list[str]:
    if inputs is None or inputs == "???":
        raise ConfigError("inputs is required: image files, a folder of images, or a CSV file")
    if isinstance(inputs, ListConfig | list | tuple):
        return [str(i) for i in inputs]
    return [s for s in str(inputs).split(",") if s]


def predict(cfg: DictConfig) -> list[dict[str, Any]]:
    """Predict ``cfg.inputs`` with ``cfg.ckpt_path``; print and return one record per input."""
    model = restore(
        cfg.ckpt_path, data_dir=cfg.paths.get("data_dir"), trust=cfg.get("trust_checkpoint", False)
    )
    inputs = as_list(cfg.get("inputs"))
    if model.module.prediction_kind == "boxes":  # a detector: boxes, drawn and listed
        return predict_boxes(cfg, model, inputs)
    k = int(cfg.get("top_k", 3))
    if k < 1:
        raise ConfigError(f"top_k={k}: must be >= 1")
    if len(inputs) == 1 and inputs[0].lower().endswith(".csv"):
        x = prepare_rows(model, Path(inputs[0]))
        names = [f"row {i}" for i in range(len(x))]
    else:
        if not model.spec.is_image:
            raise ConfigError(
                f"model trained on data={model.config.data.get('name')} takes feature rows: "
                f"give inputs=<file>.csv"
            )
        files = image_files(inputs)
        x = prepare_images(model, files)
        names = [str(f) for f in files]
    outputs = predict_batch(model, x)
    records: list[dict[str, Any]] = []
    readable = model.module.readable(outputs, k)
    if model.class_names:
        for name, best in zip(names, readable, strict=True):
            records.append({"input": name, "top_k": best})
            print(f"{name}: " + ", ".join(f"{c} ({p:.3f})" for c, p in best))
    else:
        for name, row in zip(names, readable, strict=True):
            records.append({"input": name, "prediction": row})
            print(f"{name}: {', '.join(f'{v:.6g}' for v in row)}")
    if cfg.get("output"):
        write_csv(Path(cfg.output), records)
        log.info("predictions written to %s", cfg.output)
    return records


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
