"""The checkpoint callback of ``conf/callbacks/model_checkpoint.yaml``: the best epoch by the
monitored metric, plus ``last.ckpt`` written at the end of every epoch (and, on request,
during it). It overrides Lightning internals, so it is defined in the adapter module."""

from dlzoo.lightning_internals import ModelCheckpointWithLast as ModelCheckpoint

__all__ = ["ModelCheckpoint"]
