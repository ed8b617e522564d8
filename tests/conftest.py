"""Shared fixtures: composed configs, tiny on-disk datasets, subprocess runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from dlzoo.cli import config_dir
from dlzoo.data.idx import write_idx

REPO = Path(__file__).resolve().parents[1]

#: options that keep test runs quiet and fast
QUIET = [
    "print_config=false",
    "callbacks.progress_bar.enabled=false",
    "callbacks.model_summary.enabled=false",
]


def pytest_configure(config: pytest.Config) -> None:
    """Ignore the dependency warnings dlzoo's console ignores (dlzoo.console.KNOWN_HARMLESS),
    so the test run's warnings are the ones that mean something."""
    from dlzoo.console import pytest_filters

    for line in pytest_filters():
        config.addinivalue_line("filterwarnings", line)


#: where the README's test command installs Hugging Face ``transformers`` (``pip install
#: --target``): off the import path, because torchmetrics imports an installed transformers
#: whenever Lightning loads (0.8 s in every process a test starts); the Hugging Face tests
#: add it to the path themselves
HUGGINGFACE_DIR = Path(os.environ.get("DLZOO_HUGGINGFACE_DIR", REPO / ".venv" / "huggingface"))


def huggingface_transformers() -> object:
    """``transformers`` from :data:`HUGGINGFACE_DIR` (appended to ``sys.path``, so the
    environment's own packages keep precedence). Missing in CI is a failure, not a skip."""
    if str(HUGGINGFACE_DIR) not in sys.path:
        sys.path.append(str(HUGGINGFACE_DIR))
    try:
        import transformers
    except ImportError:
        install = f'pip install --target {HUGGINGFACE_DIR} "transformers>=4.40"'
        if os.environ.get("CI"):
            pytest.fail(f"transformers is not installed for the tests: {install}")
        pytest.skip(f"transformers is not installed for the tests: {install}")
    return transformers


def data_dir_from_environment() -> Path | None:
    """The datasets' folder from ``DLZOO_DATA_DIR`` (``None`` when unset or missing): tests
    that need real data skip without it, and no test names a folder of one machine."""
    value = os.environ.get("DLZOO_DATA_DIR")
    return Path(value) if value and Path(value).is_dir() else None


def write_tiny_idx_dataset(
    root: Path, folder: str = "FashionMNIST", n_train: int = 120, n_test: int = 40, seed: int = 0
) -> Path:
    """Write a learnable tiny MNIST-style dataset in torchvision's layout under ``root``.

    Each class is a bright horizontal band at a class-specific row, plus noise, so a model
    can actually learn it.
    """
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label : 4 + 2 * label, :] = 250
        return images, labels

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = make(n)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def write_tiny_california(root: Path, n: int = 300, seed: int = 0) -> Path:
    """A small stand-in for scikit-learn's California housing cache file (same layout:
    joblib-dumped array, target first), with a target that depends linearly on income."""
    import joblib

    rng = np.random.default_rng(seed)
    table = rng.uniform(1.0, 10.0, size=(n, 9))
    table[:, 0] = 50_000 * table[:, 8] + 10_000 * rng.normal(size=n)  # value ~ income
    home = root / "scikit_learn_data"
    home.mkdir(parents=True, exist_ok=True)
    joblib.dump(table, home / "cal_housing_py3.pkz", compress=3)
    return root


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding a tiny Fashion-MNIST (120 train / 40 test images) and a tiny
    California housing file, in the libraries' cache layouts."""
    root = tmp_path_factory.mktemp("data")
    write_tiny_idx_dataset(root)
    write_tiny_california(root)
    return root


def compose_config(
    overrides: Sequence[str], output_dir: Path, config_name: str = "train"
) -> DictConfig:
    """Compose a config as the entry point would, with the run folder set to ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=config_dir()):
        cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        del cfg.hydra
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path, tiny_data_dir: Path) -> Callable[..., DictConfig]:
    """``make_cfg("model=mlp", "data=iris")``: a composed train config for a tmp run dir,
    with the tiny dataset as data dir, quiet callbacks and no checkpoints unless asked."""

    def make(*overrides: str, config_name: str = "train") -> DictConfig:
        base = [f"paths.data_dir={tiny_data_dir}"]
        if config_name == "train":
            base += QUIET
        run_dir, n = tmp_path / "run", 2
        while run_dir.exists():  # a second run in one test gets its own folder
            run_dir, n = tmp_path / f"run_{n}", n + 1
        cfg = compose_config([*base, *overrides], run_dir, config_name)
        tiny_fashion = config_name == "train" and cfg.data.get("name") == "fashion_mnist"
        if tiny_fashion and not any(o.startswith("data.val_size=") for o in overrides):
            cfg.data.val_size = 20  # the tiny dataset has 120 training images
        return cfg

    return make


def start_train_script(*args: str) -> subprocess.Popen[str]:
    """Start ``scripts/train.py`` in the background (stdout and stderr merged), able to load
    test-only callbacks from ``tests/`` (e.g. ``+callbacks.stall._target_=stall.StallAtStep``)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "train.py"), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_train_script(*args: str, timeout: float = 240) -> tuple[int, str]:
    """Run ``scripts/train.py`` (test-only callbacks importable) to its end: the exit status
    and the merged output; the process is killed if it outlives ``timeout``."""
    proc = start_train_script(*args)
    try:
        output, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, output


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<script>`` in a subprocess, capturing its output."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


def wait_for_marker(marker: Path, proc: subprocess.Popen, seconds: float = 240) -> None:
    """Wait until a stalled training subprocess (``tests/stall.py``) writes ``marker``;
    fail with its output if it ends first, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"training ended before the kill point:\n{out}")
        if time.monotonic() > deadline:
            pytest.fail("training did not reach the kill point in time")
        time.sleep(0.2)


# fixtures defined beside their test data, shared by the test folders
from text_data import text_dir, trained_checkpoint  # noqa: E402, F401
