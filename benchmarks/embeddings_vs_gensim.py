"""Word embeddings against gensim, the anchor of the book's 15.1-15.7: gensim's optimised
``Word2Vec`` (C, 2 worker threads) and dlzoo's recipes on the same corpus, split, vocabulary
and settings, scored by the same evaluations; one table of all of them into the docs.

    python benchmarks/embeddings_vs_gensim.py [--experiments word2vec_skipgram,glove]
        [--epochs N] [--no-docs]   -> docs/word_embeddings.md (between the table markers)

Each dlzoo row is the whole command ``python scripts/train.py experiment=<name>`` (its
test figures from ``metrics.json``: the checkpoint ``val/loss`` picked); gensim's row reads
the same training sentences through dlzoo's datamodule and trains skip-gram with negative
sampling with the skip-gram recipe's settings (dimensions, window, noise words, min_freq,
subsampling, epochs). Run it on a quiet machine: the wall times are part of the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/embeddings_vs_gensim.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DOCS, REPO, machine, others_running, train_config, utc_now  # noqa: E402

EXPERIMENTS = ("word2vec_skipgram", "word2vec_cbow", "word2vec_hs", "glove", "fasttext")
DOC = DOCS / "word_embeddings.md"
START, END = "<!-- embeddings-table:start -->", "<!-- embeddings-table:end -->"
PROBE = "chip"  # the book's 15.7 example


def gensim_row(epochs: int | None) -> dict[str, Any]:
    """gensim's skip-gram on dlzoo's training sentences, with the skip-gram recipe's
    settings; timed from reading the corpus to the trained vectors."""
    import torch
    from gensim.models import Word2Vec as GensimWord2Vec

    from dlzoo.config.builders import build_datamodule
    from dlzoo.inference.word_vectors import WordVectors, evaluate_vectors

    cfg = train_config(("experiment=word2vec_skipgram",))
    start = time.perf_counter()
    sentences = build_datamodule(cfg.data).sentences()["train"]
    epochs = epochs or int(cfg.trainer.max_epochs)
    model = GensimWord2Vec(
        sentences,
        vector_size=int(cfg.model.net.embedding_dim),
        window=int(cfg.data.max_window_size),
        negative=int(cfg.model.net.num_noise),
        sample=float(cfg.data.subsample_threshold),
        min_count=int(cfg.data.min_freq),
        sg=1,
        epochs=epochs,
        workers=2,
        seed=0,
    )
    seconds = time.perf_counter() - start
    vectors = WordVectors(list(model.wv.index_to_key), torch.from_numpy(model.wv.vectors))
    words = sum(len(s) for s in sentences) * epochs
    return {
        "name": "gensim skip-gram (C, 2 workers)",
        "command": f"gensim.models.Word2Vec(sg=1, epochs={epochs}, workers=2, ...)",
        "scores": evaluate_vectors(vectors),
        "seconds": seconds,
        "words_per_second": words / seconds,
        "nearest": [w for w, _ in vectors.similar(PROBE, 5)]
        if vectors.find(PROBE) is not None
        else [],
        "vocabulary": len(vectors),
    }


def dlzoo_row(experiment: str, epochs: int | None) -> dict[str, Any]:
    """The whole training command, then the nearest words from its checkpoint."""
    from dlzoo.commands.embeddings import load_vectors

    with tempfile.TemporaryDirectory(prefix="dlzoo-emb-") as tmp:
        argv = [f"experiment={experiment}", f"hydra.run.dir={tmp}/run"]
        if epochs:
            argv.append(f"trainer.max_epochs={epochs}")
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "train.py"), *argv],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(
                f"experiment={experiment} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        metrics = json.loads(Path(tmp, "run", "metrics.json").read_text())
        vectors = load_vectors(f"{tmp}/run")
        nearest = (
            [w for w, _ in vectors.similar(PROBE, 5)] if vectors.find(PROBE) is not None else []
        )
    scores = {k.removeprefix("test/"): v for k, v in metrics["metrics"].items()
              if k.startswith("test/")}  # fmt: skip
    cfg = train_config((f"experiment={experiment}",))
    trained_epochs = epochs or int(cfg.trainer.max_epochs)
    words = metrics.get("data_source", {}).get("train_words")
    return {
        "name": f"dlzoo `experiment={experiment}`",
        "command": "python scripts/train.py " + " ".join(a for a in argv if "hydra.run" not in a),
        "scores": scores,
        "seconds": seconds,
        "words_per_second": (words * trained_epochs / seconds) if words else None,
        "nearest": nearest,
        "vocabulary": len(vectors),
    }


def table(rows: list[dict[str, Any]]) -> str:
    def cell(scores: dict[str, Any], key: str, spec: str) -> str:
        value = scores.get(key)
        return "-" if value is None else format(value, spec)

    lines = [
        "| run | WordSim-353 ρ | SimLex-999 ρ | analogy top-1 | semantic / syntactic | "
        f"wall time (s) | words / s | nearest to {PROBE} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s = row["scores"]
        wps = row["words_per_second"]
        lines.append(
            f"| {row['name']} | {cell(s, 'wordsim353_spearman', '.3f')} | "
            f"{cell(s, 'simlex999_spearman', '.3f')} | {cell(s, 'analogy_acc', '.2%')} "
            f"(coverage {cell(s, 'analogy_acc_coverage', '.3f')}) | "
            f"{cell(s, 'analogy_semantic_acc', '.1%')} / {cell(s, 'analogy_syntactic_acc', '.1%')} | "
            f"{row['seconds']:.0f} | "
            f"{'-' if wps is None else f'{wps:,.0f}'} | {', '.join(row['nearest'])} |"
        )
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC}: the markers {START} / {END} are missing")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS))
    parser.add_argument("--epochs", type=int, default=None, help="override every run's epochs")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    args = parser.parse_args()
    busy = others_running()
    rows = [gensim_row(args.epochs)]
    print(table(rows), flush=True)
    for experiment in filter(None, args.experiments.split(",")):
        rows.append(dlzoo_row(experiment, args.epochs))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    report = "\n".join([
        f"Measured {utc_now()} on {machine()}"
        + (f"; other processes were running: {', '.join(busy)}" if busy else "") + ".",
        f"Reproduce: `python benchmarks/embeddings_vs_gensim.py"
        f"{'' if args.epochs is None else f' --epochs {args.epochs}'}`.",
        "",
        table(rows),
    ])  # fmt: skip
    print(report)
    if not args.no_docs:
        write_docs(report)


if __name__ == "__main__":
    main()
