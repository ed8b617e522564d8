"""MNIST handwritten digits, read like Fashion-MNIST (same IDX files, same layout)."""

from __future__ import annotations

from typing import Any

from dlzoo.data.images import IdxImageDataModule


class MNISTDataModule(IdxImageDataModule):
    """MNIST (LeCun et al.): 60k train / 10k test 28x28 grey images of the digits 0-9.

    Looked up offline first in ``<data_dir>/MNIST/raw`` (torchvision's cache layout: the four
    IDX files, plain or ``.gz``), then downloaded by torchvision when ``download`` is true.
    """

    folder = "MNIST"
    class_names = tuple(str(d) for d in range(10))

    def __init__(self, *args: Any, system_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, system_dir=system_dir, **kwargs)
