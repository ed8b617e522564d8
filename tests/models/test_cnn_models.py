"""Image networks: every image model config builds and maps images to class scores;
parameter counts and layouts match the book's / torchvision's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from omegaconf import OmegaConf
from torch import nn

from dlzoo.cli import config_dir
from dlzoo.config.builders import build_network, check_input
from dlzoo.data.spec import ClassificationSpec
from dlzoo.errors import ConfigError, IncompatibleError
from dlzoo.models import CNNRNN, VGG, DenseNet, GoogLeNet, LeNet, ResNet, TorchvisionNet
from dlzoo.tasks import MulticlassTask
from image_data import one_thread  # noqa: F401  (fixture)

MODEL_DIR = Path(config_dir()) / "model"

pytestmark = pytest.mark.usefixtures("one_thread")


def image_model_configs() -> list[str]:
    """Every image classifier config (present or added later): image input, multiclass."""

    def classifies_images(cfg) -> bool:
        return cfg.get("input") == "image" and "multiclass" in (cfg.get("tasks") or ["multiclass"])

    return sorted(p.stem for p in MODEL_DIR.glob("*.yaml") if classifies_images(OmegaConf.load(p)))


def spec_for(model: str, channels: int, side: int) -> ClassificationSpec:
    """Images of ``side`` px, enlarged to the model's ``min_input_size`` where it has one."""
    side = max(side, OmegaConf.load(MODEL_DIR / f"{model}.yaml").get("min_input_size") or 0)
    return ClassificationSpec.numbered((channels, side, side), 10)


def test_the_zoo_is_there():
    expected = {
        "lenet",
        "lenet_modern",
        "alexnet",
        "vgg",
        "nin",
        "googlenet",
        "resnet",
        "densenet",
        "torchvision",
        "cnn_rnn",
    }
    assert expected <= set(image_model_configs())


