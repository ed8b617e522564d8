"""Every valid model x small-dataset pair learns with nothing but ``model=M data=D``
(``benchmarks/defaults_learn.py``; needs DLZOO_DATA_DIR for California and Kaggle)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_plain_defaults_beat_their_baselines(tmp_path: Path) -> None:
    if not os.environ.get("DLZOO_DATA_DIR"):
        pytest.fail("set DLZOO_DATA_DIR to the dataset mirror (California, Kaggle house)")
    from benchmarks.defaults_learn import main

    results = main(["--out", str(tmp_path / "defaults.md")])
    missed = [
        f"{r.data} x {r.model}: {r.metric}={r.value:.4f} < {r.wanted:.4f}"
        for r in results
        if not r.ok
    ]
    assert not missed, "\n".join(missed)
    assert len(results) == 17
