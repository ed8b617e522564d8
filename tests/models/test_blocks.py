"""The reusable CNN blocks: output shapes, channel bookkeeping, skip paths."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlzoo.models.blocks import DenseBlock, Inception, NiNBlock, Residual, Transition, VGGBlock
from image_data import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_vgg_block_convs_and_halving():
    block = VGGBlock(num_convs=2, in_channels=3, out_channels=8)
    assert sum(isinstance(m, nn.Conv2d) for m in block) == 2
    assert block(torch.randn(2, 3, 16, 16)).shape == (2, 8, 8, 8)


def test_nin_block_has_two_pointwise_convs():
    block = NiNBlock(1, 16, kernel_size=5, stride=1, padding=2)
    convs = [m for m in block if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (1, 1), (1, 1)]
    assert block(torch.randn(2, 1, 12, 12)).shape == (2, 16, 12, 12)


def test_inception_concatenates_four_paths():
    block = Inception(192, 64, (96, 128), (16, 32), 32)  # GoogLeNet's first block
    assert block.out_channels == 256
    assert block(torch.randn(2, 192, 7, 7)).shape == (2, 256, 7, 7)


def test_residual_identity_and_projection():
    same = Residual(8, 8)
    assert isinstance(same.shortcut, nn.Identity)
    assert same(torch.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)
    down = Residual(8, 16, stride=2)
    assert not isinstance(down.shortcut, nn.Identity)
    assert down(torch.randn(2, 8, 6, 6)).shape == (2, 16, 3, 3)


def test_residual_adds_its_input():
    """With the residual branch zeroed, the block is ReLU(x): the skip really is added."""
    block = Residual(4, 4).eval()
    nn.init.zeros_(block.bn2.weight)
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_dense_block_grows_channels_and_keeps_input():
    block = DenseBlock(num_convs=2, in_channels=3, growth_rate=10)
    x = torch.randn(2, 3, 8, 8)
    y = block(x)
    assert block.out_channels == 23 and y.shape == (2, 23, 8, 8)
    torch.testing.assert_close(y[:, :3], x)  # the input passes through unchanged


def test_transition_halves_size():
    assert Transition(23, 11)(torch.randn(2, 23, 8, 8)).shape == (2, 11, 4, 4)
