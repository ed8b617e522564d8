"""The entry points as a user runs them: output, exit codes, readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import run_script


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_train_then_eval_scripts(tiny_data_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train = run_script(
        "train.py",
        "data=two_clusters",
        "trainer.max_epochs=3",
        f"hydra.run.dir={run_dir}",
        "callbacks.progress_bar.enabled=false",
    )
    assert train.returncode == 0, train.stderr[-3000:]
    last = (
        train.stdout.strip().splitlines()[-3:]
        if "run directory" in train.stdout
        else train.stderr.strip().splitlines()[-3:]
    )
    assert "run directory:" in last[0] and str(run_dir) in last[0]
    assert "best checkpoint:" in last[1] and ".ckpt" in last[1]
    assert "metrics:" in last[2] and "test/acc=" in last[2]
    record = json.loads((run_dir / "metrics.json").read_text())

    evaluation = run_script(
        "eval.py", f"ckpt_path={record['best_checkpoint']}", f"hydra.run.dir={tmp_path / 'eval'}"
    )
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert "Testing " not in evaluation.stdout + evaluation.stderr  # no bar drawn into a file
    said = evaluation.stdout + evaluation.stderr
    assert said.count("GPU available") == 1, said  # Lightning's lines once, not twice
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["metrics"]["test/acc"] == pytest.approx(
        record["metrics"]["test/acc"], abs=1e-3
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["model=linear_regression", "data=iris"],
            "model=linear_regression cannot train on data=iris",
        ),
        # the next two messages are checked in-process by config/test_validation.py and
        # user_paths/test_adversarial.py; through the command line only with -m slow
        pytest.param(
            ["data=two_clusters", "optimizer.lr=-1"],
            "optimizer.lr=-1: must be a number > 0",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["data=two_clusters", "data.batch_size=0"],
            "data.batch_size=0: must be a positive integer or 'full'",
            marks=pytest.mark.slow,
        ),
        # the same failure through the command line: user_paths/test_newcomer.py
        pytest.param(
            ["data=fashion_mnist", "paths.data_dir=/nonexistent/dlzoo", "data.download=false"],
            "FashionMNIST is not available",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_bad_input_gives_one_readable_error(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_script("train.py", *args, f"hydra.run.dir={tmp_path}", "print_config=false")
    assert result.returncode == 2
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    console = result.stdout + result.stderr
    assert console.count(expected) == 1, console[-2000:]  # once, not also as a log line
    assert expected in (tmp_path / "train.log").read_text()  # the run's log keeps it


def test_eval_without_checkpoint_says_what_is_missing(tmp_path: Path) -> None:
    result = run_script("eval.py", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert _error_lines(result.stderr) == [
        "error: ckpt_path is required: pass ckpt_path=<value> on the command line"
    ]


def test_eval_refuses_a_missing_file(tmp_path: Path) -> None:
    result = run_script(
        "eval.py", f"ckpt_path={tmp_path / 'nope.ckpt'}", f"hydra.run.dir={tmp_path}"
    )
    assert result.returncode == 2
    assert "no such checkpoint file" in _error_lines(result.stderr)[0]


@pytest.mark.parametrize(
    ("script", "override", "expected"),
    [
        (
            "eval.py",
            "+model=cnn_small",
            "unknown key(s) for conf/eval.yaml: model (model and data come from the checkpoint)",
        ),
        ("predict.py", "+data.batch_size=3", "unknown key(s) for conf/predict.yaml: data"),
        ("predict_text.py", "+topk=5", "conf/generate.yaml: topk (did you mean top_k?)"),
        pytest.param(  # the same check as eval.py's, which runs by default
            "export.py",
            "+model.net.hidden_sizes=[3]",
            "unknown key(s) for conf/export.yaml: model",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_entry_points_refuse_keys_they_do_not_read(
    script: str, override: str, expected: str, tmp_path: Path
) -> None:
    """A key an entry point ignores would silently do nothing (eval.py +model=... evaluated
    the checkpoint's own model)."""
    inputs = ["inputs=x.png"] if script == "predict.py" else []
    result = run_script(
        script, "ckpt_path=unused.ckpt", *inputs, override, f"hydra.run.dir={tmp_path}"
    )
    assert result.returncode == 2
    assert expected in result.stderr.strip().splitlines()[-1], result.stderr[-1500:]


def test_missing_data_values_name_the_full_key(tmp_path: Path) -> None:
    """Hydra would be told `path=...` (and reject it); the user must pass data.path=..."""
    result = run_script("train.py", "data=tabular_csv", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "error: data.path and data.target are required: pass data.path=<value> "
        "data.target=<value> on the command line"
    )


def test_an_unusable_log_dir_is_one_line_even_for_root(tmp_path: Path) -> None:
    result = run_script("train.py", "data=iris", "paths.log_dir=/proc/forbidden")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot create the run directory /proc/forbidden/")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "text",
    ["a gripping, beautifully acted film", "don't stop", "a\\b", "ends with \\", "a\\'b",
     "[x]=y {z}", "it's \"quoted\", ok?", "${oops}", "costs $5"],
)  # fmt: skip
def test_free_text_reaches_the_config_as_typed(text: str) -> None:
    """``text=a gripping, moving film``: Hydra's grammar read the comma as a list (an
    "Ambiguous value" error); free-text keys are quoted for it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from dlzoo.arguments import quote_free_text

    parsed = OverridesParser.create().parse_override(quote_free_text([f"text={text}"])[0])
    assert OmegaConf.create({"text": parsed.value()}).text == text  # ${...} is not resolved
    assert quote_free_text(["text='already quoted, fine'", "top_k=3"]) == [
        "text='already quoted, fine'",
        "top_k=3",
    ]
