"""Prediction figures reach TensorBoard: the event file holds the three image tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dlzoo.commands.train import train
from image_data import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

TAGS = ("predictions", "confusion_matrix", "most_confident_wrong")


def image_tags(run_dir: Path) -> set[str]:
    events = sorted((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, f"no TensorBoard event file under {run_dir}"
    tags: set[str] = set()
    for path in events:
        acc = EventAccumulator(str(path), size_guidance={"images": 0})
        acc.Reload()
        tags |= set(acc.Tags()["images"])
    return tags


def test_validation_and_test_figures_are_logged(make_cfg):
    cfg = make_cfg(
        "model=lenet_modern",
        "data.val_size=20",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "trainer.num_sanity_val_steps=0",
    )
    train(cfg)
    tags = image_tags(Path(cfg.paths.output_dir))
    # an untrained model on 10 classes is wrong on some of 20 images, so all three appear
    for stage in ("val", "test"):
        for tag in TAGS:
            assert f"{stage}/{tag}" in tags, sorted(tags)


def test_figures_can_be_switched_off(make_cfg):
    cfg = make_cfg(
        "model=lenet_modern",
        "data.val_size=20",
        "trainer.max_epochs=1",
        "callbacks.image_predictions.enabled=false",
    )
    train(cfg)
    assert not image_tags(Path(cfg.paths.output_dir))


def test_no_figures_for_tabular_data(make_cfg):
    cfg = make_cfg("model=mlp", "data=iris", "trainer.max_epochs=1")
    train(cfg)
    assert not image_tags(Path(cfg.paths.output_dir))