@pytest.mark.parametrize("shape", [(1, 28), (3, 32)], ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("model", image_model_configs())
def test_forward_shape(model: str, shape: tuple[int, int]):
    torch.manual_seed(0)
    spec = spec_for(model, *shape)
    net = build_network(OmegaConf.load(MODEL_DIR / f"{model}.yaml"), spec, MulticlassTask).eval()
    x = torch.rand(2, *spec.input_shape)
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_lenet_has_the_books_parameter_count():
    assert count(LeNet([1, 28, 28], 10)) == 61_706


def test_resnet18_and_34_match_torchvision():
    for depth, builder in ((18, torchvision.models.resnet18), (34, torchvision.models.resnet34)):
        assert count(ResNet([3, 32, 32], 1000, depth=depth)) == count(builder())


def test_vgg_arch_and_width_divisor():
    net = VGG([1, 224, 224], 10, width_divisor=4)
    convs = [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [16, 32, 64, 64, 128, 128, 128, 128]  # VGG-11 / 4, as in the book
    assert net.classifier[0].in_features == 128 * 7 * 7


def test_googlenet_and_densenet_widths_match_the_book():
    assert GoogLeNet([1, 32, 32], 10).fc.in_features == 1024
    assert DenseNet([1, 32, 32], 10).fc.in_features == 248  # 64 -> 192 -> 96 ... -> 248


def test_cnn_rnn_uses_the_curriculums_sizes():
    net = CNNRNN([1, 28, 28], 10)
    assert net.rnn.input_size == 32 * 13 * 13 and net.rnn.hidden_size == 128
    rows = CNNRNN([1, 28, 28], 10, sequence="rows", rnn="lstm")
    assert rows.rnn.input_size == 32 * 13
    assert rows(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_too_small_images_are_refused_with_advice():
    model_cfg = OmegaConf.load(MODEL_DIR / "alexnet.yaml")
    spec = ClassificationSpec.numbered((1, 28, 28), 10)
    with pytest.raises(IncompatibleError, match="data.resize=65"):
        check_input(model_cfg, spec, "fashion_mnist")
    with pytest.raises(ConfigError, match="too small"):
        VGG([1, 16, 16], 10)


def test_case_16_tiny_ssd_on_too_small_canvases_stops_before_training(make_cfg):
    """Issue 31, case 16: data.image_size=16 ended in 110 lines of 'Output size is too small'.
    The hint names the data's own size option (detection data have image_size, no resize)."""
    from dlzoo.config.builders import build_task
    from dlzoo.data.spec import DetectionSpec

    spec = DetectionSpec((3, 16, 16), class_names=("banana",))
    cfg = make_cfg("model=ssd_tiny", "data=banana", "data.image_size=16")
    with pytest.raises(IncompatibleError, match=r"at least 64x64 .* set data.image_size=64"):
        build_task(cfg, spec)
    check_input(
        OmegaConf.load(MODEL_DIR / "ssd_tiny.yaml"), DetectionSpec((3, 64, 64), ("b",)), "b"
    )


def test_bad_options_name_the_value():
    with pytest.raises(ConfigError, match="model.net.depth=50"):
        ResNet([1, 32, 32], 10, depth=50)
    with pytest.raises(ConfigError, match="model.net.name='resnet9000'"):
        TorchvisionNet([1, 32, 32], 10, name="resnet9000")
    with pytest.raises(ConfigError, match="model.net.rnn='transformer'"):
        CNNRNN([1, 28, 28], 10, rnn="transformer")


def test_torchvision_model_adapts_channels_and_head():
    net = TorchvisionNet([1, 28, 28], 7, name="resnet18")
    assert net.net.conv1.in_channels == 1
    assert net.net.fc.out_features == 7
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 7)


def test_torchvision_weights_file_and_freeze(tmp_path: Path):
    torch.manual_seed(1)
    reference = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    net = TorchvisionNet(
        [3, 32, 32], 10, name="resnet18", weights_file=str(path), freeze_backbone=True
    )
    torch.testing.assert_close(net.net.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"net.fc.weight", "net.fc.bias"}
    # a grey-image model starts from the same filters, averaged over colour
    grey = TorchvisionNet([1, 32, 32], 10, name="resnet18", weights_file=str(path))
    torch.testing.assert_close(
        grey.net.conv1.weight, reference.conv1.weight.sum(1, keepdim=True) / 1
    )


def test_torchvision_model_with_a_fixed_input_size_names_resize():
    with pytest.raises(ConfigError, match="data.resize"):
        TorchvisionNet([3, 32, 32], 10, name="vit_b_16")  # ViT-B/16 takes 224 px only


def test_torchvision_missing_weights_file_is_a_config_error():
    with pytest.raises(ConfigError, match="weights_file"):
        TorchvisionNet([3, 32, 32], 10, weights_file="/nonexistent/resnet18.pth")


def test_cnn_small_takes_one_convolution_count_per_stage():
    """``convs_per_stage=[1, 2, 2]``: one convolution at full resolution, two after."""
    from dlzoo.models.cnn_small import CNNSmall

    net = CNNSmall((1, 28, 28), 10, channels=[16, 32, 64], convs_per_stage=[1, 2, 2])
    convs = [m for m in net.features if isinstance(m, nn.Sequential)]
    assert [c[0].out_channels for c in convs] == [16, 32, 32, 64, 64]
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    for bad in ([1, 2], [0, 1, 1], [1.5, 2, 2], True, "abc", [1, 2, 2, 3]):
        with pytest.raises(ConfigError, match=r"convs_per_stage=.*one per stage \(3 for"):
            CNNSmall((1, 28, 28), 10, channels=[16, 32, 64], convs_per_stage=bad)


def test_cnn_small_flatten_pooling_keeps_every_position():
    """``pooling=flatten``: the classifier takes every position of the last stage's maps
    (odd sizes floored by each pooling, like ``MaxPool2d``); anything else is named."""
    from dlzoo.models.cnn_small import CNNSmall

    flat = CNNSmall((1, 28, 28), 10, channels=[4, 8, 16], pooling="flatten")
    assert flat.head[-1].in_features == 16 * 7 * 7
    odd = CNNSmall((1, 30, 27), 10, channels=[4, 8, 16], pooling="flatten")  # 30->15->7, 27->13->6
    assert odd(torch.rand(2, 1, 30, 27)).shape == (2, 10)
    assert odd.head[-1].in_features == 16 * 7 * 6
    # channels-last training (the preset's memory format) runs through the flattened head
    last = flat.to(memory_format=torch.channels_last)
    x = torch.rand(3, 1, 28, 28).to(memory_format=torch.channels_last)
    last(x).sum().backward()

    avg = CNNSmall((1, 28, 28), 10, channels=[4, 8, 16])
    assert avg.head[-1].in_features == 16
    with pytest.raises(ConfigError, match=r"pooling='max': one of 'avg', 'flatten'"):
        CNNSmall((1, 28, 28), 10, channels=[4, 8, 16], pooling="max")
    # too many stages for the image: refused in one line for either pooling (avg used to
    # fail inside max pooling with a traceback), naming how many stages fit
    for pooling in ("avg", "flatten"):
        with pytest.raises(ConfigError, match=r"channels=\[4, 4, 4, 4, 4\]: its 4 poolings leave "
                           r"nothing of a 8x8 image; use at most 4 stages"):  # fmt: skip
            CNNSmall((1, 8, 8), 10, channels=[4, 4, 4, 4, 4], pooling=pooling)
        net = CNNSmall((1, 8, 8), 10, channels=[4, 4, 4, 4], pooling=pooling)  # 8->4->2->1
        assert net(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ConfigError, match=r"channels=\[\]: give at least one stage's width"):
        CNNSmall((1, 28, 28), 10, channels=[])
