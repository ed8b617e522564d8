"""What the benchmark scripts share: the repository's configs, the zoo's networks as dlzoo
builds them, timing child processes, the machine's description and number formatting."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
DOCS = REPO / "docs"


# --------------------------------------------------------------------------- configs
@lru_cache(maxsize=32)
def _compose(overrides: tuple[str, ...]) -> Any:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose(config_name="train", overrides=list(overrides))


def train_config(overrides: Sequence[str] = ()) -> Any:
    """The training config ``python scripts/train.py <overrides>`` composes from ``conf/``
    (a copy: changing it changes no other caller's)."""
    from omegaconf import OmegaConf

    cfg = _compose(tuple(overrides))
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))


def model_config(model: str, net_options: Sequence[tuple[str, Any]] = ()) -> Any:
    """``conf/model/<model>.yaml``, with ``net_options`` (key, value) changed in its ``net``."""
    from omegaconf import OmegaConf

    path = CONF / "model" / f"{model}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no model config {path}")
    cfg = OmegaConf.load(path)
    for key, value in net_options:
        cfg.net[key] = value
    return cfg


def zoo_network(model_cfg: Any, side: int, channels: int = 1, classes: int = 10) -> Any:
    """The network of a model config as dlzoo builds it (``dlzoo.config.builders.build_network``)
    for ``classes``-class, ``channels``-channel ``side`` x ``side`` images (Fashion-MNIST:
    one channel, 10 classes, 28 px unless resized)."""
    from dlzoo.config.builders import build_network
    from dlzoo.data.spec import ClassificationSpec
    from dlzoo.tasks import MulticlassTask

    spec = ClassificationSpec.numbered((channels, side, side), classes)
    return build_network(model_cfg, spec, MulticlassTask)


# --------------------------------------------------------------------------- processes
def measure_child(cmd: list[str]) -> tuple[float, int, str]:
    """Run ``cmd`` from the repository root: wall seconds, peak resident memory (MiB) of
    that process, and its output (stdout and stderr)."""
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
    """CPU, cores, OS, Python, torch (and its threads) and Lightning versions."""
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


def utc_now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


# --------------------------------------------------------------------------- formatting
def fmt(value: float | None, spec: str = ".2f") -> str:
    """``value`` formatted, or an em dash where there is none."""
    return "—" if value is None else format(value, spec)


def command_line(script: str, argv: Sequence[str]) -> str:
    """How the report names the command that wrote it."""
    return " ".join([f"python benchmarks/{script}", *argv])
