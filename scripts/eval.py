"""Evaluate a checkpoint: ``python scripts/eval.py ckpt_path=logs/.../checkpoints/last.ckpt``."""

from dlzoo.cli import eval_main

if __name__ == "__main__":
    eval_main()
