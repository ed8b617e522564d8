"""Attention heatmaps: which source tokens each output token looked at.

matplotlib (token labels on both axes need real text layout); a few figures per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import Tensor  # noqa: E402


def attention_figure(
    weights: Tensor,
    source: Sequence[str],
    output: Sequence[str],
    title: str = "",
) -> Figure:
    """``weights`` ``(steps, src)`` (one panel) or ``(steps, heads, src)`` (a panel per
    head); rows are labelled with the output tokens, columns with the source tokens (padding
    columns beyond ``source`` are cut: their weight is 0)."""
    w = weights.detach().float().cpu()
    if w.ndim == 2:
        w = w.unsqueeze(1)
    w = w[:, :, : len(source)]
    steps, heads, src = w.shape
    source, output = list(source)[:src], list(output)[:steps]
    cell = 0.32
    fig, axes = plt.subplots(
        1,
        heads,
        figsize=(max(2.5, cell * src + 1.6) * heads, max(2.2, cell * steps + 1.4)),
        squeeze=False,
        layout="constrained",  # room for the rotated tokens, titles and colour bar
    )
    for h in range(heads):
        ax = axes[0, h]
        image = ax.imshow(w[:, h].numpy(), cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(source)), source, rotation=90, fontsize=8)
        ax.set_xlabel("source")
        if h == 0:  # the rows are the same output tokens in every head's panel
            ax.set_yticks(range(len(output)), output, fontsize=8)
            ax.set_ylabel("output")
        else:
            ax.set_yticks(range(len(output)), [""] * len(output))
        if heads > 1:
            ax.set_title(f"head {h + 1}", fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
