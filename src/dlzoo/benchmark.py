"""Side-by-side speed benchmark: the curriculum's loop, a hand-written in-memory loop and the
dlzoo pipeline, each configuration in its own process (``scripts/benchmark.py``)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SEED = 42  # dlzoo's default seed (weights, split order, shuffles)
MEAN, STD = 0.2860, 0.3530


@dataclass(frozen=True)
class Setup:
    """One model trained the same way by all three pipelines."""

    name: str
    model: str  # dlzoo model config
    batch_size: int
    optimizer: str  # sgd | adamw
    lr: float
    onecycle: bool
    epochs: int
    target: float | None = None  # test accuracy whose time-to-reach is reported
    overrides: tuple[str, ...] = field(default_factory=tuple)  # dlzoo options
    net_options: tuple[tuple[str, Any], ...] = ()  # model.net options (all pipelines)
    #: runs of (b), (c) and (d), alternating; the faster run of each is reported
    rounds: int = 2


SETUPS = {
    # softmax regression: per-step overhead dominates, so dlzoo runs 32 steps per call
    "softmax": Setup(
        "softmax regression",
        "softmax_regression",
        64,
        "sgd",
        0.05,
        False,
        3,
        overrides=("speed.steps_per_call=32",),
        rounds=3,  # 15 s runs: a third round guards against a slow spell of the machine
    ),
    # the MLP preset (experiment=mlp_fast: 4 steps per call), and dlzoo's plain defaults
    "mlp": Setup(
        "MLP 784-512-256-10",
        "mlp",
        256,
        "adamw",
        3e-3,
        True,
        10,
        target=0.89,
        overrides=("experiment=mlp_fast",),
    ),
    "mlp_defaults": Setup("MLP 784-512-256-10", "mlp", 256, "adamw", 3e-3, True, 10, target=0.89),
    # experiment=cnn_small_fashion
    "cnn_small": Setup(
        "cnn_small (2 convs/stage)",
        "cnn_small",
        256,
        "adamw",
        3e-3,
        True,
        6,
        target=0.92,
        net_options=(("convs_per_stage", 2),),
        rounds=1,  # 7 minutes per run; its steps are long enough not to need a second
    ),
}


#: epochs per setup with --quick (done in about 5 minutes on 2 cores)
QUICK_EPOCHS = {"softmax": 2, "mlp": 2, "mlp_defaults": 2, "cnn_small": 1}


# --------------------------------------------------------------------------- the networks
def build_net(setup: Setup, dlzoo_memory_format: bool = True) -> Any:
    """The same network dlzoo builds for this setup (so parameter counts match), by default
    in the memory format dlzoo trains it in (channels-last where the model config says so),
    so that (b) and (d) differ from (c) in the pipeline only; the curriculum's loop (a)
    keeps PyTorch's default."""
    import torch

    net = zoo_network(setup.model, setup.net_options, side=28)
    if dlzoo_memory_format and trains_channels_last(setup):
        net = net.to(memory_format=torch.channels_last)
        net.register_forward_pre_hook(
            lambda module, args: (args[0].contiguous(memory_format=torch.channels_last),)
        )
    return net


def zoo_network(model: str, net_options: tuple[tuple[str, Any], ...], side: int) -> Any:
    """``conf/model/<model>.yaml``'s network (with ``net_options`` changed) as dlzoo builds it
    for 10-class, one-channel ``side`` x ``side`` images (Fashion-MNIST, maybe resized)."""
    from omegaconf import OmegaConf

    from dlzoo.builders import build_network
    from dlzoo.data.spec import DataSpec

    cfg = OmegaConf.load(REPO / "conf" / "model" / f"{model}.yaml")
    for key, value in net_options:
        cfg.net[key] = value
    spec = DataSpec("multiclass", (1, side, side), num_classes=10)
    return build_network(cfg, spec, "multiclass")


