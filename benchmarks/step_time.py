"""Milliseconds per training step of any Lightning script, measured inside its process.

    python benchmarks/step_time.py [--skip 0.2] -- scripts/train.py model=mlp ...
    python benchmarks/step_time.py -- benchmarks/pipelines.py --child lightning mlp_defaults DATA 4

Wraps Lightning's training-epoch loop step (``_TrainingEpochLoop.advance``: fetch a batch,
forward, backward, optimizer step, the per-step hooks; not the epoch-end validation), runs the
script as ``__main__`` and prints the median and 10th percentile of the step times, leaving
out the first ``--skip`` fraction (warm-up). Per-step figures separate a per-step cost from
the drift of a shared machine better than epoch times: the 10th percentile is the step with
the least interference.
"""

from __future__ import annotations

import argparse
import json
import runpy
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def timed_steps() -> list[float]:
    """Start recording the seconds of every training step of this process."""
    from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop

    seconds: list[float] = []
    advance = _TrainingEpochLoop.advance

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return advance(self, *args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    _TrainingEpochLoop.advance = timed  # type: ignore[method-assign]
    return seconds


def summary(seconds: list[float], skip: float) -> dict[str, float]:
    kept = sorted(seconds[int(len(seconds) * skip) :])
    if not kept:
        raise SystemExit("step_time: the script ran no training step")
    return {
        "steps": len(seconds),
        "mean_ms": round(statistics.fmean(kept) * 1e3, 4),
        "median_ms": round(statistics.median(kept) * 1e3, 4),
        "p10_ms": round(kept[len(kept) // 10] * 1e3, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip", type=float, default=0.2, help="warm-up fraction left out")
    parser.add_argument("script", help="the script, then its arguments (after --)")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    seconds = timed_steps()
    sys.argv = [options.script, *options.args]
    sys.path.insert(0, str(Path(options.script).resolve().parent))
    try:
        runpy.run_path(options.script, run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
    finally:
        print("step_time " + json.dumps(summary(seconds, options.skip)), file=sys.stderr)


if __name__ == "__main__":
    main()
