"""The book's computational-performance chapter as switches a user flips on the command line,
each measured here as ``scripts/train.py`` with the switch off and on, the training otherwise
the same: bf16 mixed precision on the CPU, ``compile=true``, channels-last memory, and data
parallel training over two CPU processes (``trainer=ddp_cpu``).

    python benchmarks/performance.py [--rows bf16-cnn_small,...] [--rounds 2]
        -> docs/performance.md (and docs/performance.json, the raw numbers)

Each run trains two short epochs of the row's optimizer steps (``trainer.limit_train_batches``)
with one validation batch and no test. Step time is the second epoch's seconds over its steps
(the first epoch holds the one-off costs: torch.compile's compilation, oneDNN's first calls);
"first epoch extra" is the first epoch's time minus the second's. Off and on alternate over
the rounds and each side keeps its faster round (the machine's speed drifts). Accuracy with the
switch on is measured separately, by full runs (docs/performance.md names them)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/performance.py`: import from the repo
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DOCS,
    REPO,
    command_line,
    fmt,
    machine,
    measure_child,
    others_running,
    utc_now,
)


@dataclass(frozen=True)
class Switch:
    """One switch on one training: ``off`` and ``on`` are the options that differ."""

    switch: str  # the switch as the report names it
    recipe: tuple[str, ...]  # what both sides train (scripts/train.py options)
    off: tuple[str, ...]
    on: tuple[str, ...]
    steps: int  # optimizer steps timed per epoch (a few seconds of training)
    #: time both sides by the whole fit (start of processes included): ddp_spawn's workers
    #: keep their epoch times
    whole_fit: bool = False


CNN = ("experiment=cnn_small_fashion",)
MLP = ("model=mlp", "data=fashion_mnist")
ROWS = {
    "bf16-mlp": Switch("trainer.precision=bf16-mixed", MLP,
                       ("trainer.precision=32-true",), ("trainer.precision=bf16-mixed",), 200),
    "bf16-cnn_small": Switch("trainer.precision=bf16-mixed", CNN,
                             ("trainer.precision=32-true",), ("trainer.precision=bf16-mixed",), 30),
    "bf16-resnet": Switch("trainer.precision=bf16-mixed", ("experiment=resnet",),
                          ("trainer.precision=32-true",), ("trainer.precision=bf16-mixed",), 3),
    "bf16-transformer": Switch("trainer.precision=bf16-mixed",
                               ("experiment=translation_transformer",),
                               ("trainer.precision=32-true",), ("trainer.precision=bf16-mixed",),
                               40),
    "compile-mlp": Switch("compile=true", MLP, ("compile=false",), ("compile=true",), 200),
    "compile-cnn_small": Switch("compile=true", CNN, ("compile=false",), ("compile=true",), 30),
    "channels_last-cnn_small": Switch("channels_last=true", CNN,
                                      ("channels_last=false",), ("channels_last=true",), 30),
    "ddp_cpu-mlp": Switch("trainer=ddp_cpu (2 processes x 1 thread)", MLP,
                          ("trainer=default",), ("trainer=ddp_cpu", "speed.cpu_threads=1"), 200,
                          whole_fit=True),
    "ddp_cpu-cnn_small": Switch("trainer=ddp_cpu (2 processes x 1 thread)", CNN,
                                ("trainer=default",), ("trainer=ddp_cpu", "speed.cpu_threads=1"),
                                30, whole_fit=True),
}  # fmt: skip

#: a switch that makes steps at least this much faster (on / off <= 1 - this) "pays"
PAYS = 0.10


def run_options(switch: Switch, side: str, data_dir: str, run_dir: Path) -> list[str]:
    """``scripts/train.py``'s options for one side (``off`` or ``on``) of ``switch``."""
    return [
        *switch.recipe,
        *(switch.off if side == "off" else switch.on),
        "trainer.max_epochs=2",
        f"+trainer.limit_train_batches={switch.steps}",
        "+trainer.limit_val_batches=1",
        "trainer.num_sanity_val_steps=0",
        "trainer.accelerator=cpu",
        "test=false",
        f"paths.data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        "print_config=false",
    ]