def trains_channels_last(setup: Setup) -> bool:
    """Whether dlzoo trains this setup channels-last: the model config's choice, unless the
    setup's options set ``channels_last``."""
    from omegaconf import OmegaConf

    for override in setup.overrides:
        key, _, value = override.partition("=")
        if key == "channels_last":
            return value.lower() == "true"
    cfg = OmegaConf.load(REPO / "conf" / "model" / f"{setup.model}.yaml")
    return bool(cfg.get("channels_last", False))


def make_optimizer(setup: Setup, net: Any, steps: int) -> tuple[Any, Any]:
    import torch

    if setup.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=setup.lr)
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=setup.lr, weight_decay=0.01)
    sched = None
    if setup.onecycle:
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=setup.lr, total_steps=steps, pct_start=0.25, cycle_momentum=True
        )
    return opt, sched


# --------------------------------------------------------------------------- the baselines
def run_curriculum_loop(setup: Setup, data_dir: str, epochs: int) -> dict[str, Any]:
    """(a) The notebooks' loop: torchvision dataset, per-sample ToTensor + Normalize,
    DataLoader, ``loss.item()`` every step."""
    import torch
    import torch.nn.functional as F
    import torchvision
    from torchvision import transforms

    torch.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    train = torchvision.datasets.FashionMNIST(data_dir, train=True, transform=tf, download=False)
    test = torchvision.datasets.FashionMNIST(data_dir, train=False, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(train, batch_size=setup.batch_size, shuffle=True)
    net = build_net(setup, dlzoo_memory_format=False)  # as the notebooks do
    opt, sched = make_optimizer(setup, net, epochs * len(loader))
    times, accs = [], []
    for _ in range(epochs):
        net.train()
        start = time.perf_counter()
        total = 0.0
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            total += loss.item()
        times.append(time.perf_counter() - start)
        accs.append(evaluate_loader(net, torch.utils.data.DataLoader(test, batch_size=1024)))
    return {"epoch_times_s": times, "test_acc": accs}


def evaluate_loader(net: Any, batches: Any) -> float:
    import torch

    net.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            correct += (net(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def load_tensors(data_dir: str) -> tuple[Any, Any, Any, Any]:
    from dlzoo.data.idx import read_idx

    raw = Path(data_dir) / "FashionMNIST" / "raw"

    def images(name: str) -> Any:
        return ((read_idx(raw / name).unsqueeze(1).float() / 255) - MEAN) / STD

    return (
        images("train-images-idx3-ubyte"),
        read_idx(raw / "train-labels-idx1-ubyte").long(),
        images("t10k-images-idx3-ubyte"),
        read_idx(raw / "t10k-labels-idx1-ubyte").long(),
    )


def run_hand_loop(setup: Setup, data_dir: str, epochs: int) -> dict[str, Any]:
    """(b) A hand-written loop over normalised tensors held in memory (the 60k training
    images), one shuffled index per epoch, no per-step host syncs. Seeded like dlzoo's run
    (``seed=42``): the same initial weights, the same training-set order and the same
    per-epoch shuffles, so both train on the same batches and only the speed differs."""
    import torch
    import torch.nn.functional as F

    x, y, x_test, y_test = load_tensors(data_dir)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED))
    x, y = x[order], y[order]  # dlzoo's train/validation split order (data.val_size=0)
    n, bs = len(x), setup.batch_size
    steps = -(-n // bs)
    torch.manual_seed(SEED)
    net = build_net(setup)
    opt, sched = make_optimizer(setup, net, epochs * steps)
    times, accs = [], []
    for epoch in range(epochs):
        net.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(SEED + epoch))
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        times.append(time.perf_counter() - start)
        test_batches = zip(x_test.split(1024), y_test.split(1024), strict=True)
        accs.append(evaluate_loader(net, test_batches))
    return {"epoch_times_s": times, "test_acc": accs}


def run_bare_lightning(setup: Setup, data_dir: str, epochs: int) -> dict[str, Any]:
    """(d) Lightning's floor: the hand-written loop's model, data and seeds in a bare
    LightningModule (automatic optimization, no callbacks, logger, checkpoints or progress
    bar), to separate Lightning's own per-step cost from what dlzoo adds."""
    import lightning as L
    import torch
    import torch.nn.functional as F

    from dlzoo.data.batches import InMemoryBatches

    x, y, x_test, y_test = load_tensors(data_dir)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED))
    x, y = x[order], y[order]
    steps = -(-len(x) // setup.batch_size)
    torch.manual_seed(SEED)
    net = build_net(setup)
    times: list[float] = []
    accs: list[float] = []

    class Bare(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def on_train_epoch_start(self) -> None:
            self.started = time.perf_counter()

        def on_train_epoch_end(self) -> None:
            times.append(time.perf_counter() - self.started)
            batches = zip(x_test.split(1024), y_test.split(1024), strict=True)
            accs.append(evaluate_loader(self.net, batches))
            self.net.train()

        def configure_optimizers(self) -> Any:
            opt, sched = make_optimizer(setup, self.net, epochs * steps)
            if sched is None:
                return opt
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    loader = InMemoryBatches([x, y], setup.batch_size, shuffle=True, seed=SEED)
    trainer.fit(Bare(), train_dataloaders=loader)
    return {"epoch_times_s": times, "test_acc": accs}


# --------------------------------------------------------------------------- dlzoo itself
def dlzoo_overrides(setup: Setup, data_dir: str, epochs: int, run_dir: Path) -> list[str]:
    return [
        f"model={setup.model}",
        "data=fashion_mnist",
        f"data.batch_size={setup.batch_size}",
        f"paths.data_dir={data_dir}",
        f"optimizer={setup.optimizer}",
        f"optimizer.lr={setup.lr}",
        f"scheduler={'onecycle' if setup.onecycle else 'none'}",
        f"trainer.max_epochs={epochs}",
        "trainer.accelerator=cpu",
        # train on all 60k images and validate on the test split every epoch, like the
        # other two loops: the validation accuracy is then the test accuracy per epoch
        "data.val_size=0",
        f"hydra.run.dir={run_dir}",
        "print_config=false",
        *(f"model.net.{key}={value}" for key, value in setup.net_options),
        *setup.overrides,
    ]


# --------------------------------------------------------------------------- the driver
def measure_child(cmd: list[str]) -> tuple[float, int, str]:
    """Run ``cmd``; wall seconds, peak resident memory (MiB) of that process, output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{text[-3000:]}")
    return time.perf_counter() - start, usage.ru_maxrss // 1024, text


def per_epoch(times: list[float]) -> float:
    """Median seconds per epoch, leaving out the first (warm-up) epoch when there are more."""
    return median(times[1:] if len(times) > 1 else times)


def time_to_target(times: list[float], accs: list[float], target: float | None) -> float | None:
    if target is None:
        return None
    for i, acc in enumerate(accs):
        if acc >= target:
            return sum(times[: i + 1])
    return None


def run_setup(
    key: str, data_dir: str, epochs: int, pipelines: list[str], quick: bool = False
) -> dict[str, Any]:
    """Each pipeline of ``key``, in ``SETUPS[key].rounds`` alternating rounds (the machine's
    speed drifts: alternating spreads the drift over all pipelines); per pipeline, the run
    with the fewest seconds per epoch is kept, the others' figures are listed with it.
    ``quick``: one round."""
    setup = SETUPS[key]
    results: dict[str, Any] = {}
    for round_index in range(1 if quick else setup.rounds):
        for pipeline in pipelines:
            if pipeline == "curriculum" and (
                round_index > 0 or key == "mlp_defaults" or quick and key != "softmax"
            ):
                continue  # one run; --quick: the slow torchvision loop only on softmax
            if pipeline == "lightning" and key != "mlp_defaults":
                continue  # Lightning's floor: where a per-step cost shows most
            run = run_pipeline(pipeline, key, data_dir, epochs)
            kept = results.get(pipeline)
            every = [*kept["per_epoch_rounds_s"], run["per_epoch_s"]] if kept else []
            if kept is None or run["per_epoch_s"] < kept["per_epoch_s"]:
                kept = run
            kept["per_epoch_rounds_s"] = every or [run["per_epoch_s"]]
            results[pipeline] = kept
    return results


def run_pipeline(pipeline: str, key: str, data_dir: str, epochs: int) -> dict[str, Any]:
    """One run of one pipeline in its own process: its timings, accuracies and memory."""
    setup = SETUPS[key]
    if pipeline == "dlzoo":
        run_dir = Path(tempfile.mkdtemp(prefix=f"bench_{key}_"))
        cmd = [
            sys.executable,
            str(REPO / "scripts" / "train.py"),
            *dlzoo_overrides(setup, data_dir, epochs, run_dir),
        ]
        wall, peak, _ = measure_child(cmd)
        record = json.loads((run_dir / "metrics.json").read_text())
        times = record["epoch_times_s"]
        history = [json.loads(line) for line in (run_dir / "history.jsonl").open()]
        accs = [row["val/acc"] for row in history if "val/acc" in row]
        final = record["metrics"]["test/acc"]
    else:
        n_epochs = 1 if pipeline == "curriculum" else epochs
        cmd = [
            sys.executable,
            "-m",
            "dlzoo.benchmark",
            "--child",
            pipeline,
            key,
            data_dir,
            str(n_epochs),
        ]
        wall, peak, text = measure_child(cmd)
        out = json.loads(text.strip().splitlines()[-1])
        times, accs = out["epoch_times_s"], out["test_acc"]
        final = accs[-1]
    return {
        "per_epoch_s": per_epoch(times),
        "epoch_times_s": times,
        "test_acc": accs,
        "final_test_acc": final,
        "time_to_target_s": time_to_target(times, accs, setup.target)
        if pipeline != "curriculum"
        else None,
        "peak_rss_mib": peak,
        "wall_s": wall,
    }


def startup_seconds(data_dir: str) -> dict[str, float]:
    """Import time of the training stack, and the wall time of ``scripts/train.py debug=fdr``
    (one training, validation and test batch of the default MLP on Fashion-MNIST)."""
    code = "import time; t = time.perf_counter(); import dlzoo.cli, dlzoo.train; "
    code += "print(time.perf_counter() - t)"
    imports = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
            ).stdout
        )
        for _ in range(3)
    ]
    walls = []
    for _ in range(2):
        run_dir = tempfile.mkdtemp(prefix="bench_fdr_")
        cmd = [sys.executable, str(REPO / "scripts" / "train.py"), "debug=fdr"]
        cmd += [f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}", "print_config=false"]
        walls.append(measure_child(cmd)[0])
    return {"import_dlzoo_train_s": min(imports), "debug_fdr_wall_s": min(walls)}


def others_running() -> list[str]:
    """Other test or training processes on this machine (they would skew the timings)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    mine = {os.getpid(), os.getppid()}
    busy = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if int(pid) in mine or "benchmark" in args:
            continue
        if "pytest" in args or "scripts/train.py" in args:
            busy.append(args[:100])
    return busy


def machine() -> str:
    import lightning
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), lightning {lightning.__version__}"
    )


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def ratio(num: dict | None, den: dict | None) -> float | None:
    return num["per_epoch_s"] / den["per_epoch_s"] if num and den else None


