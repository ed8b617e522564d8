"""Random states in every checkpoint, so a resumed run draws what an unbroken one would."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback


class RngState(Callback):
    """Saves the Python, NumPy and torch (CPU and CUDA) random states in every checkpoint and
    restores them on resume, so dropout masks and augmentations continue as in an unbroken
    run. Stored as tensors and plain Python values, so ``weights_only`` loading accepts them.

    Under DDP the checkpoint holds rank zero's states and every rank restores them (ranks are
    seeded alike, so their states are equal anyway)."""

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state: dict[str, Any] = {
            "python": random.getstate(),
            "numpy": {
                "kind": str(kind),
                "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "gauss": float(gauss),
            },
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not state_dict:
            return
        python = state_dict["python"]
        random.setstate((python[0], tuple(python[1]), python[2]))
        n = state_dict["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            states = state_dict["cuda"]
            if len(states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(states)
