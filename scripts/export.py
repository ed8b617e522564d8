"""Export a checkpoint: ``python scripts/export.py ckpt_path=<ckpt> format=torchscript|onnx``."""

from dlzoo.cli import export_main

if __name__ == "__main__":
    export_main()
