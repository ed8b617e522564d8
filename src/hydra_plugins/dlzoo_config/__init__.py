"""Registers dlzoo's config schema (``train_schema``) in Hydra's ConfigStore.

Hydra imports every module under ``hydra_plugins`` before it composes a config, so
``conf/train.yaml``'s ``train_schema`` default is found wherever the config is composed:
the entry points, Hydra's compose API in a notebook or test, the benchmarks.
"""

from dlzoo.config.schema import register_config_schema

register_config_schema()
