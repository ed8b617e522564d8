"""Task types, one file each, registered by name (:mod:`dlzoo.tasks.registry`).

Importing this package registers every built-in task type.
"""

from dlzoo.tasks.base import StepOutput, Task
from dlzoo.tasks.binary import BinaryTask
from dlzoo.tasks.detection import DetectionTask
from dlzoo.tasks.language_model import LanguageModelTask
from dlzoo.tasks.multiclass import MulticlassTask
from dlzoo.tasks.registry import choose_task, register, task_class, task_names
from dlzoo.tasks.regression import RegressionTask
from dlzoo.tasks.seq2seq import Seq2SeqTask

__all__ = [
    "BinaryTask",
    "DetectionTask",
    "LanguageModelTask",
    "MulticlassTask",
    "RegressionTask",
    "Seq2SeqTask",
    "StepOutput",
    "Task",
    "choose_task",
    "register",
    "task_class",
    "task_names",
]
