"""The classification task's training options (``model.task_options``): label smoothing of
the training loss and test-time flip averaging, which eval and predict must repeat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.export import export
from dlzoo.commands.train import train
from dlzoo.config.restore import restore
from dlzoo.data.spec import ClassificationSpec
from dlzoo.errors import ConfigError
from dlzoo.inference.inputs import predict_batch
from dlzoo.tasks import MulticlassTask
from image_data import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


class LeftHalf(nn.Module):
    """Logits that see only the left half of the image: a mirror changes them."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[..., :4].flatten(1))


def task(**options: object) -> MulticlassTask:
    spec = ClassificationSpec.numbered((1, 8, 8), 3)
    return MulticlassTask(net=LeftHalf(), optimizer=torch.optim.SGD, spec=spec, **options)


def test_flip_averaging_averages_the_mirror_outside_training_only() -> None:
    torch.manual_seed(0)
    module = task(flip_averaging=True)
    x, y = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    plain, mirrored = module.net(x), module.net(x.flip(-1))
    assert not torch.allclose(plain, mirrored)
    expected = (plain + mirrored) / 2
    torch.testing.assert_close(module.train().shared_step((x, y), "train").preds, plain)
    module.eval()
    torch.testing.assert_close(module.shared_step((x, y), "test").preds, expected)
    torch.testing.assert_close(module.predict_step(x, 0), expected.softmax(-1))
    seen: list[torch.Tensor] = []  # what the prediction figures' hook sees: the average
    module.register_forward_hook(lambda m, i, out: seen.append(out))
    module(x)
    torch.testing.assert_close(seen[-1], expected)


def test_label_smoothing_changes_the_training_loss_only() -> None:
    torch.manual_seed(0)
    module = task(label_smoothing=0.2)
    x, y = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    logits = module(x)
    train_loss = module.shared_step((x, y), "train").loss
    torch.testing.assert_close(train_loss, F.cross_entropy(logits, y, label_smoothing=0.2))
    torch.testing.assert_close(module.shared_step((x, y), "val").loss, F.cross_entropy(logits, y))
    for bad in (1.5, -0.1, float("nan"), True, "abc", None):
        with pytest.raises(ConfigError, match=r"label_smoothing=.*: a number in \[0, 1\)"):
            task(label_smoothing=bad)


def test_flip_averaging_is_true_or_false_and_needs_images() -> None:
    for bad in ("maybe", 1, None):
        with pytest.raises(ConfigError, match=r"flip_averaging=.*: true or false"):
            task(flip_averaging=bad)
    rows = ClassificationSpec.numbered((4,), 3)
    with pytest.raises(ConfigError, match="mirrors images; this data has none"):
        MulticlassTask(net=nn.Linear(4, 3), optimizer=torch.optim.SGD, spec=rows,
                       flip_averaging=True)  # fmt: skip


def test_eval_repeats_the_precision_a_bf16_run_tested_in(make_cfg) -> None:
    """A bf16 run's checkpoint evaluated in 32-bit differs in the fourth digit: eval takes
    the run's precision unless told otherwise."""
    cfg = make_cfg("model=mlp", "trainer.precision=bf16-mixed", "data.batch_size=16",
                   "trainer.max_epochs=1")  # fmt: skip
    record = train(cfg)
    assert record["precision"] == "bf16-mixed"  # the record says what its figures are in
    eval_cfg = make_cfg(f"ckpt_path={record['tested_checkpoint']}", config_name="eval")
    evaluated = evaluate(eval_cfg)
    assert evaluated["precision"] == "bf16-mixed"  # eval's record says what it ran in
    figures = evaluated["metrics"]
    assert figures["test/loss"] == pytest.approx(record["metrics"]["test/loss"], abs=1e-7)
    assert figures["test/acc"] == pytest.approx(record["metrics"]["test/acc"], abs=1e-7)


