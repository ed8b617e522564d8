"""Task types, one file each, registered by name (:mod:`dlzoo.tasks.registry`).

Importing this package imports every module in it, so a new task type is one new file here
(or a module outside the package named in the config's ``extensions``); nothing lists them.
The names below are shortcuts for code that imports a built-in task directly.
"""

import importlib
import pkgutil

from dlzoo.tasks.base import StepOutput, Task
from dlzoo.tasks.registry import choose_task, register, task_class, task_names

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from dlzoo.tasks.binary import BinaryTask  # noqa: E402
from dlzoo.tasks.detection import DetectionTask  # noqa: E402
from dlzoo.tasks.language_model import LanguageModelTask  # noqa: E402
from dlzoo.tasks.multiclass import MulticlassTask  # noqa: E402
from dlzoo.tasks.regression import RegressionTask  # noqa: E402
from dlzoo.tasks.seq2seq import Seq2SeqTask  # noqa: E402

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
