"""A task type defined outside dlzoo: count the ones in a bit string (Poisson regression).

It exists to prove that a new task type needs no edit of the package: its spec, datamodule,
network, task and predictor live here; its configs in ``../conf``. A config names this
package in ``extensions`` and finds the configs through ``hydra.searchpath``.
"""

from count_task.data import BitStrings, CountSpec
from count_task.net import CountNet
from count_task.task import CountTask

__all__ = ["BitStrings", "CountNet", "CountSpec", "CountTask"]
