"""Matplotlib figures of image-classifier predictions (headless, Agg backend)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # figures are written to TensorBoard/files, never shown
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import Tensor  # noqa: E402


def displayable(images: Tensor) -> np.ndarray:
    """(N, C, H, W) floats -> (N, H, W) or (N, H, W, 3) in [0, 1], each image min-max scaled
    if it is not already in [0, 1] (e.g. normalised images)."""
    x = images.detach().float().cpu()
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    if lo.min() < 0 or hi.max() > 1:
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
    arr = x.numpy()
    return arr[:, 0] if arr.shape[1] == 1 else arr[:, :3].transpose(0, 2, 3, 1)


def image_grid(
    images: Tensor, titles: Sequence[str], colors: Sequence[str] | None = None
) -> Figure:
    """A grid of images, each titled (e.g. ``"true / predicted"``)."""
    n = len(titles)
    cols = min(8, max(n, 1))
    rows = max(math.ceil(n / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    pics = displayable(images[:n]) if n else []
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(pics[i], cmap="gray" if pics[i].ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(titles[i], fontsize=7, color=(colors[i] if colors else "black"))
    fig.tight_layout()
    return fig


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted), counts written in cells."""
    k = len(class_names)
    size = max(4.0, 0.5 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        top = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                color = "white" if top and matrix[i, j] > top / 2 else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion matrix (accuracy {accuracy:.3f}, {int(matrix.sum())} images)")
    fig.tight_layout()
    return fig
