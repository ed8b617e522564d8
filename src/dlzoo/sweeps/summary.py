"""Summarise a multirun folder: a table of its runs, their curves, and seed statistics.

``summarize(sweep_dir)`` writes into the folder:

- ``summary.csv`` / ``summary.md``: one row per run (the overrides that differ, status,
  objective, best validation metric, test metrics, epochs, wall time), best first;
- ``curves.png``: every run's validation metric (and training loss) per epoch on one plot;
- ``seeds.csv`` and a section of ``summary.md``: mean ± std per configuration when the
  sweep repeats configurations over ``seed``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlzoo.errors import ConfigError
from dlzoo.records.history import read_history
from dlzoo.records.metrics_file import METRICS_FILE
from dlzoo.sweeps.resolvers import metric_mode

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
STUDY_MD = "study.md"  # written by an Optuna search (dlzoo.sweeps.study_report)
CURVES_PNG = "curves.png"
SEEDS_CSV = "seeds.csv"
#: overrides that only the launch that resumed a run sets: not a difference between runs
RELAUNCH_ONLY = ("resume", "ckpt_path")


@dataclass
class Run:
    """One run folder of a sweep, as the summary needs it."""

    path: Path
    overrides: dict[str, str]
    record: dict[str, Any]
    optimized_metric: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""

    @property
    def status(self) -> str:
        return str(self.record.get("status", "no metrics.json (killed or still running)"))

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record.get("metrics") or {}

    @property
    def objective_name(self) -> str | None:
        if self.optimized_metric:
            return self.optimized_metric
        monitor = self.record.get("monitor")
        return f"{monitor}_best" if monitor else None

    @property
    def objective(self) -> float | None:
        name = self.objective_name
        value = self.metrics.get(name) if name else None
        return float(value) if value is not None and math.isfinite(float(value)) else None


def _parse_override(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key.lstrip("+~"), value


def find_run_dirs(sweep_dir: Path) -> list[Path]:
    """Every run folder below ``sweep_dir``: those holding ``.hydra/overrides.yaml``."""
    dirs = {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    dirs.discard(sweep_dir)
    return sorted(dirs, key=lambda p: (len(p.parts), _job_number(p), str(p)))


def _job_number(path: Path) -> int:
    head = path.name.split("_", 1)[0]
    return int(head) if head.isdigit() else 1 << 30


def load_run(run_dir: Path) -> Run:
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    overrides = dict(_parse_override(o) for o in (yaml.safe_load(overrides_file.read_text()) or []))
    metrics_file = run_dir / METRICS_FILE
    record: dict[str, Any] = {}
    if metrics_file.is_file():
        try:
            record = json.loads(metrics_file.read_text())
        except json.JSONDecodeError:
            record = {"status": "failed", "reason": "unreadable metrics.json"}
    optimized = None
    config_file = run_dir / ".hydra" / "config.yaml"
    if config_file.is_file():
        optimized = (yaml.safe_load(config_file.read_text()) or {}).get("optimized_metric")
        if isinstance(optimized, list):  # multi-objective: rank by the first (study.md: all)
            optimized = optimized[0] if optimized else None
    return Run(run_dir, overrides, record, optimized, read_history(run_dir))


def _short_override(key: str, value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return f"{key}={value}"
    return f"{key}={number:.4g}" if "." in value and len(value) > 8 else f"{key}={value}"


def label_runs(runs: list[Run]) -> list[str]:
    """Name each run by the overrides whose values differ between runs (``resume``, which
    only the launch that continued a sweep sets, never counts)."""
    keys = sorted({k for r in runs for k in r.overrides if k not in RELAUNCH_ONLY})
    varying = [k for k in keys if len({r.overrides.get(k) for r in runs}) > 1]
    for run in runs:
        parts = [_short_override(k, run.overrides[k]) for k in varying if k in run.overrides]
        run.label = ", ".join(parts) or run.path.name
    return varying


def sort_runs(runs: list[Run]) -> list[Run]:
    """Completed runs best first by their objective; failed and unfinished runs last."""

    def key(run: Run) -> tuple[int, float]:
        value = run.objective
        if run.status != "completed" or value is None:
            return (2 if run.status != "pruned" else 1, 0.0)  # pruned before failed
        mode = run.record.get("mode") or metric_mode(run.objective_name or "")
        return (0, -value if mode == "max" else value)

    return sorted(runs, key=key)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_rows(runs: list[Run]) -> tuple[list[str], list[list[Any]]]:
    """Column names and one row per run."""
    metric_keys = sorted({k for r in runs for k in r.metrics})
    test_keys = [k for k in metric_keys if k.startswith("test/")]
    objective_names = sorted({r.objective_name for r in runs if r.objective_name})
    objective_col = f"objective ({', '.join(objective_names)})" if objective_names else "objective"
    columns = [
        "rank",
        "run",
        "overrides",
        "status",
        objective_col,
        "best val",
        *test_keys,
        "epochs",
        "wall time (s)",
        "reason",
    ]
    rows = []
    for i, run in enumerate(runs, 1):
        rec = run.record
        rows.append(
            [
                i,
                run.path.name,
                run.label,
                run.status,
                run.objective,
                rec.get("best_val"),
                *(run.metrics.get(k) for k in test_keys),
                rec.get("epochs"),
                rec.get("wall_time_s"),
                rec.get("reason", ""),
            ]
        )
    return columns, rows


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def seed_statistics(runs: list[Run], varying: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Mean ± std over seeds for each configuration (the other varying overrides)."""
    if "seed" not in varying:
        return [], []
    config_keys = [k for k in varying if k != "seed"]
    groups: dict[str, list[Run]] = {}
    for run in runs:
        name = ", ".join(f"{k}={run.overrides.get(k)}" for k in config_keys) or "(all runs)"
        groups.setdefault(name, []).append(run)
    metric_keys = sorted({k for r in runs for k in r.metrics})
    columns = ["configuration", "runs", "completed", *metric_keys]
    rows = []
    for name, members in groups.items():
        done = [r for r in members if r.status == "completed"]
        cells: list[Any] = [name, len(members), len(done)]
        for key in metric_keys:
            values = [float(r.metrics[key]) for r in done if r.metrics.get(key) is not None]
            if not values:
                cells.append("")
            elif len(values) == 1:
                cells.append(f"{values[0]:.4g}")
            else:
                cells.append(f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}")
        rows.append(cells)
    return columns, rows


