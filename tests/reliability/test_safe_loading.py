"""Checkpoints are loaded with ``weights_only=True``: a file that needs arbitrary unpickling
(which can run code) is refused unless ``trust_checkpoint=true``."""

from __future__ import annotations

import argparse
import os
import pathlib
from pathlib import Path

import pytest
import torch

from conftest import compose_config
from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.train import train
from dlzoo.config.checkpoints import load_checkpoint
from dlzoo.errors import ConfigError

TINY = [
    "data.val_size=20",
    "data.batch_size=20",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.num_sanity_val_steps=0",
    "model.net.hidden_sizes=[16]",
    "print_config=false",
    "callbacks.progress_bar.enabled=false",
    "callbacks.model_summary.enabled=false",
    "test=false",
]


class Payload:
    """Unpickling this runs ``Path(marker).write_text("pwned")``: any code could run instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.write_text, (pathlib.Path(self.marker), "pwned"))


@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("trained")
    train(compose_config([*TINY, f"paths.data_dir={tiny_data_dir}"], run_dir))
    return run_dir / "checkpoints" / "last.ckpt"


def _with_extra(checkpoint: Path, dest: Path, **extra: object) -> Path:
    content = torch.load(checkpoint, weights_only=True)
    content.update(extra)
    torch.save(content, dest)
    return dest


def test_a_normal_checkpoint_loads_and_evaluates_with_weights_only(
    real_checkpoint: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    assert "state_dict" in load_checkpoint(real_checkpoint)  # trust=False
    cfg = compose_config(
        [
            f"ckpt_path={real_checkpoint}",
            f"paths.data_dir={tiny_data_dir}",
            "trainer.accelerator=cpu",
        ],
        tmp_path,
        config_name="eval",
    )
    record = evaluate(cfg)
    assert record["status"] == "completed" and 0.0 <= record["metrics"]["test/acc"] <= 1.0


def test_a_malicious_checkpoint_is_refused_and_runs_no_code(
    real_checkpoint: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    evil = _with_extra(real_checkpoint, tmp_path / "evil.ckpt", payload=Payload(marker))

    with pytest.raises(ConfigError, match=r"refusing to load .*evil\.ckpt.*trust_checkpoint=true"):
        load_checkpoint(evil)
    cfg = compose_config(
        [f"ckpt_path={evil}", f"paths.data_dir={tiny_data_dir}", "trainer.accelerator=cpu"],
        tmp_path / "eval",
        config_name="eval",
    )
    with pytest.raises(ConfigError, match="refusing to load"):
        evaluate(cfg)
    # resuming training from it is refused the same way
    train_cfg = compose_config(
        [*TINY, f"paths.data_dir={tiny_data_dir}", f"ckpt_path={evil}"], tmp_path / "train"
    )
    with pytest.raises(ConfigError, match=r"refusing to load .*evil\.ckpt"):
        train(train_cfg)
    assert not marker.exists()  # nothing was executed

    # the danger is real: full unpickling runs the payload
    load_checkpoint(evil, trust=True)
    assert marker.read_text() == "pwned"


def test_trust_checkpoint_loads_a_checkpoint_with_python_objects(
    real_checkpoint: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    """A checkpoint from an older tool that pickled, say, its argparse namespace."""
    legacy = _with_extra(
        real_checkpoint, tmp_path / "legacy.ckpt", hparams=argparse.Namespace(lr=0.1)
    )
    with pytest.raises(ConfigError, match="refusing to load"):
        load_checkpoint(legacy)
    assert load_checkpoint(legacy, trust=True)["hparams"].lr == 0.1
    cfg = compose_config(
        [
            f"ckpt_path={legacy}",
            f"paths.data_dir={tiny_data_dir}",
            "trainer.accelerator=cpu",
            "trust_checkpoint=true",
        ],
        tmp_path,
        config_name="eval",
    )
    assert evaluate(cfg)["status"] == "completed"


@pytest.mark.parametrize("trust", [False, True])
@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"not a checkpoint\n" * 20, b""],
    ids=["random-bytes", "text", "empty"],
)
def test_a_corrupt_file_is_called_corrupt_never_trusted(
    tmp_path: Path, content: bytes, trust: bool
) -> None:
    """No advice to unpickle a file that is not a checkpoint in the first place."""
    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(content)
    with pytest.raises(ConfigError, match="not a PyTorch checkpoint") as err:
        load_checkpoint(bad, trust=trust)
    assert "trust_checkpoint" not in str(err.value)


def test_a_truncated_checkpoint_is_called_corrupt(tmp_path: Path) -> None:
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, good)
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ConfigError, match="corrupt") as err:
        load_checkpoint(cut)
    assert "trust_checkpoint" not in str(err.value)
