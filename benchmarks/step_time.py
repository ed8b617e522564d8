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


def summary(seconds: list[float], skip: float) -> dict[str, float] | None:
    """Median and 10th percentile of the steps after the first ``skip`` fraction; ``None``
    when no step was measured."""
    kept = sorted(seconds[int(len(seconds) * skip) :])
    if not kept:
        return None
    return {
        "steps": len(seconds),
        "measured": len(kept),
        "mean_ms": round(statistics.fmean(kept) * 1e3, 4),
        "median_ms": round(statistics.median(kept) * 1e3, 4),
        "p10_ms": round(kept[len(kept) // 10] * 1e3, 4),
    }


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text}: a fraction in [0, 1) of the steps")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip", type=fraction, default=0.2, help="warm-up fraction left out")
    parser.add_argument("script", help="the script, then its arguments (after --)")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if not Path(options.script).is_file():
        parser.error(f"{options.script}: no such file")
    seconds = timed_steps()
    sys.argv = [options.script, *options.args]
    sys.path.insert(0, str(Path(options.script).resolve().parent))
    try:  # the script's own errors and exit status pass through
        runpy.run_path(options.script, run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            report(seconds, options.skip)
            raise
    report(seconds, options.skip, required=True)


def report(seconds: list[float], skip: float, required: bool = False) -> None:
    """Print the step times on stderr; with ``required``, a run without any is an error."""
    figures = summary(seconds, skip)
    if figures is not None:
        print("step_time " + json.dumps(figures), file=sys.stderr)
    elif required:
        if not seconds:
            raise SystemExit("step_time: the script ran no training step")
        raise SystemExit(f"step_time: all {len(seconds)} steps fall in the --skip {skip} warm-up")


if __name__ == "__main__":
    main()
