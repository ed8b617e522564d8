"""Side-by-side speed benchmark: the curriculum's loop, a hand-written in-memory loop, a
bare LightningModule and the dlzoo pipeline, each configuration in its own process.

    python benchmarks/pipelines.py [--quick] [--setups mlp,cnn_small]  -> docs/benchmarks.md

Each setup is a set of ``scripts/train.py`` options; every pipeline reads the model, batch
size, optimizer, schedule, normalisation and seeds from the config those options compose
(``conf/``), so the baselines train what dlzoo trains. The speed targets are in
``docs/benchmark_targets.yaml``; what the numbers mean and what was measured beyond them is
in ``docs/benchmarks_notes.md``."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/pipelines.py`: import from the repo
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DOCS,
    REPO,
    command_line,
    fmt,
    machine,
    measure_child,
    others_running,
    train_config,
    utc_now,
    zoo_network,
)

TARGETS_FILE = DOCS / "benchmark_targets.yaml"
NOTES = "benchmarks_notes.md"  # next to the report
TRAIN_IMAGES = 60_000  # Fashion-MNIST's training split, all of it (data.val_size=0)


@dataclass(frozen=True)
class Setup:
    """One model trained the same way by all pipelines: ``scripts/train.py`` options."""

    name: str
    #: the training (model, data, optimizer, schedule, epochs); all pipelines follow it
    recipe: tuple[str, ...] = ()
    #: dlzoo's speed options for this row (the report's last column); they may also pick
    #: the recipe (``experiment=mlp_fast``), which the baselines then follow
    options: tuple[str, ...] = ()
    #: runs of (b), (c) and (d), alternating; the faster run of each is reported
    rounds: int = 2
    #: epochs with ``--quick`` (all setups together in about 5 minutes on 2 cores)
    quick_epochs: int = 2


SETUPS = {
    # softmax regression: per-step overhead dominates, so dlzoo runs 32 steps per call
    "softmax": Setup(
        "softmax regression",
        recipe=(
            "model=softmax_regression",
            "data.batch_size=64",
            "optimizer=sgd",
            "optimizer.lr=0.05",
            "scheduler=none",
            "trainer.max_epochs=3",
        ),
        options=("speed.steps_per_call=32",),
        rounds=3,  # 15 s runs: a third round guards against a slow spell of the machine
    ),
    # the MLP preset (4 steps per call), and dlzoo's plain defaults (the same training)
    "mlp": Setup("MLP 784-512-256-10", options=("experiment=mlp_fast",)),
    # the per-step target's row: four rounds, as a 5 % ratio is within one round's drift
    "mlp_defaults": Setup("MLP 784-512-256-10", rounds=4),
    "cnn_small": Setup(
        "cnn_small (2 convs/stage)",
        recipe=("experiment=cnn_small_fashion",),
        rounds=1,  # 7 minutes per run; its steps are long enough not to need a second
        quick_epochs=1,
    ),
}

PIPELINES = ("curriculum", "hand", "lightning", "dlzoo")


# --------------------------------------------------------------------------- configs, targets
def recipe(key: str, epochs: int | None = None) -> Any:
    """The composed training config of setup ``key`` (``epochs``: instead of its own)."""
    setup = SETUPS[key]
    extra = [] if epochs is None else [f"trainer.max_epochs={epochs}"]
    cfg = train_config([*setup.recipe, *setup.options, *extra])
    if cfg.data.name != "fashion_mnist" or cfg.data.get("resize"):
        raise ValueError(f"setup {key!r}: the baselines read Fashion-MNIST at 28 px only")
    if not isinstance(cfg.data.batch_size, int):
        raise ValueError(f"setup {key!r}: data.batch_size={cfg.data.batch_size} is not a number")
    return cfg


def default_epochs(key: str) -> int:
    return int(recipe(key).trainer.max_epochs)


def load_targets(path: Path = TARGETS_FILE) -> dict[str, dict[str, float]]:
    """The issue's targets (``docs/benchmark_targets.yaml``): per kind, setup -> limit."""
    from omegaconf import OmegaConf

    targets = OmegaConf.to_container(OmegaConf.load(path))
    kinds = {
        "accuracy",
        "dlzoo_over_hand",
        "dlzoo_over_lightning",
        "curriculum_over_dlzoo",
        "time_to_accuracy_over_hand",
    }
    if not isinstance(targets, dict) or set(targets) - kinds:
        raise ValueError(f"{path}: expected the sections {sorted(kinds)}, got {targets!r}")
    for kind, limits in targets.items():
        unknown = set(limits or {}) - set(SETUPS)
        if unknown:
            raise ValueError(f"{path}: {kind}: unknown setups {sorted(unknown)}")
    return {kind: dict(targets.get(kind) or {}) for kind in sorted(kinds)}