#: the issue's targets: (setup, what, limit); checked on every run
TARGETS = (
    ("mlp", "c/b", 1.15),
    ("mlp_defaults", "c/b", 1.15),
    ("cnn_small", "c/b", 1.15),
    ("softmax", "c/b", 1.5),
    ("softmax", "a/c", 10.0),
    ("mlp", "target", 1.15),
    ("mlp_defaults", "target", 1.15),
)


def check_targets(results: dict[str, Any]) -> list[str]:
    lines = []
    for key, what, limit in TARGETS:
        res = results.get(key)
        if not res:
            continue
        a, b, c = res.get("curriculum"), res.get("hand"), res.get("dlzoo")
        setup = SETUPS[key]
        name = f"{setup.name} [dlzoo {' '.join(setup.overrides) or 'defaults'}]"
        if what == "c/b":
            value = ratio(c, b)
            text = f"{name}: dlzoo s/epoch ÷ hand-written = {fmt(value)} (target ≤ {limit})"
            ok = value is not None and value <= limit
        elif what == "a/c":
            value = ratio(a, c)
            text = f"{name}: curriculum s/epoch ÷ dlzoo = {fmt(value, '.1f')} (target ≥ {limit:g})"
            ok = value is not None and value >= limit
        else:
            tb, tc = b and b["time_to_target_s"], c and c["time_to_target_s"]
            target = setup.target
            text = (
                f"{name}: time to {target} test accuracy, dlzoo {fmt(tc, '.1f')} s vs hand-written "
                f"{fmt(tb, '.1f')} s (target ≤ hand × {limit})"
            )
            ok = tb is not None and tc is not None and tc <= tb * limit
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}")
    return lines


