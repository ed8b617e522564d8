"""LightningModules, one per task."""

from dlzoo.tasks.base import SupervisedTask
from dlzoo.tasks.language_model import LanguageModelTask
from dlzoo.tasks.supervised import TASK_CLASSES, BinaryTask, MulticlassTask, RegressionTask

TASK_CLASSES[LanguageModelTask.task] = LanguageModelTask

__all__ = [
    "TASK_CLASSES",
    "BinaryTask",
    "LanguageModelTask",
    "MulticlassTask",
    "RegressionTask",
    "SupervisedTask",
]
