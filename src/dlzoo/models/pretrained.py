"""Any ``torchvision.models`` constructor, adapted to the data's channels and classes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from dlzoo.errors import ConfigError
from dlzoo.models.shapes import image_shape, output_shape


def _set_module(root: nn.Module, dotted: str, module: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def _last_of(net: nn.Module, kind: type[nn.Module], first: bool = False) -> tuple[str, nn.Module]:
    found = [(n, m) for n, m in net.named_modules() if isinstance(m, kind)]
    if not found:
        raise ConfigError(f"{type(net).__name__} has no {kind.__name__} layer to adapt")
    return found[0] if first else found[-1]


def adapt_input_channels(net: nn.Module, channels: int) -> None:
    """Give the first conv ``channels`` input channels; pretrained RGB filters are averaged
    over their colour channels and repeated, so a grey image sees the same filter response
    its RGB copy would (up to scale)."""
    name, conv = _last_of(net, nn.Conv2d, first=True)
    assert isinstance(conv, nn.Conv2d)
    if conv.in_channels == channels:
        return
    new = nn.Conv2d(
        channels,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        mean = conv.weight.mean(dim=1, keepdim=True)
        new.weight.copy_(mean.repeat(1, channels, 1, 1) * conv.in_channels / channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)  # type: ignore[union-attr]
    _set_module(net, name, new)


def replace_head(net: nn.Module, num_outputs: int) -> nn.Linear:
    """Replace the last ``nn.Linear`` (``fc``, ``classifier[-1]``, ``heads.head`` ...) by a
    fresh one with ``num_outputs`` outputs, as when fine-tuning on a new dataset."""
    name, old = _last_of(net, nn.Linear)
    assert isinstance(old, nn.Linear)
    head = nn.Linear(old.in_features, num_outputs)
    _set_module(net, name, head)
    return head


class TorchvisionNet(nn.Module):
    """A ``torchvision.models`` network by name, adapted to this dataset.

    The first convolution is rebuilt for the data's channel count and the last dense layer
    for its classes (the curriculum's "resnet18 with ``fc`` replaced").

    Args:
        name: a name ``torchvision.models.list_models()`` knows, e.g. ``resnet18``.
        weights: ``null`` (random init, works offline) or a torchvision weights name such as
            ``DEFAULT`` / ``IMAGENET1K_V1`` (needs the file in torch's cache or a download).
        weights_file: a local ``state_dict`` file for the unmodified network (e.g. a
            downloaded ``resnet18-f37072fd.pth``); loaded with ``weights_only=True``.
        freeze_backbone: train only the new output layer (and a rebuilt first conv).
        options: extra keyword arguments for the torchvision constructor.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        name: str = "resnet18",
        weights: str | None = None,
        weights_file: str | None = None,
        freeze_backbone: bool = False,
        options: dict | None = None,
    ) -> None:
        super().__init__()
        import torchvision

        channels, _, _ = image_shape(input_shape, "torchvision")
        known = torchvision.models.list_models(module=torchvision.models)
        if name not in known:
            raise ConfigError(
                f"model.net.name={name!r} is not a torchvision classification model; "
                f"choose one of {', '.join(sorted(known))}"
            )
        if weights is not None and weights_file is not None:
            raise ConfigError("model.net.weights and model.net.weights_file: give one, not both")
        try:
            net = torchvision.models.get_model(name, weights=weights, **(options or {}))
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"model.net.name={name}, weights={weights!r}: {err}") from None
        except OSError as err:  # includes network errors from the weights download
            raise ConfigError(
                f"cannot get the {weights} weights of {name} ({err}); without internet put the "
                f"file in torch's cache (TORCH_HOME) or set model.net.weights_file"
            ) from None
        if weights_file is not None:
            path = Path(weights_file)
            if not path.is_file():
                raise ConfigError(f"model.net.weights_file={weights_file!r}: no such file")
            state = torch.load(path, map_location="cpu", weights_only=True)
            try:
                net.load_state_dict(state.get("state_dict", state))
            except RuntimeError as err:
                raise ConfigError(
                    f"model.net.weights_file={weights_file!r} does not fit {name}: "
                    f"{str(err).splitlines()[0]}"
                ) from None
        if freeze_backbone:
            for p in net.parameters():
                p.requires_grad_(False)
        adapt_input_channels(net, channels)  # rebuilt layers are new, so they train
        replace_head(net, num_outputs)
        output_shape(net, input_shape, f"torchvision (name={name})")  # fail early on bad sizes
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        # a few torchvision models return (logits, aux logits) in training mode
        return out[0] if isinstance(out, tuple) else out
