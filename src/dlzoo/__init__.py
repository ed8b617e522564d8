"""dlzoo: the classic deep-learning curriculum as reproducible Lightning + Hydra experiments."""

__version__ = "0.1.0"