def write_csv(path: Path, columns: list[str], rows: list[list[Any]]) -> None:
    import csv

    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def curve_metric(runs: list[Run]) -> str | None:
    """The validation metric the runs monitor (the most common one)."""
    monitors = Counter(r.record.get("monitor") for r in runs if r.record.get("monitor"))
    if monitors:
        return monitors.most_common(1)[0][0]
    keys = Counter(k for r in runs for row in r.history for k in row if k.startswith("val/"))
    for preferred in ("val/acc", "val/mse", "val/loss"):
        if preferred in keys:
            return preferred
    return None


def _final_values(runs: list[Run], key: str) -> list[tuple[str, float, bool]]:
    """(label, last value of ``key``, completed) per run that logged it."""
    out = []
    for run in runs:
        values = [row[key] for row in run.history if row.get(key) is not None]
        if values:
            out.append((run.label, float(values[-1]), run.status == "completed"))
    return out


def _bars(ax: Any, runs: list[Run], key: str, name: str) -> None:
    """One bar per run: the final value (a sweep of one-epoch runs has no curves to draw)."""
    finals = _final_values(runs, key)
    labels = [label + ("" if ok else " (not completed)") for label, _, ok in finals]
    ys = range(len(finals))
    ax.barh(ys, [v for _, v, _ in finals], color=["C0" if ok else "C3" for *_, ok in finals])
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{name}, final")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(name)


