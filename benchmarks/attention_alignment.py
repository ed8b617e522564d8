"""Does a Bahdanau model's attention follow the sentence? For each validation sentence (of
4+ target tokens) under teacher forcing, the correlation between the output step and the
attention-weighted source position; printed as the mean and median over the sentences.

    python benchmarks/attention_alignment.py <checkpoint or run folder> [--batches 4]

Near +1: the attention moves along the source as the output goes on (an alignment); near 0
or below: it does not (docs/sequence_to_sequence.md, "How the GRU recipe was chosen").
Needs the training data (the validation split) and ``DLZOO_DATA_DIR`` as for training.
"""

from __future__ import annotations

import argparse

import torch

from dlzoo.config.restore import restore


def alignment_correlations(ckpt_path: str, batches: int) -> list[float]:
    restored = restore(ckpt_path)
    task, net, dm = restored.module, restored.module.net, restored.datamodule
    dm.prepare_data()
    dm.setup("validate")
    correlations: list[float] = []
    with torch.no_grad():
        for i, (src, src_len, tgt, tgt_len) in enumerate(dm.val_dataloader()):
            if i == batches:
                break
            state = net.begin(src, src_len)
            dec_in = torch.cat([torch.full_like(tgt[:, :1], task.bos), tgt[:, :-1]], dim=1)
            weights = []
            for t in range(dec_in.shape[1]):
                _, state, w = net.step(dec_in[:, t], state)
                if w is None or w.ndim != 2:
                    raise SystemExit(f"{ckpt_path}: not a Bahdanau (seq2seq_attention) model")
                weights.append(w)
            positions = torch.arange(src.shape[1], dtype=torch.float)
            expected = (torch.stack(weights, dim=1) * positions).sum(-1)  # (b, steps)
            for row, n in zip(expected, tgt_len.tolist(), strict=True):
                if n < 4:
                    continue
                pair = torch.stack([row[:n], torch.arange(n, dtype=torch.float)])
                c = torch.corrcoef(pair)[0, 1]
                if torch.isfinite(c):
                    correlations.append(float(c))
    return correlations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt_path", help="a seq2seq_attention checkpoint or run folder")
    parser.add_argument("--batches", type=int, default=4, help="validation batches to read")
    args = parser.parse_args()
    found = torch.tensor(alignment_correlations(args.ckpt_path, args.batches))
    print(
        f"{len(found)} sentences: correlation of output step and attended source position "
        f"mean {found.mean():+.2f}, median {found.median():+.2f}"
    )


if __name__ == "__main__":
    main()