def accuracy_target(key: str) -> float | None:
    return load_targets()["accuracy"].get(key)


# --------------------------------------------------------------------------- the networks
def build_net(cfg: Any, dlzoo_memory_format: bool = True) -> Any:
    """The network dlzoo builds for the composed config ``cfg`` (so parameter counts match),
    by default in the memory format dlzoo trains it in (``channels_last``: the model
    config's choice unless set), so that (b) and (d) differ from (c) in the pipeline only;
    the curriculum's loop (a) keeps PyTorch's default."""
    import torch

    net = zoo_network(cfg.model, side=28)
    if dlzoo_memory_format and cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)
        net.register_forward_pre_hook(
            lambda module, args: (args[0].contiguous(memory_format=torch.channels_last),)
        )
    return net


def make_optimizer(cfg: Any, net: Any, steps: int) -> tuple[Any, Any, str]:
    """The optimizer and scheduler of ``cfg`` (``conf/optimizer``, ``conf/scheduler``) for
    ``steps`` optimizer steps in all, and whether the scheduler steps per ``step`` or
    ``epoch``."""
    from hydra.utils import instantiate

    opt = instantiate(cfg.optimizer)(net.parameters())
    sched_cfg = cfg.get("scheduler")
    if not sched_cfg or sched_cfg.get("scheduler") is None:
        return opt, None, "step"
    factory = instantiate(sched_cfg.scheduler)
    given = {"total_steps": steps} if "total_steps" in inspect.signature(factory).parameters else {}
    return opt, factory(opt, **given), sched_cfg.get("interval", "epoch")


