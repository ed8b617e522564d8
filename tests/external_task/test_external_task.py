"""A task type defined outside ``src/dlzoo`` (``tests/external_task/count_task``, configs in
``tests/external_task/conf``) trains, evaluates, predicts and exports through the ordinary
commands, with no edit to the package: what docs/extending.md promises."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from omegaconf import open_dict

from conftest import QUIET, REPO, compose_config, run_script
from dlzoo.commands.evaluate import evaluate
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.errors import ConfigError

HERE = Path(__file__).resolve().parent
#: the two things a user adds: the module on the Python path, its configs on Hydra's path
ENV = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
SEARCH_PATH = f"hydra.searchpath=[file://{HERE / 'conf'}]"


def command(name: str, tmp_path: Path, *overrides: str):
    """An entry point's config composed in this process, the external module importable (as
    ``PYTHONPATH`` makes it for the command line)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    cfg = compose_config(list(overrides), tmp_path / name, config_name=name)
    with open_dict(cfg):
        cfg.paths.data_dir = str(tmp_path)
    return cfg


def run(script: str, *args: str) -> str:
    result = run_script(script, SEARCH_PATH, *args, env=ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("external") / "run"
    run("train.py", "experiment=count_bits", f"hydra.run.dir={run_dir}", *QUIET)
    return run_dir


def test_external_task_trains_and_beats_its_baseline(trained_run: Path) -> None:
    record = json.loads((trained_run / "metrics.json").read_text())
    assert record["status"] == "completed"
    assert record["task"] == "count"
    assert record["baseline"]["how"] == "predicting the training mean count"
    assert record["baseline"]["learned"], record
    assert record["metrics"]["test/mae"] < 0.5 * record["baseline"]["value"]


def test_external_task_evaluates_to_the_runs_own_test_figures(
    trained_run: Path, tmp_path: Path
) -> None:
    evaluated = evaluate(command("eval", tmp_path, f"ckpt_path={trained_run}"))
    trained = json.loads((trained_run / "metrics.json").read_text())["metrics"]
    assert evaluated["metrics"]["test/mae"] == pytest.approx(trained["test/mae"], abs=1e-5)


def test_external_task_predicts_with_its_own_predictor(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs = tmp_path / "bits.txt"
    strings = ["111000000000", "101010101010", "111111111000"]
    inputs.write_text("\n".join(strings) + "\n")
    records = predict(
        command("predict", tmp_path, f"ckpt_path={trained_run}", f"inputs={inputs}", "+digits=1")
    )
    assert [r["input"] for r in records] == strings
    for r in records:
        assert abs(r["count"] - r["input"].count("1")) <= 1, records
    assert f"{strings[0]}: {records[0]['count']} (rate " in capsys.readouterr().out
    # an option of another task type is refused, naming the ones that apply
    with pytest.raises(ConfigError, match="its options: digits, inputs"):
        predict(command("predict", tmp_path, f"ckpt_path={trained_run}", "top_k=2"))


def test_external_task_exports(trained_run: Path, tmp_path: Path) -> None:
    import torch

    out_file = export(
        command("export", tmp_path, f"ckpt_path={trained_run}", f"output={tmp_path}/count.pt")
    )
    net = torch.jit.load(str(out_file))
    sidecar = json.loads(out_file.with_suffix(".pt.json").read_text())
    assert sidecar["task"] == "count" and "log of the expected count" in sidecar["outputs"]
    six = torch.tensor([[1.0] * 6 + [0.0] * 6])
    with torch.no_grad():
        assert float(net(six).exp()) == pytest.approx(6, abs=1)


def test_external_task_needs_no_file_of_the_package() -> None:
    """Nothing under src/ or conf/ names the external task."""
    for root in (REPO / "src", REPO / "conf"):
        for path in root.rglob("*"):
            if path.suffix in {".py", ".yaml"}:
                assert "count_task" not in path.read_text(), path