def _curves(ax: Any, runs: list[Run], key: str, name: str) -> None:
    """One line per run of ``key`` over the epochs (dashed for runs that did not complete);
    a log scale for losses."""
    for run in runs:
        points = [(row["epoch"], row[key]) for row in run.history if row.get(key) is not None]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        failed = run.status != "completed"
        ax.plot(
            xs,
            ys,
            marker="o" if len(xs) < 30 else None,
            markersize=3,
            linestyle="--" if failed else "-",
            label=run.label + (f" ({run.status})" if failed else ""),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    if key.endswith(("loss_epoch", "mse", "loss")) and all(
        row.get(key) is None or row[key] > 0 for r in runs for row in r.history
    ):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.set_title(name)


def plot_curves(runs: list[Run], path: Path, title: str = "") -> Path | None:
    """Validation metric and training loss per epoch, one line per run, the legend beside the
    plots; when every run has a single epoch, a bar chart of the final values instead."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = curve_metric(runs)
    panels = [(metric, f"{metric} (validation)")] if metric else []
    panels.append(("train/loss_epoch", "training loss (epoch mean)"))
    with_history = [r for r in runs if r.history]
    if not with_history:
        return None
    one_epoch = all(len(r.history) <= 1 for r in with_history)
    height = max(4.5, 0.25 * len(with_history)) if one_epoch else 4.5
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), height), squeeze=False)
    for ax, (key, name) in zip(axes[0], panels, strict=True):
        if one_epoch:
            _bars(ax, with_history, key, name)
            continue
        _curves(ax, with_history, key, name)
    extra = []
    if not one_epoch:
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:  # beside the plots, never on the data
            ncol = 1 + len(handles) // 25
            extra.append(
                fig.legend(
                    handles,
                    labels,
                    loc="upper left",
                    bbox_to_anchor=(1.0, 0.95),
                    fontsize=7,
                    ncol=ncol,
                    frameon=False,
                )
            )
    if title:
        extra.append(fig.suptitle(title, fontsize=10))
    fig.tight_layout(rect=(0, 0, 1, 0.95) if title else (0, 0, 1, 1))
    fig.savefig(path, dpi=110, bbox_inches="tight", bbox_extra_artists=extra)
    plt.close(fig)
    return path


def summarize(sweep_dir: str | Path) -> dict[str, Path]:
    """Write the summary files into ``sweep_dir``; returns their paths by name."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"{sweep_dir} is not a folder (give a multirun folder)")
    run_dirs = find_run_dirs(sweep_dir)
    if not run_dirs:
        raise ConfigError(f"{sweep_dir} holds no runs (no */.hydra/overrides.yaml below it)")
    runs = [load_run(d) for d in run_dirs]
    varying = label_runs(runs)
    runs = sort_runs(runs)
    columns, rows = table_rows(runs)

    written = {"csv": sweep_dir / SUMMARY_CSV, "md": sweep_dir / SUMMARY_MD}
    write_csv(written["csv"], columns, rows)
    done = sum(r.status == "completed" for r in runs)
    pruned = sum(r.status == "pruned" for r in runs)
    md = [
        f"# Sweep summary: {sweep_dir.name}",
        "",
        f"{len(runs)} runs, {done} completed, "
        + (f"{pruned} pruned, " if pruned else "")
        + f"{len(runs) - done - pruned} failed. "
        f"Varying: {', '.join(varying) or 'nothing'}. Best first.",
        "",
        markdown_table(columns, rows),
    ]
    seed_columns, seed_rows = seed_statistics(runs, varying)
    if seed_rows:
        written["seeds"] = sweep_dir / SEEDS_CSV
        write_csv(written["seeds"], seed_columns, seed_rows)
        md += ["", "## Mean ± std over seeds", "", markdown_table(seed_columns, seed_rows)]
    study = sweep_dir / STUDY_MD
    if study.is_file():  # an Optuna search: its trials, best trial or Pareto front, pictures
        md += ["", study.read_text().rstrip()]
    written["md"].write_text("\n".join(md) + "\n")
    title = f"{sweep_dir.parent.parent.name}: {sweep_dir.name}"
    curves = plot_curves(runs, sweep_dir / CURVES_PNG, title=title)
    if curves:
        written["png"] = curves
    return written