# --------------------------------------------------------------------------- the baselines
def evaluate(net: Any, batches: Any) -> float:
    import torch

    net.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            correct += (net(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def run_curriculum_loop(cfg: Any, data_dir: str, epochs: int) -> dict[str, Any]:
    """(a) The notebooks' loop: torchvision dataset, per-sample ToTensor + Normalize,
    DataLoader, ``loss.item()`` every step."""
    import torch
    import torch.nn.functional as F
    import torchvision
    from torchvision import transforms

    torch.manual_seed(0)
    steps = [transforms.ToTensor()]
    if cfg.data.mean is not None:
        steps.append(transforms.Normalize((cfg.data.mean,), (cfg.data.std,)))
    tf = transforms.Compose(steps)
    train = torchvision.datasets.FashionMNIST(data_dir, train=True, transform=tf, download=False)
    test = torchvision.datasets.FashionMNIST(data_dir, train=False, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(train, batch_size=cfg.data.batch_size, shuffle=True)
    net = build_net(cfg, dlzoo_memory_format=False)  # as the notebooks do
    opt, sched, interval = make_optimizer(cfg, net, epochs * len(loader))
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
            if sched and interval == "step":
                sched.step()
            total += loss.item()
        if sched and interval == "epoch":
            sched.step()
        times.append(time.perf_counter() - start)
        accs.append(evaluate(net, torch.utils.data.DataLoader(test, batch_size=1024)))
    return {"epoch_times_s": times, "test_acc": accs}


def load_tensors(cfg: Any, data_dir: str) -> tuple[Any, Any, Any, Any]:
    """Fashion-MNIST's splits as tensors, normalised as ``cfg.data`` says; the training
    images in dlzoo's train/validation split order (``data.split_seed``)."""
    import torch
    import torchvision

    def split(train: bool) -> tuple[Any, Any]:
        data = torchvision.datasets.FashionMNIST(data_dir, train=train, download=False)
        x = data.data.unsqueeze(1).float() / 255
        if cfg.data.mean is not None:
            x = (x - cfg.data.mean) / cfg.data.std
        return x, data.targets.long()

    x, y = split(train=True)
    gen = torch.Generator().manual_seed(cfg.data.split_seed)
    order = torch.randperm(len(x), generator=gen)
    return x[order], y[order], *split(train=False)


class ShuffledBatches:
    """The hand-written loop's batches for Lightning: a fresh shuffle each epoch, seeded
    ``seed + epoch``, each batch one indexing op."""

    def __init__(self, x: Any, y: Any, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size, self.seed, self.epoch = x, y, batch_size, seed, 0

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Any:  # a generator: Lightning's iter() check starts no epoch
        import torch

        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.x), generator=gen)
        for i in range(0, len(self.x), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield self.x[idx], self.y[idx]


def run_hand_loop(cfg: Any, data_dir: str, epochs: int) -> dict[str, Any]:
    """(b) A hand-written loop over normalised tensors held in memory (the 60k training
    images), one shuffled index per epoch, no per-step host syncs. Seeded like dlzoo's run:
    the same initial weights (``seed``), the same training-set order (``data.split_seed``)
    and the same per-epoch shuffles (``data.seed`` + epoch), so both train on the same
    batches and only the speed differs."""
    import torch
    import torch.nn.functional as F

    x, y, x_test, y_test = load_tensors(cfg, data_dir)
    batches = ShuffledBatches(x, y, cfg.data.batch_size, cfg.data.seed)
    torch.manual_seed(cfg.seed)
    net = build_net(cfg)
    opt, sched, interval = make_optimizer(cfg, net, epochs * len(batches))
    times, accs = [], []
    for _ in range(epochs):
        net.train()
        start = time.perf_counter()
        for xb, yb in batches:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched and interval == "step":
                sched.step()
        if sched and interval == "epoch":
            sched.step()
        times.append(time.perf_counter() - start)
        test_batches = zip(x_test.split(1024), y_test.split(1024), strict=True)
        accs.append(evaluate(net, test_batches))
    return {"epoch_times_s": times, "test_acc": accs}


def run_bare_lightning(cfg: Any, data_dir: str, epochs: int) -> dict[str, Any]:
    """(d) Lightning's floor: the hand-written loop's model, data and seeds in a bare
    LightningModule (automatic optimization, no callbacks, logger, checkpoints or progress
    bar), to separate Lightning's own per-step cost from what dlzoo adds."""
    import lightning as L
    import torch
    import torch.nn.functional as F

    x, y, x_test, y_test = load_tensors(cfg, data_dir)
    batches = ShuffledBatches(x, y, cfg.data.batch_size, cfg.data.seed)
    torch.manual_seed(cfg.seed)
    net = build_net(cfg)
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
            test_batches = zip(x_test.split(1024), y_test.split(1024), strict=True)
            accs.append(evaluate(self.net, test_batches))
            self.net.train()

        def configure_optimizers(self) -> Any:
            opt, sched, interval = make_optimizer(cfg, self.net, epochs * len(batches))
            if sched is None:
                return opt
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": interval}}

    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(Bare(), train_dataloaders=batches)
    return {"epoch_times_s": times, "test_acc": accs}


RUNNERS = {
    "curriculum": run_curriculum_loop,
    "hand": run_hand_loop,
    "lightning": run_bare_lightning,
}


# --------------------------------------------------------------------------- dlzoo itself
def dlzoo_overrides(key: str, data_dir: str, epochs: int, run_dir: Path) -> list[str]:
    """``scripts/train.py``'s options for setup ``key``: its recipe and options, trained on
    all 60k images and validated on the test split every epoch (``data.val_size=0``), like
    the other loops: the validation accuracy is then the test accuracy per epoch."""
    setup = SETUPS[key]
    return [
        *setup.recipe,
        *setup.options,
        f"trainer.max_epochs={epochs}",
        "trainer.accelerator=cpu",
        "data.val_size=0",
        f"paths.data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        "print_config=false",
    ]


# --------------------------------------------------------------------------- the driver
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
    speed drifts: alternating spreads the drift over all pipelines), every second round in
    the reverse order (a machine that slows under sustained load would otherwise always
    slow the same pipeline); per pipeline, the run with the fewest seconds per epoch is
    kept, the others' figures are listed with it. ``quick``: one round."""
    setup = SETUPS[key]
    results: dict[str, Any] = {}
    for round_index in range(1 if quick else setup.rounds):
        for pipeline in pipelines if round_index % 2 == 0 else pipelines[::-1]:
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
    if pipeline == "dlzoo":
        run_dir = Path(tempfile.mkdtemp(prefix=f"bench_{key}_"))
        cmd = [sys.executable, str(REPO / "scripts" / "train.py")]
        wall, peak, _ = measure_child([*cmd, *dlzoo_overrides(key, data_dir, epochs, run_dir)])
        record = json.loads((run_dir / "metrics.json").read_text())
        times = record["epoch_times_s"]
        history = [json.loads(line) for line in (run_dir / "history.jsonl").open()]
        accs = [row["val/acc"] for row in history if "val/acc" in row]
        final = record["metrics"]["test/acc"]
    else:
        n_epochs = 1 if pipeline == "curriculum" else epochs
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", pipeline, key]
        wall, peak, text = measure_child([*cmd, data_dir, str(n_epochs)])
        out = json.loads(text.strip().splitlines()[-1])
        times, accs = out["epoch_times_s"], out["test_acc"]
        final = accs[-1]
    target = accuracy_target(key) if pipeline != "curriculum" else None
    return {
        "per_epoch_s": per_epoch(times),
        "epoch_times_s": times,
        "test_acc": accs,
        "final_test_acc": final,
        "time_to_target_s": time_to_target(times, accs, target),
        "peak_rss_mib": peak,
        "wall_s": wall,
    }


def startup_seconds(data_dir: str) -> dict[str, float]:
    """Import time of the training stack, and the wall time of ``scripts/train.py debug=fdr``
    (one training, validation and test batch of the default MLP on Fashion-MNIST)."""
    import subprocess

    code = "import time; t = time.perf_counter(); import dlzoo.cli, dlzoo.commands.train; "
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


# --------------------------------------------------------------------------- the report
def ratio(num: dict | None, den: dict | None) -> float | None:
    return num["per_epoch_s"] / den["per_epoch_s"] if num and den else None


def check_targets(results: dict[str, Any], targets: dict[str, dict[str, float]]) -> list[str]:
    """One line per target of ``targets`` (``load_targets()``) whose setup is in
    ``results``: met or NOT met, with the measured value."""
    lines = []
    checks = [
        (kind, key, limit)
        for kind in (
            "dlzoo_over_hand",
            "dlzoo_over_lightning",
            "curriculum_over_dlzoo",
            "time_to_accuracy_over_hand",
        )
        for key, limit in targets.get(kind, {}).items()
    ]
    for kind, key, limit in checks:
        res = results.get(key)
        if not res:
            continue
        a, b, c, d = (res.get(p) for p in ("curriculum", "hand", "dlzoo", "lightning"))
        setup = SETUPS[key]
        name = f"{setup.name} [dlzoo {' '.join(setup.options) or 'defaults'}]"
        if kind == "dlzoo_over_hand":
            value = ratio(c, b)
            text = f"{name}: dlzoo s/epoch ÷ hand-written = {fmt(value)} (target ≤ {limit:g})"
            ok = value is not None and value <= limit
        elif kind == "dlzoo_over_lightning":
            if d is None:  # (d) runs in the mlp_defaults row only
                continue
            value = ratio(c, d)
            text = (
                f"{name}: dlzoo s/epoch ÷ bare LightningModule = {fmt(value)} (target ≤ {limit:g})"
            )
            ok = value is not None and value <= limit
        elif kind == "curriculum_over_dlzoo":
            value = ratio(a, c)
            text = f"{name}: curriculum s/epoch ÷ dlzoo = {fmt(value, '.1f')} (target ≥ {limit:g})"
            ok = value is not None and value >= limit
        else:
            tb, tc = b and b["time_to_target_s"], c and c["time_to_target_s"]
            text = (
                f"{name}: time to {targets['accuracy'].get(key)} test accuracy, dlzoo "
                f"{fmt(tc, '.1f')} s vs hand-written {fmt(tb, '.1f')} s "
                f"(target ≤ hand × {limit:g})"
            )
            ok = tb is not None and tc is not None and tc <= tb * limit
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}")
    return lines


def floor_lines(results: dict[str, Any]) -> list[str]:
    """The sentence on Lightning's own per-step cost, from pipeline (d) where it ran."""
    lines = []
    for key, res in results.items():
        b, d, c = res.get("hand"), res.get("lightning"), res.get("dlzoo")
        if not (b and c and d):
            continue
        setup = SETUPS[key]
        steps = -(-TRAIN_IMAGES // recipe(key).data.batch_size)
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


def rounds_text(keys: list[str]) -> str:
    """How often (b), (c) and (d) ran, e.g. 'twice (three times for softmax regression)'."""
    words = {1: "once", 2: "twice", 3: "three times", 4: "four times"}
    usual = 2

    def label(key: str) -> str:
        short = SETUPS[key].name.split(" (")[0]
        if sum(s.name.split(" (")[0] == short for s in SETUPS.values()) == 1:
            return short
        return f"{short} [dlzoo {' '.join(SETUPS[key].options) or 'defaults'}]"

    others = [
        f"{words.get(SETUPS[k].rounds, SETUPS[k].rounds)} for {label(k)}"
        for k in keys
        if SETUPS[k].rounds != usual
    ]
    return words[usual] + (f" ({', '.join(others)})" if others else "")


def render(
    results: dict[str, Any],
    startup: dict[str, float],
    command: str,
    quick: bool,
    busy: list[str],
    finished: str | None = None,
    machine_text: str | None = None,
    rendered_by: str | None = None,
) -> str:
    """docs/benchmarks.md from the numbers of one run. ``rendered_by``: the command that
    renders an earlier run's numbers again (``--render-from``)."""
    finished = finished or utc_now()
    targets = load_targets()
    produced = f"Produced by `{command}` on {finished}"
    if rendered_by:
        produced += f", rendered again by `{rendered_by}`"
    lines = [
        "# Speed benchmark",
        "",
        f"{produced} (this file is overwritten by each run; the raw numbers are in "
        "`benchmarks.json`, the targets in `benchmark_targets.yaml`).",
        "",
        f"Machine: {machine_text or machine()}.",
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
        "epoch, all training what `scripts/train.py` composes from `conf/` for the setup "
        "(model, batch size, optimizer, schedule, normalisation, seeds): (a) the curriculum's "
        "loop — torchvision `FashionMNIST` with per-sample `ToTensor` + `Normalize`, "
        "`DataLoader`, `loss.item()` every step (one epoch); (b) a hand-written loop over "
        "normalised tensors in memory with the same network (in the memory format dlzoo "
        "trains it in: the model config's `channels_last`, see "
        "[memory_format.md](memory_format.md)), batches, optimizer and schedule; (c) "
        "`scripts/train.py` with its defaults (TensorBoard, checkpoints, progress bar, "
        "prediction figures) plus the options in the last column, and `data.val_size=0` so "
        "that its per-epoch validation is on the test split like (a) and (b). Seconds per "
        "epoch are the training loop only (evaluation excluded): the median over epochs after "
        "the first. The machine's speed drifts between runs, so (b), (c) and (d) run "
        f"{rounds_text(list(results))}, alternating (every second round in the reverse "
        "order), and each row shows the fastest run of each pipeline (every run's figure "
        "is in `benchmarks.json`, `per_epoch_rounds_s`). "
        "Time to target: training seconds up to the end of the first epoch whose test "
        "accuracy reaches the target, in the run shown. Peak memory: the process's maximum "
        "resident set.",
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
        accuracy = targets["accuracy"].get(key)
        target = f" (≥ {accuracy})" if accuracy else ""
        options = " ".join(f"`{o}`" for o in setup.options) or "—"
        lines.append(
            f"| {setup.name} | {recipe(key).data.batch_size} | {len(c['epoch_times_s'])} "
            f"| {fmt(a and a['per_epoch_s'])} | {fmt(b['per_epoch_s'])} | {fmt(c['per_epoch_s'])} "
            f"| {fmt(ratio(c, b))}× | {fmt(ratio_ac, '.1f')}{'×' if ratio_ac else ''} "
            f"| {fmt(b['final_test_acc'], '.4f')} / {fmt(c['final_test_acc'], '.4f')} "
            f"| {fmt(b['time_to_target_s'], '.1f')} / {fmt(c['time_to_target_s'], '.1f')} s{target} "
            f"| {a['peak_rss_mib'] if a else '—'} / {b['peak_rss_mib']} / {c['peak_rss_mib']} "
            f"| {options} |"
        )
    lines += floor_lines(results)
    lines += [
        "",
        "Targets of the issue (`benchmark_targets.yaml`), as measured in this run:",
        "",
        *check_targets(results, targets),
        "",
        f"Start-up: importing `dlzoo.cli` and `dlzoo.commands.train` (torch, lightning, torchmetrics, "
        f"hydra) takes {startup['import_dlzoo_train_s']:.1f} s; `python scripts/train.py "
        f"debug=fdr` (the default MLP on Fashion-MNIST: one training, validation and test "
        f"batch) takes {startup['debug_fdr_wall_s']:.1f} s wall in all (best of 2). Where "
        f"the import time goes: [{NOTES}]({NOTES}#start-up).",
    ]
    if quick:
        one_epoch = [SETUPS[k].name for k in results if SETUPS[k].quick_epochs == 1]
        lines += [
            "",
            "This was a `--quick` run: few epochs and one run per pipeline, so accuracies are "
            "not final and the ratios are noisier"
            + (
                f"; {', '.join(one_epoch)} ran one epoch, so its seconds per epoch include "
                "the warm-up."
                if one_epoch
                else "."
            ),
        ]
    lines += [
        "",
        f"All pipelines train on the CPU (`trainer.accelerator=cpu`). What makes the pipeline "
        f"fast, the speed options, what was measured beyond this table and what changes on a "
        f"GPU: [{NOTES}]({NOTES}).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the command line
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None, help="default: $DLZOO_DATA_DIR or data")
    parser.add_argument(
        "--quick", action="store_true", help="few epochs, one round: done in about 5 minutes"
    )
    parser.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help=f"comma-separated rows to run (default: all of {', '.join(SETUPS)})",
    )
    parser.add_argument("--out", help="the report (default: docs/benchmarks.md)")
    parser.add_argument(
        "--render-from",
        metavar="JSON",
        help="rewrite --out from the numbers of an earlier run (its benchmarks.json)",
    )
    parser.add_argument("--memory-format", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child", nargs=4, metavar=("PIPELINE", "SETUP", "DATA", "EPOCHS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.memory_format:
        parser.error("--memory-format is its own script now: python benchmarks/memory_format.py")
    unknown = [key for key in args.setups.split(",") if key not in SETUPS]
    if unknown:
        parser.error(f"--setups {args.setups!r}: unknown {unknown}; choose from {list(SETUPS)}")
    if args.render_from and not Path(args.render_from).is_file():
        parser.error(f"--render-from {args.render_from!r}: no such file")
    if args.child and (args.child[0] not in RUNNERS or args.child[1] not in SETUPS):
        parser.error(f"--child {args.child}: choose a pipeline of {list(RUNNERS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    import os

    args = parse_args(argv)
    data_dir = args.data_dir or os.environ.get("DLZOO_DATA_DIR", "data")
    out = Path(args.out or DOCS / "benchmarks.md")
    command = command_line("pipelines.py", argv if argv is not None else sys.argv[1:])
    if args.child:
        pipeline, key, child_data, epochs = args.child
        cfg = recipe(key, int(epochs))
        print(json.dumps(RUNNERS[pipeline](cfg, child_data, int(epochs))))
        return
    if args.render_from:
        saved = json.loads(Path(args.render_from).read_text())
        text = render(
            saved["results"],
            saved["startup"],
            saved.get("command", "python benchmarks/pipelines.py"),
            saved.get("quick", False),
            saved["busy"],
            saved.get("finished"),
            saved.get("machine"),
            rendered_by=command,
        )
        out.write_text(text)
        print(f"wrote {out}")
        return
    load_targets()  # a broken targets file fails now, not after the runs
    busy = others_running()
    results = {}
    for key in args.setups.split(","):
        epochs = SETUPS[key].quick_epochs if args.quick else default_epochs(key)
        print(f"benchmarking {key} for {epochs} epochs ...", flush=True)
        results[key] = run_setup(key, data_dir, epochs, list(PIPELINES), args.quick)
        summary = {
            k: {m: v for m, v in r.items() if m != "epoch_times_s"} for k, r in results[key].items()
        }
        print(json.dumps(summary), flush=True)
    busy = sorted(set(busy + others_running()))
    startup = startup_seconds(data_dir)
    finished = utc_now()
    described = machine()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(results, startup, command, args.quick, busy, finished, described))
    record = {"results": results, "startup": startup, "busy": busy, "command": command}
    record.update(quick=args.quick, finished=finished, machine=described)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