#: what the speed options do (written under every table)
OPTIONS_TEXT = [
    "## What makes the pipeline fast, and the options",
    "",
    "- Data: splits live in memory and each batch is one indexing op (`InMemoryBatches`); "
    "normalisation and augmentation run on whole batches. On a CPU, Fashion-MNIST/MNIST are "
    "normalised once at setup (`data.preprocess_once: auto`; `true`/`false` to force).",
    "- Host memory (`speed.reuse_host_memory: true`, glibc on Linux): glibc gives every big "
    "allocation its own fresh `mmap` and unmaps it on free, so a conv net on a CPU, which "
    "allocates and frees 50-100 MiB activations every step, page-faults and zeroes fresh "
    "pages every step. dlzoo tells glibc (`mallopt`) to serve them from the heap and keep "
    "freed memory for reuse. Measured on `cnn_small` (2 epochs, 2 cores): 17.6M page "
    "faults and 37 s of system time without it, 0.3M and 1.6 s with it, 7 % shorter "
    "epochs, about the same peak memory (1.77 vs 1.74 GB); on `experiment=cnn_small_fast` "
    "(8 epochs) 220 s instead of 252 s for 0.3 GB more peak memory (1.64 vs 1.37 GB; "
    "docs/model_zoo.md). Turn it off with `speed.reuse_host_memory=false` where memory is "
    "tighter than time. The hand-written loop (b) runs with glibc's defaults, as a user's "
    "script would.",
    "- Per-step bookkeeping: Lightning's `self.log` costs more than a softmax-regression step "
    "on a CPU, so the training step does not call it every step. The loss goes into a "
    "running mean (a tensor sum, no host sync) logged as `train/loss_epoch`; "
    "`train/loss_step` is logged only on the steps the loggers write "
    "(`trainer.log_every_n_steps`, the logging cadence). `speed.train_metrics=false` also "
    "skips the per-step update of `train/acc` (validation metrics are unaffected). The "
    "progress bar is redrawn 4 times a second (`callbacks.progress_bar.refresh_rate`).",
    "- Host syncs on a GPU (not measured here: no GPU): a training step does not wait for "
    "the GPU except on logging steps. The divergence guard reads the losses every "
    "`trainer.log_every_n_steps` steps there (`speed.loss_check_every_n_steps`; every step "
    "on a CPU, where it is free); training metrics skip torchmetrics' per-update label "
    "check (a `torch.unique`); normalisation constants are copied to the device once; the "
    "sequential text loader's 'continues' flag is a Python bool, not a tensor.",
    "- What one step per call costs: Lightning's automatic optimization (closure, hooks, "
    "each callback's per-step hooks) adds a fixed cost to every optimizer step (pipeline "
    "(d) above measures Lightning's part alone). It is a small share of a `cnn_small` step "
    "(~250 ms) but not of a ~4.5 ms MLP step, which is why the MLP with plain defaults "
    "stays above 1.15x while its preset `experiment=mlp_fast` (4 steps per call) does not.",
    "- `speed.steps_per_call=K` (off: 1): the loader serves K consecutive batches as one and "
    "the task runs K optimizer steps per Lightning call (manual optimization), so "
    "Lightning's per-call cost is paid once per K steps; the weights are those of K=1 (same "
    "batches, same order; tested). Trade-offs: the loggers' step axis and "
    "`log_every_n_steps` count calls, not optimizer steps (`trainer.global_step`, "
    "checkpoints and `metrics.json` count optimizer steps); per-step callback hooks "
    "(`on_before_backward`, `on_before_optimizer_step`) are skipped in full precision; "
    "`max_steps` and `every_n_train_steps` are checked between calls; a mid-epoch resume "
    "restarts at a group boundary; gradient clipping, gradient accumulation, plateau "
    "schedulers and DDP are refused with a clear message. Worth it for small models "
    "(softmax regression: K=32; the MLP preset `experiment=mlp_fast`: K=4); not used for "
    "cnn_small, whose steps are long enough that the per-call cost is a small share.",
    "- Memory format (`channels_last`): conv nets train channels-last where one training "
    "step was measured faster that way (docs/memory_format.md, written by `python "
    "scripts/benchmark.py --memory-format`: 10 of the zoo's 11 conv nets, 0.67-0.99x the "
    "channels-first step time on this CPU; not LeNet-modern). Each model config says so "
    "and `channels_last` takes the model's choice unless set. The cnn_small row runs "
    "channels-last in (b) and (c); the curriculum's loop (a) keeps PyTorch's default.",
    "- Mixed precision: `trainer.precision: auto` (the default) is `bf16-mixed` on a CUDA "
    "GPU that supports bfloat16 (Ampere or newer) and `32-true` elsewhere, so this table "
    "is in full precision; set `32-true`, `16-mixed` or `bf16-mixed` to choose.",
    "- `compile=true` (torch.compile) is an option, off by default: on cnn_small on this CPU "
    "it made steps no faster (40 steps of 256 images, channels-first: 10.7 s compiled, "
    "10.4 and 11.2 s in two plain runs) and compiling took about 13 s (`python "
    "scripts/train.py model=cnn_small model.net.convs_per_stage=2 data.batch_size=256 "
    "trainer.max_epochs=3 +trainer.limit_train_batches=40 channels_last=false "
    "compile=true`). Not measured on a GPU, where it is more likely to pay off.",
    "- Data on the GPU (`speed.data_on_device: auto`, not measured here: no GPU): a batch "
    "cut from host memory would be copied to the GPU every step, and a copy from pageable "
    "memory waits for the GPU; instead the splits are copied to the GPU once (when they "
    "take at most a quarter of its free memory) and every batch is one indexing op there, "
    "with the shuffle order moved once per epoch. This replaces `pin_memory` and "
    "`non_blocking` copies, which would still copy every batch.",
]

