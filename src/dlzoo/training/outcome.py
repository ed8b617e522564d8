"""A finished run's figures: the record's fields, the comparison with the task's trivial
baseline, the closing lines on the console and the HPARAMS entry in TensorBoard."""

from __future__ import annotations

import logging
import shlex
from typing import Any

import lightning as L
from omegaconf import DictConfig

from dlzoo.records.data_fingerprint import fingerprint
from dlzoo.records.metrics_file import log_hparams_with_metrics, to_float
from dlzoo.reliability.csv_history import join_after_completion
from dlzoo.tasks import Task

log = logging.getLogger("dlzoo.commands.train")


def run_fields(
    cfg: DictConfig, module: Task, datamodule: Any, summary: dict[str, Any], test: dict
) -> dict[str, Any]:
    """What ``metrics.json`` says about a completed run besides its status and timings."""
    best_path = summary["best_checkpoint"]
    best_val = to_float(summary["best"]) if best_path else None
    monitor = cfg.monitor.metric
    fields = {
        "model": cfg.model.get("name"),
        "data": cfg.data.get("name"),
        "task": module.task,
        "monitor": monitor,
        "mode": cfg.monitor.mode,
        "metrics": {**final_validation(module, summary), **test, f"{monitor}_best": best_val},
        "best_val": best_val,
        "epochs": summary["epochs"],
        "global_steps": summary["global_steps"],
        "num_parameters": module.num_parameters(),
        "seed": cfg.get("seed"),
        # what the figures were computed in ("32-true", "bf16-mixed"): timings and the
        # last digits of the metrics depend on it, and eval repeats it
        "precision": str(module.trainer.precision),
        "best_checkpoint": best_path,
        "last_checkpoint": summary["last"],
        "baseline": compare_with_baseline(module, datamodule, test),
    }
    if summary.get("stopped_by_max_time"):
        fields["stopped_by"] = f"trainer.max_time={cfg.trainer.get('max_time')}"
    classical = classical_baselines(datamodule, test)
    if classical:  # the list: the trivial guess first, then what the data offers
        fields["baselines"] = [b for b in [fields["baseline"], *classical] if b]
    if getattr(datamodule, "source_info", None):  # where the data came from, if it says
        fields["data_source"] = datamodule.source_info
    files = fingerprint(cfg.data)
    if files:  # the user's own files, as they were: eval compares them
        fields["data_files"] = files
    return fields


def final_validation(module: Task, summary: dict[str, Any]) -> dict[str, float]:
    """The last epoch's validation figures, for a task whose record holds them."""
    if not module.record_final_validation:
        return {}
    return {k: v for k, v in summary.get("final_val", {}).items() if v is not None}


def compare_with_baseline(
    module: Task, datamodule: Any, test_metrics: dict[str, Any]
) -> dict[str, Any] | None:
    """The task's trivial baseline next to the run's test score (``None`` without one)."""
    targets = getattr(datamodule, "split_targets", None)
    if targets is None or not test_metrics:
        return None
    found = module.trivial_baseline(targets("train"), targets("test"))
    if found is None or test_metrics.get(found.metric) is None:
        return None
    score = float(test_metrics[found.metric])
    return {
        "metric": found.metric,
        "value": round(found.value, 6),
        "how": found.how,
        "learned": found.beaten_by(score),
    }


def classical_baselines(datamodule: Any, test_metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Baselines a datamodule fits itself (text: TF-IDF + logistic regression), each next to
    the run's test score."""
    fit = getattr(datamodule, "classical_baselines", None)
    if fit is None or not test_metrics:
        return []
    out = []
    for found in fit():
        score = test_metrics.get(found["metric"])
        if score is None:
            continue
        better = (
            float(score) > found["value"]
            if found["higher_is_better"]
            else float(score) < found["value"]
        )
        out.append({k: (round(v, 6) if isinstance(v, float) else v)
                    for k, v in found.items() if k != "higher_is_better"} | {"learned": better})  # fmt: skip
    return out


def close_loggers(trainer: L.Trainer, cfg: DictConfig, record: dict[str, Any]) -> None:
    """The best validation score as a scalar, the HPARAMS entry, and the loggers' files
    flushed and joined (rank zero only)."""
    if not trainer.is_global_zero:
        return
    monitor, best_val = record["monitor"], record["best_val"]
    if best_val is not None:
        for logger in trainer.loggers:
            logger.log_metrics({f"{monitor}_best": best_val}, step=record["global_steps"])
    log_hparams_with_metrics(trainer, cfg, record["metrics"])
    for logger in trainer.loggers:
        logger.save()
    join_after_completion(trainer.loggers)


def report(record: dict[str, Any]) -> None:
    """The last lines a run prints: where it is, its best checkpoint, its test metrics, and
    whether it did better than a trivial guess."""
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in record["metrics"].items() if v is not None)
    log.info("run directory: %s", record["run_dir"])
    # quoted for shells where a sweep's job folder needs it (zsh globs on its brackets)
    best, tested = record["best_checkpoint"], record.get("tested_checkpoint")
    log.info("best checkpoint: %s", shlex.quote(best) if best else best)
    if tested and tested != best:  # the test figures are of other weights: say which
        log.info(
            "tested checkpoint: %s (the final weights: %s)",
            shlex.quote(tested),
            "this dataset validates on its test split, so its best epoch was chosen on test data"
            if best
            else "no best checkpoint was kept",
        )
    log.info("metrics: %s", metrics)
    if record.get("stopped_by"):
        log.warning(
            "%s stopped training after %d steps, in epoch %d: these are the figures of a "
            "short run; raise or remove trainer.max_time for the full one",
            record["stopped_by"], record["global_steps"], record["epochs"],
        )  # fmt: skip
    baseline = record.get("baseline")
    baselines = record.get("baselines", [])
    for i, other in enumerate(baselines):
        if i == 0 and not other["learned"]:
            continue  # the trivial guess, beaten or not: said once, as a warning below
        log.info(
            "%s %s: %s=%.4f against its %.4f",
            "beat" if other["learned"] else "did NOT beat",
            other.get("description", other["how"]),
            other["metric"],
            record["metrics"][other["metric"]],
            other["value"],
        )
    if baseline and not baseline["learned"]:
        log.warning(
            "the model learned nothing useful: %s=%.4f is no better than %s (%.4f)",
            baseline["metric"],
            record["metrics"][baseline["metric"]],
            baseline["how"],
            baseline["value"],
        )
