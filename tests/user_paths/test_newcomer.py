"""The newcomer path: a missing dataset names a package that exists and the variable to set;
a run's console holds no third-party adverts; a failed run leaves no event file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_script
from dlzoo.data.images import _missing_message
from dlzoo.data.sources import DEBIAN_PACKAGES, KNOWN_DEBIAN_PACKAGES, describe_error

FOLDERS = ("FashionMNIST", "MNIST", "KMNIST")


@pytest.mark.parametrize("folder", FOLDERS)
def test_missing_dataset_names_only_packages_that_exist(folder: str, tmp_path: Path) -> None:
    message = _missing_message(
        folder, tmp_path / folder / "raw", Path("/usr/share/datasets/x"), None
    )
    for package in re.findall(r"apt-get install ([\w.+-]+)", message):
        assert package in KNOWN_DEBIAN_PACKAGES, package
    assert f"export DLZOO_DATA_DIR=<folder that has {folder}/raw>" in message
    assert set(DEBIAN_PACKAGES.values()) <= KNOWN_DEBIAN_PACKAGES


def test_fashion_mnist_message_names_the_debian_package(tmp_path: Path) -> None:
    message = _missing_message("FashionMNIST", tmp_path, Path("/usr/share/x"), None)
    assert "apt-get install dataset-fashion-mnist" in message


def test_a_failed_download_prints_its_cause() -> None:
    # torchvision's message: a first line ending in a colon, the reasons on the next lines
    err = RuntimeError("Error downloading t.gz:\nTried https://m/, got:\n<urlopen error timed out>")
    assert describe_error(err).endswith("got: <urlopen error timed out>")
    try:
        try:
            raise OSError("network is unreachable")
        except OSError as cause:
            raise RuntimeError("") from cause
    except RuntimeError as wrapped:
        assert describe_error(wrapped) == "OSError: network is unreachable"
    assert not re.search(r":\s*\)", f"({describe_error(RuntimeError(''))})")


def test_train_console_has_no_adverts_and_a_failed_run_no_event_file(
    tiny_data_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = run_script(
        "train.py",
        f"paths.data_dir={tiny_data_dir}",
        "data.val_size=20",
        "model.net.hidden_sizes=[16]",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    for line in output.splitlines():
        assert not re.search(r"Tip:|litlogger|litmodels|Total FLOPs", line), line
        assert "LeafSpec" not in line, line
    assert "overrides: " in output and len(output.splitlines()) < 60

    failed = tmp_path / "failed"
    result = run_script(
        "train.py",
        f"paths.data_dir={tmp_path / 'nothing'}",
        "data.download=false",
        f"hydra.run.dir={failed}",
    )
    assert result.returncode == 2
    assert "FashionMNIST is not available" in result.stderr.strip().splitlines()[-1]
    assert "apt-get install dataset-fashion-mnist" in result.stderr
    assert not list(failed.rglob("events.out.tfevents.*"))
