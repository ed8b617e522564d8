"""Draw Nadaraya-Watson fits: ``python scripts/nadaraya_watson_figure.py <sweep dir> <out.png>``.

Reads the ``experiment=nadaraya_watson`` sweep's checkpoints (rebuilt with ``dlzoo.config.restore``):
left, the training data, the true curve and each estimator's fit; right, each estimator's
attention weights (test queries x training keys) as a heatmap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from dlzoo.config.restore import restore  # noqa: E402
from dlzoo.data.synthetic import NWRegressionDataModule  # noqa: E402


def main(sweep: Path, out: Path) -> None:
    runs = sorted(p for p in sweep.iterdir() if (p / "checkpoints" / "last.ckpt").is_file())
    fig, axes = plt.subplots(1, 1 + len(runs), figsize=(5 + 4 * len(runs), 4))
    x = torch.arange(0, 5, 0.1).unsqueeze(1)
    axes[0].plot(x, NWRegressionDataModule.truth(x), "k--", label="truth")
    for i, run in enumerate(runs, 1):
        net = restore(run / "checkpoints" / "last.ckpt").module.net
        with torch.no_grad():
            y = net(x)
        learnable = isinstance(net.w, torch.nn.Parameter)
        name = f"{'learned' if learnable else 'fixed'} width w={float(net.w.detach()):.2f}"
        axes[0].plot(x, y, label=name)
        image = axes[i].imshow(net.attention_weights, cmap="Reds", aspect="auto")
        axes[i].set(title=name, xlabel="training input (sorted)", ylabel="test input")
        fig.colorbar(image, ax=axes[i])
        keys = net.keys
    axes[0].plot(keys, net.values, "o", alpha=0.5, label="training data")
    axes[0].set(xlabel="x", ylabel="y", title="Nadaraya-Watson attention pooling")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
