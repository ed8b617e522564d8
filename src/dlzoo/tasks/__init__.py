"""LightningModules, one per task."""

from dlzoo.tasks.base import SupervisedTask
from dlzoo.tasks.supervised import TASK_CLASSES, BinaryTask, MulticlassTask, RegressionTask

__all__ = ["TASK_CLASSES", "BinaryTask", "MulticlassTask", "RegressionTask", "SupervisedTask"]
