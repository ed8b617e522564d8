"""Channels-first (NCHW) against channels-last (NHWC) memory format: one training step of
each conv net of the zoo, both layouts side by side in one process.

    python benchmarks/memory_format.py [--models resnet,vgg]  -> docs/memory_format.md

The model configs' ``channels_last`` defaults (conf/model/*.yaml) follow this table: on where
the channels-last step is faster (tests/test_benchmarks.py checks that they agree)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/memory_format.py`: import from the repo
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DOCS,
    command_line,
    machine,
    model_config,
    utc_now,
    zoo_network,
)


@dataclass(frozen=True)
class LayoutCase:
    """A conv net at the image size of its book experiment (a batch that keeps a step near
    a second on 2 cores)."""

    model: str  # conf/model/<model>.yaml
    side: int  # image side in pixels (Fashion-MNIST, resized as its experiment does)
    batch_size: int
    net_options: tuple[tuple[str, Any], ...] = ()


#: the zoo's conv nets; big inputs get small batches to keep a step near a second on 2 cores
CASES = (
    LayoutCase("lenet", 28, 256),
    LayoutCase("lenet_modern", 28, 256),
    LayoutCase("cnn_small", 28, 256),
    LayoutCase("cnn_rnn", 28, 256),
    LayoutCase("resnet", 96, 32),
    LayoutCase("googlenet", 96, 32),
    LayoutCase("densenet", 96, 32),
    LayoutCase("torchvision", 96, 32),
    LayoutCase("alexnet", 224, 32),
    LayoutCase("nin", 224, 16),
    LayoutCase("vgg", 224, 8),
)
ROUNDS = 6  # timed steps per layout, alternating; the fastest of each is kept


def measure_case(case: LayoutCase, rounds: int = ROUNDS) -> dict[str, Any]:
    """Seconds of one training step (forward, loss, backward, AdamW step) in each layout:
    the same initial weights and batch, two warm-up steps, then ``rounds`` alternating timed
    steps; the fastest of each layout. Also the largest difference of the two layouts'
    outputs before training (eval mode, no dropout), which must be rounding error."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case.batch_size, 1, case.side, case.side, generator=gen)
    y = torch.randint(0, 10, (case.batch_size,), generator=gen)
    steps, outputs = {}, {}
    for layout in ("nchw", "nhwc"):
        torch.manual_seed(0)
        net = zoo_network(model_config(case.model, case.net_options), case.side)
        inputs = x
        if layout == "nhwc":
            net = net.to(memory_format=torch.channels_last)
            inputs = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            outputs[layout] = net.eval()(inputs)
        net.train()
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)

        def step(net: Any = net, inputs: Any = inputs, optimizer: Any = optimizer) -> Any:
            loss = F.cross_entropy(net(inputs), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.detach()

        steps[layout] = step
    for _ in range(2):  # warm-up
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {layout: [] for layout in steps}
    for _ in range(rounds):
        for layout, step in steps.items():
            started = time.perf_counter()
            step()
            times[layout].append(time.perf_counter() - started)
    nchw, nhwc = min(times["nchw"]), min(times["nhwc"])
    return {
        "model": case.model,
        "side": case.side,
        "batch_size": case.batch_size,
        "nchw_s": nchw,
        "nhwc_s": nhwc,
        "ratio": nhwc / nchw,
        "output_difference": float((outputs["nchw"] - outputs["nhwc"]).abs().max()),
    }


def render(rows: list[dict[str, Any]], command: str, finished: str) -> str:
    lines = [
        "# Memory format: channels-first or channels-last",
        "",
        f"Produced by `{command}` on {finished} (this file is overwritten by each run).",
        "",
        f"Machine: {machine()}.",
        "",
        "One training step (forward, cross-entropy, backward, AdamW step) of each conv net on "
        "one-channel images at the size of its book experiment, in channels-first (NCHW, "
        "PyTorch's default) and channels-last (NHWC) memory format, side by side in one "
        f"process on the CPU: the same initial weights and batch, {ROUNDS} alternating timed "
        "steps after two warm-up steps, the fastest step of each layout. The largest "
        "difference of the two layouts' outputs before training (eval mode) shows that the "
        "format changes the speed only.",
        "",
        "| model | image px | batch | NCHW ms/step | NHWC ms/step | NHWC / NCHW | "
        "largest output difference | `channels_last` default |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        default = "true" if row["ratio"] < 1 else "false"
        lines.append(
            f"| {row['model']} | {row['side']} | {row['batch_size']} | "
            f"{row['nchw_s'] * 1e3:.1f} | {row['nhwc_s'] * 1e3:.1f} | {row['ratio']:.2f} | "
            f"{row['output_difference']:.1e} | {default} |"
        )
    slower = [row["model"] for row in rows if row["ratio"] >= 1]
    lines += [
        "",
        "Each model config sets `channels_last` (conf/model/*.yaml) to the last column: true "
        "where the channels-last step is faster, and the training config's `channels_last` "
        "takes the model's value unless set (`channels_last=false` / `true` on the command "
        "line)."
        + (
            f" Channels-last slows the step of {', '.join(slower)} down."
            if slower
            else " Channels-last is faster for every conv net measured."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [case.model for case in CASES]
    parser.add_argument(
        "--models",
        default=",".join(names),
        help=f"comma-separated conv nets to time (default: all of {', '.join(names)})",
    )
    parser.add_argument("--out", help="the report (default: docs/memory_format.md)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.models.split(",") if name not in names]
    if unknown:
        parser.error(f"--models {args.models!r}: unknown {unknown}; choose from {names}")
    out = Path(args.out or DOCS / "memory_format.md")
    command = command_line("memory_format.py", argv if argv is not None else sys.argv[1:])
    rows = []
    for case in CASES:
        if case.model not in args.models.split(","):
            continue
        print(f"memory format: {case.model} at {case.side} px ...", flush=True)
        rows.append(measure_case(case))
        print(f"  NHWC / NCHW = {rows[-1]['ratio']:.2f}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(rows, command, utc_now()))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
