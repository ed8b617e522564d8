"""The task registry: tasks by name, the pair check, and a new task type as one class."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from dlzoo.commands.train import train
from dlzoo.data.spec import ClassificationSpec, RegressionSpec, TokenStreamSpec
from dlzoo.errors import ConfigError, IncompatibleError
from dlzoo.tasks import choose_task, register, task_class, task_names
from dlzoo.tasks.base import StepOutput
from dlzoo.tasks.regression import RegressionTask


def test_the_built_in_tasks_are_registered() -> None:
    assert {"regression", "multiclass", "binary", "language_model"} <= set(task_names())


def test_an_unknown_task_is_a_readable_error() -> None:
    with pytest.raises(
        ConfigError,
        match=r"task 'regresion' is unknown \(did you mean 'regression'\?\); registered tasks: .*binary",
    ):
        task_class("regresion")
    model = OmegaConf.create({"name": "m", "tasks": ["multiclas"]})
    with pytest.raises(ConfigError, match="multiclas"):
        choose_task(model, ClassificationSpec((2,), ("a", "b")), "d")


def test_choose_task_follows_the_data() -> None:
    mlp = OmegaConf.create({"name": "mlp"})
    two = ClassificationSpec((2,), ("a", "b"))
    assert choose_task(mlp, two, "d").task == "multiclass"  # the data's own task first
    logistic = OmegaConf.create({"name": "logistic_regression", "tasks": ["binary"]})
    assert choose_task(logistic, two, "d").task == "binary"
    three = ClassificationSpec((2,), ("a", "b", "c"))
    with pytest.raises(IncompatibleError, match="with 3 classes. Models that fit it: softmax"):
        choose_task(logistic, three, "d")
    with pytest.raises(IncompatibleError, match="text .* Models that fit it: rnn, gru"):
        choose_task(mlp, TokenStreamSpec((8,), ("<unk>", "a")), "timemachine")
    assert choose_task(mlp, RegressionSpec((3,)), "d").task == "regression"


@register
class AbsoluteErrorRegression(RegressionTask):
    """A new task type is one class: here regression on the mean absolute error (L1)."""

    task = "l1_regression"
    fitting_models = "linear_regression or mlp"

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> StepOutput:
        out = super().shared_step(batch, stage)
        out.loss = F.l1_loss(self(batch[0]), batch[1])
        return out


def test_a_registered_task_trains_without_touching_the_core(
    make_cfg: Callable[..., DictConfig],
) -> None:
    cfg = make_cfg(
        "model=linear_regression",
        "data=synthetic_linear",
        "+model.task=l1_regression",
        "trainer.max_epochs=30",
    )
    cfg.model.tasks = ["regression", "l1_regression"]
    record = train(cfg)
    assert record["task"] == "l1_regression"
    assert record["metrics"]["test/r2"] > 0.9
