"""Keeping long runs safe: exact resume, atomic checkpoints, divergence and Ctrl-C handling,
checks of the run directory before training starts (see docs/reliability.md)."""
