"""Export a trained network to TorchScript or ONNX, with a JSON sidecar of its preprocessing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from dlzoo.config.restore import restore
from dlzoo.errors import ConfigError

log = logging.getLogger(__name__)

FORMATS = {"torchscript": ".pt", "onnx": ".onnx", "huggingface": "_huggingface"}


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
    if fmt == "huggingface":
        return export_huggingface(model.module, out)
    info = model.module.export_info(model.datamodule)  # says plainly what is not supported
    net = model.module.exportable_net().eval()
    try:
        if out.is_dir():
            raise IsADirectoryError(21, "it is a folder; give a file name")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_network(net, model.module, out, fmt, cfg.get("opset", 17))
        sidecar = out.with_suffix(out.suffix + ".json")
        sidecar.write_text(json.dumps(info, indent=2))
    except OSError as err:
        raise ConfigError(f"output={str(out)!r}: cannot write it ({err.strerror})") from None
    log.info("exported %s to %s (preprocessing in %s)", fmt, out, sidecar)
    print(out)
    return out


def export_huggingface(task: Any, out: Path) -> Path:
    """A folder that Hugging Face's ``transformers`` loads, written by the task (BERT's)."""
    writer = getattr(task, "write_huggingface", None)
    if writer is None:
        raise ConfigError(
            f"format=huggingface: a {task.task} checkpoint has no Hugging Face counterpart "
            f"(BERT pretraining checkpoints do); export it with format=torchscript or onnx"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output={str(out)!r}: format=huggingface writes a folder; it is a file")
    try:
        writer(out)
    except OSError as err:
        raise ConfigError(f"output={str(out)!r}: cannot write it ({err.strerror})") from None
    log.info("exported a Hugging Face folder to %s", out)
    print(out)
    return out


def write_network(net: torch.nn.Module, task: Any, out: Path, fmt: str, opset: Any) -> None:
    """The traced network as TorchScript, or ONNX at ``opset``."""
    example = task.example_input()
    if fmt == "torchscript":
        with torch.no_grad():
            scripted = torch.jit.trace(net, example)
        try:
            scripted.save(str(out))
        except RuntimeError as err:  # torch reports an unwritable file this way
            raise OSError(13, str(err).splitlines()[0]) from None
        return
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise ConfigError(f"opset={opset!r}: must be an integer ONNX opset version, e.g. 17")
    try:
        export_onnx(net, example, out, opset, dict(task.export_free_dims), task.export_output_names)
    except (RuntimeError, ValueError) as err:
        if "opset" not in str(err).lower():
            raise
        raise ConfigError(
            f"opset={opset}: {str(err).splitlines()[0]} (17 is the default)"
        ) from None


def export_onnx(
    net: torch.nn.Module,
    example: torch.Tensor,
    out: Path,
    opset: int,
    free_dims: dict[int, str] | None = None,
    output_names: tuple[str, ...] = ("output",),
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
            output_names=list(output_names),
            dynamic_axes={name: free_dims or {0: "batch"} for name in ("input", *output_names)},
            opset_version=opset,
            dynamo=False,
        )