#: where the start-up seconds go (written under the start-up line)
STARTUP_TEXT = (
    "Of the import time, dlzoo's own modules take about 0.1 s and torch about 1.3 s; the "
    "rest is lightning, which imports torchmetrics in full, and torchmetrics imports "
    "`torchvision.models` (and through `torchvision.ops`, `torch._dynamo`, about 1.1 s) and "
    "`scipy.signal` (about 0.7 s) whether or not a run uses them "
    "(`python -X importtime -c 'import dlzoo.train'`). dlzoo imports matplotlib, pandas, "
    "optuna and torchvision's datasets only when a run needs them."
)


def floor_lines(results: dict[str, Any]) -> list[str]:
    """The sentence on Lightning's own per-step cost, from pipeline (d) where it ran."""
    lines = []
    for key, res in results.items():
        b, d, c = res.get("hand"), res.get("lightning"), res.get("dlzoo")
        if not (b and c and d):
            continue
        setup = SETUPS[key]
        steps = -(-60000 // setup.batch_size)
        per_step_ms = [(r["per_epoch_s"] - b["per_epoch_s"]) / steps * 1000 for r in (d, c)]
        lines += [
            "",
            f"Lightning's own share, {setup.name} [dlzoo defaults]: (d) a bare "
            "LightningModule over the same batches (automatic optimization; no callbacks, "
            f"logger, checkpoints or progress bar) takes {fmt(d['per_epoch_s'])} s per epoch, "
            f"{fmt(ratio(d, b))}× the hand-written loop: {per_step_ms[0]:.2f} ms more per "
            f"optimizer step; dlzoo's defaults take {per_step_ms[1]:.2f} ms more per step "
            f"({steps} steps per epoch). Time to target, (d): "
            f"{fmt(d['time_to_target_s'], '.1f')} s.",
        ]
    return lines


def render(
    results: dict[str, Any],
    startup: dict[str, float],
    command: str,
    quick: bool,
    busy: list[str],
    finished: str | None = None,
) -> str:
    finished = finished or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Speed benchmark",
        "",
        f"Produced by `{command}` on {finished} "
        "(this file is overwritten by each run; the raw numbers are in `benchmarks.json`).",
        "",
        f"Machine: {machine()}.",
        "",
        "CPU: "
        + (
            "no other test or training process was running at the start or the end of the run."
            if not busy
            else "NOT quiet — other processes were running: " + "; ".join(busy[:5])
        ),
        "",
        "Pipelines, each configuration in its own process, side by side in one run, all on "
        "Fashion-MNIST's 60k training images with a test-accuracy evaluation after every "
        "epoch: (a) the curriculum's loop — torchvision `FashionMNIST` with per-sample "
        "`ToTensor` + `Normalize`, `DataLoader`, `loss.item()` every step (one epoch);"
        " (b) a hand-written loop over normalised tensors in memory with the same network "
        "(in the memory format dlzoo uses: channels-last for cnn_small, see "
        "docs/memory_format.md), batch size, optimizer and schedule; (c) `scripts/train.py` with its defaults "
        "(TensorBoard, checkpoints, progress bar, prediction figures) plus the options in the "
        "last column, and `data.val_size=0` so that its per-epoch validation is on the test "
        "split like (a) and (b). Seconds per epoch are the training loop only (evaluation "
        "excluded): the median over epochs after the first. The machine's speed drifts "
        "between runs, so (b), (c) and (d) run twice, alternating (three times for softmax "
        "regression, once for cnn_small), and "
        "each row shows the faster run of each pipeline (every run's figure is in "
        "`benchmarks.json`, `per_epoch_rounds_s`). Time to target: training seconds "
        "up to the end of the first epoch whose test accuracy reaches the target, in the run "
        "shown. Peak memory: the process's maximum resident set.",
        "",
        "| setup | batch | epochs | (a) curriculum s/epoch | (b) hand s/epoch "
        "| (c) dlzoo s/epoch | (c)/(b) | (a)/(c) | final test acc (b) / (c) "
        "| time to target (b) / (c) | peak MiB (a) / (b) / (c) | dlzoo options |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, res in results.items():
        setup = SETUPS[key]
        a, b, c = res.get("curriculum"), res.get("hand"), res.get("dlzoo")
        ratio_ac = ratio(a, c)
        target = f" (≥ {setup.target})" if setup.target else ""
        options = " ".join(f"`{o}`" for o in setup.overrides) or "—"
        lines.append(
            f"| {setup.name} | {setup.batch_size} | {len(c['epoch_times_s'])} "
            f"| {fmt(a and a['per_epoch_s'])} | {fmt(b['per_epoch_s'])} | {fmt(c['per_epoch_s'])} "
            f"| {fmt(ratio(c, b))}× | {fmt(ratio_ac, '.1f')}{'×' if ratio_ac else ''} "
            f"| {fmt(b['final_test_acc'], '.4f')} / {fmt(c['final_test_acc'], '.4f')} "
            f"| {fmt(b['time_to_target_s'], '.1f')} / {fmt(c['time_to_target_s'], '.1f')} s{target} "
            f"| {a['peak_rss_mib'] if a else '—'} / {b['peak_rss_mib']} / {c['peak_rss_mib']} "
            f"| {options} |"
        )
    lines += floor_lines(results)
    lines += ["", "Targets of the issue, as measured in this run:", "", *check_targets(results)]
    lines += [
        "",
        f"Start-up: importing `dlzoo.cli` and `dlzoo.train` (torch, lightning, torchmetrics, "
        f"hydra) takes {startup['import_dlzoo_train_s']:.1f} s; `python scripts/train.py "
        f"debug=fdr` (the default MLP on Fashion-MNIST: one training, validation and test "
        f"batch) takes {startup['debug_fdr_wall_s']:.1f} s wall in all (best of 2). "
        + STARTUP_TEXT,
    ]
    if quick:
        lines += [
            "",
            "This was a `--quick` run: few epochs and one run per pipeline (not two), so "
            "accuracies are not final and the ratios are noisier; cnn_small ran one epoch, "
            "so its seconds per epoch include the warm-up.",
        ]
    lines += ["", *OPTIONS_TEXT]
    lines += [
        "",
        "GPU: no GPU was available to this session, so there is no GPU section. On a CUDA "
        "GPU the same commands train in bf16 mixed precision (`trainer.precision: auto`) with "
        "the datasets on the GPU (`speed.data_on_device: auto`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("DLZOO_DATA_DIR", "data"))
    parser.add_argument(
        "--quick", action="store_true", help="few epochs, one round: done in about 5 minutes"
    )
    parser.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help=f"comma-separated rows to run (default: all of {', '.join(SETUPS)})",
    )
    parser.add_argument(
        "--out", help="the report (default: docs/benchmarks.md, or docs/memory_format.md)"
    )
    parser.add_argument(
        "--memory-format",
        action="store_true",
        help="instead: one training step of each conv net, channels-first vs channels-last",
    )
    parser.add_argument(
        "--render-from",
        metavar="JSON",
        help="rewrite --out from the numbers of an earlier run (its benchmarks.json)",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("PIPELINE", "SETUP", "DATA", "EPOCHS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    unknown = [key for key in args.setups.split(",") if key not in SETUPS]
    if unknown:
        parser.error(f"--setups {args.setups!r}: unknown {unknown}; choose from {list(SETUPS)}")
    if args.render_from and not Path(args.render_from).is_file():
        parser.error(f"--render-from {args.render_from!r}: no such file")
    report = "memory_format.md" if args.memory_format else "benchmarks.md"
    args.out = args.out or str(REPO / "docs" / report)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python scripts/benchmark.py", *given])
    if args.child:
        pipeline, key, data_dir, epochs = args.child
        runners = {
            "curriculum": run_curriculum_loop,
            "hand": run_hand_loop,
            "lightning": run_bare_lightning,
        }
        runner = runners[pipeline]
        print(json.dumps(runner(SETUPS[key], data_dir, int(epochs))))
        return
    if args.memory_format:
        from dlzoo.layout_benchmark import main as memory_format_main

        memory_format_main(Path(args.out), command)
        return
    if args.render_from:
        saved = json.loads(Path(args.render_from).read_text())
        text = render(
            saved["results"],
            saved["startup"],
            saved.get("command", "python scripts/benchmark.py"),
            saved.get("quick", False),
            saved["busy"],
            saved.get("finished"),
        )
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
        return
    busy = others_running()
    results = {}
    for key in args.setups.split(","):
        epochs = QUICK_EPOCHS[key] if args.quick else SETUPS[key].epochs
        print(f"benchmarking {key} for {epochs} epochs ...", flush=True)
        results[key] = run_setup(
            key, args.data_dir, epochs, ["curriculum", "hand", "lightning", "dlzoo"], args.quick
        )
        print(
            json.dumps(
                {
                    k: {m: v for m, v in r.items() if m != "epoch_times_s"}
                    for k, r in results[key].items()
                }
            ),
            flush=True,
        )
    busy = sorted(set(busy + others_running()))
    startup = startup_seconds(args.data_dir)
    finished = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(results, startup, command, args.quick, busy, finished))
    record = {"results": results, "startup": startup, "busy": busy, "command": command}
    record.update(quick=args.quick, finished=finished)
    Path(args.out).with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
