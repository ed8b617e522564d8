"""The detection recipe on real Fashion-MNIST items (slow: ~8-12 min on a shared 2-core CPU).

Run with ``DLZOO_DATA_DIR=<the folder holding the datasets> pytest -m slow tests/accuracy/test_detection_slow.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import run_script

DATA_DIR = os.environ.get("DLZOO_DATA_DIR", "")


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(DATA_DIR) / "FashionMNIST" / "raw").is_dir(),
    reason="needs the real Fashion-MNIST: set DLZOO_DATA_DIR",
)
def test_ssd_tiny_recipe_reaches_map50_in_15_minutes(tmp_path):
    started = time.perf_counter()
    done = run_script(
        "train.py", "experiment=detection_ssd_tiny", f"hydra.run.dir={tmp_path}",
        "callbacks.progress_bar.enabled=false", timeout=1800,
    )  # fmt: skip
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["metrics"]["test/map_50"] >= 0.6
    assert wall <= 15 * 60
