"""What a run leaves for people and programs: ``metrics.json``, TensorBoard files, HPARAMS."""