def run_side(switch: Switch, side: str, data_dir: str) -> dict[str, float]:
    """One run of one side in its own process: step time, first-epoch extra, wall time."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench_perf_"))
    cmd = [sys.executable, str(REPO / "scripts" / "train.py")]
    wall, peak, _ = measure_child([*cmd, *run_options(switch, side, data_dir, run_dir)])
    record = json.loads((run_dir / "metrics.json").read_text())
    times = record["epoch_times_s"]
    if switch.whole_fit:
        return {"step_ms": 1000 * record["train_time_s"] / (2 * switch.steps),
                "first_epoch_extra_s": None, "wall_s": wall, "peak_rss_mib": peak,
                "whole_fit": True}  # fmt: skip
    first, second = times[:2]
    return {
        "step_ms": 1000 * second / switch.steps,
        "first_epoch_extra_s": first - second,
        "wall_s": wall,
        "peak_rss_mib": peak,
    }


def measure(key: str, data_dir: str, rounds: int) -> dict[str, Any]:
    """Off and on of row ``key``, alternating over ``rounds``; each keeps its faster run."""
    kept: dict[str, Any] = {}
    for _ in range(rounds):
        for side in ("off", "on"):
            run = run_side(ROWS[key], side, data_dir)
            every = [*kept[side]["rounds_step_ms"], run["step_ms"]] if side in kept else []
            if side not in kept or run["step_ms"] < kept[side]["step_ms"]:
                kept[side] = run
            kept[side]["rounds_step_ms"] = every or [run["step_ms"]]
    return kept


# --------------------------------------------------------------------------- the report
def step(side: dict[str, Any]) -> str:
    return fmt(side["step_ms"], ".1f") + ("*" if side.get("whole_fit") else "")


def render(results: dict[str, Any], command: str, described: str, finished: str,
           busy: list[str], json_name: str = "performance.json") -> str:  # fmt: skip
    """docs/performance.md from the measured rows (``json_name``: where the raw ones are)."""
    lines = [
        "# Performance switches",
        "",
        f"Produced by `{command}` on {finished} (this file is overwritten by each run; "
        f"the raw numbers are in `{json_name}`).",
        "",
        f"Machine: {described}.",
        "",
        "CPU: "
        + (
            "other processes were running: " + "; ".join(busy)
            if busy
            else "no other test or training process was running at the start or the end."
        ),
        "",
        "Each row trains `scripts/train.py <recipe>` twice as two short epochs, once with the "
        "switch off and once on, alternating over the rounds (each side keeps its faster "
        "round). Step time: the second epoch's seconds over its optimizer steps; first epoch "
        "extra: the first epoch's seconds minus the second's (compilation and other one-off "
        "costs); wall: the whole command. Speed-up below 1 means the switch is slower. "
        "Step times marked * are the whole fit's seconds over its steps, start of the "
        "processes included, on both sides of the row (`trainer=ddp_cpu` spawns its workers, "
        "whose epoch times stay with them).",
        "",
        "| switch | recipe | steps | off ms/step | on ms/step | speed-up | first epoch extra "
        "s, off / on | wall s, off / on |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        switch = ROWS[key]
        off, on = row["off"], row["on"]
        speedup = off["step_ms"] / on["step_ms"]
        lines.append(
            f"| `{' '.join(switch.on)}` | `{' '.join(switch.recipe)}` | {switch.steps} | "
            f"{step(off)} | {step(on)} | {speedup:.2f}x | "
            f"{fmt(off['first_epoch_extra_s'], '.1f')} / {fmt(on['first_epoch_extra_s'], '.1f')} "
            f"| {fmt(off['wall_s'], '.1f')} / {fmt(on['wall_s'], '.1f')} |"
        )
    pays = [k for k, r in results.items() if r["on"]["step_ms"] <= (1 - PAYS) * r["off"]["step_ms"]]
    lines += [
        "",
        "What was chosen from these figures, and the accuracy of full runs with the switches "
        "on: [performance_notes.md](performance_notes.md).",
        "",
        f"Switches that make the step at least {PAYS:.0%} faster in this run: "
        + (", ".join(f"`{k}`" for k in pays) if pays else "none")
        + ".",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None, help="default: $DLZOO_DATA_DIR or data")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {list(ROWS)}")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per side")
    parser.add_argument("--out", help="the report (default: docs/performance.md)")
    args = parser.parse_args(argv)
    unknown = [key for key in args.rows.split(",") if key not in ROWS]
    if unknown:
        parser.error(f"--rows {args.rows!r}: unknown {unknown}; choose from {list(ROWS)}")
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    import os

    args = parse_args(argv)
    data_dir = args.data_dir or os.environ.get("DLZOO_DATA_DIR", "data")
    out = Path(args.out or DOCS / "performance.md")
    command = command_line("performance.py", argv if argv is not None else sys.argv[1:])
    busy = others_running()
    described = machine()
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for key in args.rows.split(","):  # the report is rewritten after each row
        print(f"measuring {key} ...", flush=True)
        results[key] = measure(key, data_dir, args.rounds)
        print(json.dumps(results[key]), flush=True)
        busy = sorted(set(busy + others_running()))
        json_name = out.with_suffix(".json").name
        out.write_text(render(results, command, described, utc_now(), busy, json_name))
        record = {"results": results, "command": command, "machine": described, "busy": busy}
        out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
