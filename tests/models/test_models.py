"""Networks: forward shapes, options and initialisation."""

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models import MLP, Linear
from dlzoo.models.init import initialize


@pytest.mark.parametrize("shape", [(4,), (1, 28, 28), (3, 8, 8)])
def test_linear_flattens_any_input(shape: tuple[int, ...]) -> None:
    net = Linear(shape, 3)
    assert net(torch.randn(5, *shape)).shape == (5, 3)


def test_mlp_shapes_and_layers() -> None:
    net = MLP(
        (1, 28, 28), 10, hidden_sizes=[32, 16], activation="tanh", dropout=0.1, batch_norm=True
    )
    assert net(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    kinds = [type(m) for m in net.layers]
    assert kinds.count(nn.Linear) == 3 and kinds.count(nn.BatchNorm1d) == 2
    assert kinds.count(nn.Tanh) == 2 and kinds.count(nn.Dropout) == 2


def test_mlp_without_hidden_layers_is_linear() -> None:
    net = MLP((8,), 1, hidden_sizes=[])
    assert sum(p.numel() for p in net.parameters()) == 9


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softplus", "gelu"])
def test_mlp_activations(activation: str) -> None:
    assert MLP((2,), 2, hidden_sizes=[4], activation=activation)(torch.randn(3, 2)).shape == (3, 2)


def test_mlp_rejects_bad_options() -> None:
    with pytest.raises(ConfigError, match="activation='swishy'.*choose one of"):
        MLP((2,), 2, activation="swishy")
    with pytest.raises(ConfigError, match=r"dropout=1.5: must be in \[0, 1\)"):
        MLP((2,), 2, dropout=1.5)


def test_normal_init_matches_the_curriculum_recipe() -> None:
    torch.manual_seed(0)
    net = MLP((100,), 50, hidden_sizes=[200])
    initialize(net, "normal", std=0.01, bias=0.0)
    weights = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, nn.Linear)])
    biases = torch.cat([m.bias for m in net.modules() if isinstance(m, nn.Linear)])
    assert abs(weights.std().item() - 0.01) < 0.001
    assert torch.count_nonzero(biases) == 0


def test_unknown_init_scheme() -> None:
    with pytest.raises(ConfigError, match="scheme='magic'"):
        initialize(Linear((2,), 1), "magic")
