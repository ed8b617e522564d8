"""What a finished Optuna search leaves in its sweep folder: every trial (``study.csv``),
the best trial or Pareto front (``study.md``, ``optimization_results.yaml``) and Optuna's
own pictures of the optimisation history, parameter importances and Pareto front."""

from __future__ import annotations

import csv
import logging
import warnings
from pathlib import Path
from typing import Any

import yaml

from dlzoo.sweeps.optuna_search import REASON, RETRY_OF, RUN_DIR, SURPLUS, counted

log = logging.getLogger("dlzoo")

STUDY_MD = "study.md"
STUDY_CSV = "study.csv"
RESULTS_YAML = "optimization_results.yaml"
HISTORY_PNG = "optuna_history.png"
IMPORTANCES_PNG = "optuna_importances.png"
PARETO_PNG = "optuna_pareto.png"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))


def trial_rows(study: Any, metrics: list[str]) -> tuple[list[str], list[list[Any]]]:
    """One row per trial: number, state, objective value(s), parameters, folder, reason."""
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get(SURPLUS)]
    params = sorted({k for t in trials for k in t.params})
    columns = ["trial", "state", *metrics, *params, "duration (s)", "run folder", "note"]
    rows = []
    for t in trials:
        values = list(t.values) if t.values else [None] * len(metrics)
        if t.state.name == "PRUNED" and t.intermediate_values:  # its last reported value
            values = [t.intermediate_values[max(t.intermediate_values)]]
        values += [None] * (len(metrics) - len(values))
        note = t.user_attrs.get(REASON, "")
        if RETRY_OF in t.user_attrs:
            note = f"re-runs trial {t.user_attrs[RETRY_OF]} (its process died)"
        duration = t.duration.total_seconds() if t.duration else None
        folder = Path(t.user_attrs.get(RUN_DIR, "")).name
        rows.append(
            [t.number, t.state.name.lower(), *values, *(t.params.get(p) for p in params)]
            + [duration, folder, note]
        )
    return columns, rows


def best_lines(study: Any, metrics: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Markdown lines and the ``optimization_results.yaml`` content for the best trial(s)."""
    results: dict[str, Any] = {"name": study.study_name}
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not done:
        return ["No trial completed."], results
    if len(metrics) == 1:
        best = study.best_trial
        results |= {"best_trial": best.number, "best_value": best.value, "best_params": best.params}
        return [
            f"Best trial: **{best.number}**, {metrics[0]} = {best.value:.6g}, {best.params}"
        ], results
    front = sorted(study.best_trials, key=lambda t: t.number)
    results["best_trials"] = [
        {
            "number": t.number,
            "values": dict(zip(metrics, t.values, strict=True)),
            "params": t.params,
        }
        for t in front
    ]
    lines = [f"Pareto front ({len(front)} trials, {' / '.join(metrics)}):", ""]
    lines += [
        "| trial | " + " | ".join(metrics) + " | params |",
        "|---|" + "---|" * (len(metrics) + 1),
    ]
    lines += [
        f"| {t.number} | " + " | ".join(_fmt(v) for v in t.values) + f" | {t.params} |"
        for t in front
    ]
    return lines, results


def _save(plot: Any, path: Path) -> Path | None:
    """Draw one of ``optuna.visualization.matplotlib``'s plots into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ax = plot()
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        fig.set_size_inches(8, 5)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    except Exception as err:  # noqa: BLE001 - e.g. too few completed trials for importances
        plt.close("all")
        log.info("no %s: %s", path.name, err)
        return None


def pictures(study: Any, sweep_dir: Path, metrics: list[str]) -> list[Path]:
    from optuna.visualization import matplotlib as ovm

    multi = len(metrics) > 1
    first = {"target": (lambda t: t.values[0]), "target_name": metrics[0]} if multi else {}
    name = {} if multi else {"target_name": metrics[0]}
    drawn = [
        _save(
            lambda: ovm.plot_optimization_history(study, **first, **name), sweep_dir / HISTORY_PNG
        ),
        _save(
            lambda: ovm.plot_param_importances(study, **first, **name), sweep_dir / IMPORTANCES_PNG
        ),
    ]
    if multi:
        drawn.append(
            _save(
                lambda: ovm.plot_pareto_front(study, target_names=metrics), sweep_dir / PARETO_PNG
            )
        )
    return [p for p in drawn if p is not None]


def write_study_report(
    study: Any, sweep_dir: Path, metrics: list[str], about: str
) -> dict[str, Path]:
    """Write the study's files into ``sweep_dir``; returns their paths by name."""
    columns, rows = trial_rows(study, metrics)
    with (sweep_dir / STUDY_CSV).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    lines, results = best_lines(study, metrics)
    (sweep_dir / RESULTS_YAML).write_text(yaml.safe_dump(results, sort_keys=False))
    kept = {t.number for t in counted(study.get_trials(deepcopy=False))}
    states: dict[str, int] = {}
    for row in rows:
        if row[0] in kept:
            states[row[1]] = states.get(row[1], 0) + 1
    rerun = len(rows) - len(kept)
    md = [
        f"## Optuna study `{study.study_name}`",
        "",
        about,
        "",
        f"{len(kept)} trials: "
        + ", ".join(f"{n} {s}" for s, n in states.items())
        + (f"; {rerun} more stopped without a result and re-run." if rerun else "."),
        "",
        *lines,
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in rows),
    ]
    drawn = pictures(study, sweep_dir, metrics)
    md += ["", *(f"![{p.stem}]({p.name})" for p in drawn)]
    (sweep_dir / STUDY_MD).write_text("\n".join(md) + "\n")
    written = {"study_csv": sweep_dir / STUDY_CSV, "study_md": sweep_dir / STUDY_MD}
    written |= {p.stem: p for p in drawn}
    return written
