"""Predict with a trained checkpoint, whatever its task: the checkpoint's task names its
predictor (:class:`dlzoo.inference.predictor.Predictor`), which reads the inputs, prints one
line per input and writes its files."""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.restore import restore
from dlzoo.tasks.registry import possible_tasks

log = logging.getLogger(__name__)


def predict(cfg: DictConfig) -> list[dict[str, Any]]:
    """Predict ``cfg.inputs`` / ``cfg.text`` with ``cfg.ckpt_path``; print and return one
    record per input."""
    data_dir = OmegaConf.select(cfg, "paths.data_dir", default=None)
    model = restore(
        cfg.ckpt_path,
        data_dir=data_dir,
        trust=cfg.get("trust_checkpoint", False),
        check=lambda saved: check_options_early(cfg, saved),
    )
    predictor = model.module.predictor
    settings = predictor.settings_from(cfg)
    return predictor(model, settings).run(cfg)


def check_options_early(cfg: DictConfig, saved: DictConfig) -> None:
    """Where every task the saved model may train has the same predictor, check the
    command's options against the training config before the model is loaded."""
    predictors = {task.predictor for task in possible_tasks(saved.model)}
    if len(predictors) == 1:
        predictor = predictors.pop()
        predictor.check_saved_config(predictor.settings_from(cfg), saved)