def test_a_run_with_both_options_evaluates_and_predicts_as_it_tested(
    make_cfg, tmp_path: Path
) -> None:
    """The user's path: train with the options, then eval.py on the named checkpoint gives
    the run's own test figures, and predict's probabilities are the flip-averaged ones."""
    cfg = make_cfg(
        "model=cnn_small",
        "+model.task_options.flip_averaging=true",
        "+model.task_options.label_smoothing=0.1",
        "data.batch_size=16",
        "trainer.max_epochs=2",
    )
    record = train(cfg)
    tested = record["metrics"]["test/acc"], record["metrics"]["test/loss"]
    eval_cfg = make_cfg(f"ckpt_path={record['tested_checkpoint']}", config_name="eval")
    figures = evaluate(eval_cfg)["metrics"]
    assert (figures["test/acc"], figures["test/loss"]) == pytest.approx(tested, abs=1e-6)
    restored = restore(record["tested_checkpoint"])
    assert restored.module.flip_averaging and restored.module.label_smoothing == 0.1
    x = torch.rand(4, 1, 28, 28)
    module = restored.module.eval()
    with torch.no_grad():
        expected = ((module(x) + module(x.flip(-1))) / 2).softmax(-1)
    torch.testing.assert_close(predict_batch(restored, x), expected)
    # the exported file holds the averaging too: it gives the logits the run scored
    out = Path(record["run_dir"]) / "exported.pt"
    export_cfg = make_cfg(f"ckpt_path={record['tested_checkpoint']}", "format=torchscript",
                          f"output={out}", config_name="export")  # fmt: skip
    path = export(export_cfg)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(path))(x), module(x))
    info = json.loads(Path(f"{path}.json").read_text())
    assert "averaged over the image and its mirror" in info["outputs"]
    ort = pytest.importorskip("onnxruntime")  # the export extra (the README's test command)
    onnx_cfg = make_cfg(f"ckpt_path={record['tested_checkpoint']}", "format=onnx",
                        f"output={out.with_suffix('.onnx')}", config_name="export")  # fmt: skip
    session = ort.InferenceSession(str(export(onnx_cfg)), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected_logits = module(x).numpy()
    got = session.run(None, {"input": x.numpy()})[0]
    assert abs(got - expected_logits).max() < 1e-4
    saved = json.loads((Path(record["run_dir"]) / "metrics.json").read_text())
    assert saved["metrics"]["test/acc"] == pytest.approx(tested[0])


@pytest.mark.parametrize("recipe", ["fashion_mnist_speedrun", "fashion_mnist_best"])
def test_the_fashion_mnist_speed_recipes_train_as_their_configs_say(make_cfg, recipe: str) -> None:
    """The speed recipes (docs/performance_notes.md) compose and train with what they name:
    bf16, mirrored training images (and crops, for the best), flip averaging at test."""
    cfg = make_cfg(f"experiment={recipe}", "trainer.max_epochs=1", "data.batch_size=16",
                   "++trainer.limit_train_batches=2")  # fmt: skip
    assert cfg.trainer.precision == "bf16-mixed" and cfg.data.augment.hflip == 0.5
    assert cfg.model.task_options.flip_averaging is True
    assert cfg.data.augment.get("crop_padding", 0) == (2 if recipe.endswith("best") else 0)
    record = train(cfg)
    assert record["status"] == "completed" and record["precision"] == "bf16-mixed"
    assert Path(record["run_dir"]).is_dir()
    # the classifier reads every position of the last stage's 7x7 maps (pooling=flatten)
    assert cfg.model.net.pooling == "flatten" and cfg.model.net.dropout == 0
    weights = torch.load(record["tested_checkpoint"], weights_only=False)["state_dict"]
    (classifier,) = [w for name, w in weights.items() if name.endswith("head.3.weight")]
    assert classifier.shape == (10, cfg.model.net.channels[-1] * 7 * 7)
