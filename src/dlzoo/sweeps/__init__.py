"""Sweeps: per-epoch history (``history``), crash- and divergence-tolerant multirun jobs
(``jobs``), sweep summaries (``summary``) and the Hydra callback that writes them at the end
of a multirun (``hydra_callback``)."""
