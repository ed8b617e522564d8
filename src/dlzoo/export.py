"""Export a trained network to TorchScript or ONNX, with a JSON sidecar of its preprocessing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from dlzoo.data.spec import RegressionSpec
from dlzoo.errors import ConfigError
from dlzoo.restore import Restored, restore

log = logging.getLogger(__name__)

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}


def preprocessing_info(model: Restored) -> dict[str, Any]:
    """What a user of the exported file must do to raw inputs, and how to read its outputs:
    the constants the training run fitted (scalers, one-hot columns, vocabulary) included."""
    dm, spec = model.datamodule, model.spec
    info: dict[str, Any] = {
        "input_shape": list(spec.input_shape),
        "task": model.module.task,
        "class_names": list(model.class_names),
    }
    if isinstance(spec, RegressionSpec):
        info["outputs"] = "values: multiply by target_std and add target_mean"
        info["target_mean"], info["target_std"] = spec.target_mean, spec.target_std
    else:
        info["outputs"] = "logits, one per class_names entry"
    if spec.is_image:
        info.update(
            resize=getattr(dm, "resize", None),
            mean=getattr(dm, "mean", None),
            std=getattr(dm, "std", None),
            pixels="float in [0, 1] (uint8 / 255), then resize, then (x - mean) / std",
        )
    fitted = dm.state_dict()
    if fitted:
        info["fitted_preprocessing"] = fitted
    return info


def export(cfg: DictConfig) -> Path:
    """Write ``cfg.ckpt_path``'s network as ``cfg.format`` to ``cfg.output`` (or next to the
    checkpoint); returns the written path. The file takes a batch of preprocessed inputs of
    the training input shape and returns the network's raw outputs (logits)."""
    fmt = str(cfg.get("format", "torchscript")).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt!r}: choose one of {list(FORMATS)}")
    model = restore(
        cfg.ckpt_path, data_dir=cfg.paths.get("data_dir"), trust=cfg.get("trust_checkpoint", False)
    )
    out = Path(cfg.output) if cfg.get("output") else model.checkpoint_path.with_suffix(FORMATS[fmt])
    out.parent.mkdir(parents=True, exist_ok=True)
    net = model.module.exportable_net().eval()
    example = model.module.example_input()
    if fmt == "torchscript":
        with torch.no_grad():
            scripted = torch.jit.trace(net, example)
        scripted.save(str(out))
    else:
        free = dict(model.module.export_free_dims)
        export_onnx(net, example, out, int(cfg.get("opset", 17)), free)
    sidecar = out.with_suffix(out.suffix + ".json")
    sidecar.write_text(json.dumps(preprocessing_info(model), indent=2))
    log.info("exported %s to %s (preprocessing in %s)", fmt, out, sidecar)
    print(out)
    return out


def export_onnx(
    net: torch.nn.Module,
    example: torch.Tensor,
    out: Path,
    opset: int,
    free_dims: dict[int, str] | None = None,
) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConfigError(
            "format=onnx needs the onnx package: pip install 'dlzoo[export]'"
        ) from None
    with torch.no_grad():
        torch.onnx.export(
            net,
            (example,),
            str(out),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": free_dims or {0: "batch"}, "output": free_dims or {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
