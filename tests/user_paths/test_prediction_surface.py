"""What a newcomer tried on predict.py and export.py (checked with the small checkpoints of
tests/fixtures/old_main): options another task reads are refused, not ignored; paths that
cannot be written and bad opsets are one message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, compose_config, run_script
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.errors import ConfigError

OLD = REPO / "tests" / "fixtures" / "old_main"
IRIS = OLD / "iris_mlp"
DIGITS = OLD / "digits_transformer" / "checkpoints" / "epoch_000.ckpt"


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n"
    )
    return path


def run(name: str, tmp_path: Path, *overrides: str):
    return compose_config(list(overrides), tmp_path / name, config_name=name)


@pytest.mark.parametrize(
    ("checkpoint", "overrides", "refused"),
    [
        (IRIS, ["output_dir=/tmp/elsewhere"], "output_dir="),
        (DIGITS, ["text=1 2", "output=t.csv"], "output='t.csv' does not apply"),
        (DIGITS, ["text=1 2", "top_k=3"], "top_k=3 does not apply"),
    ],
)
def test_options_another_task_reads_are_refused(
    checkpoint: Path, overrides: list[str], refused: str, tmp_path: Path, rows: Path
) -> None:
    extra = [f"inputs={rows}"] if checkpoint == IRIS else []
    with pytest.raises(ConfigError, match=refused) as caught:
        predict(run("predict", tmp_path, f"ckpt_path={checkpoint}", *extra, *overrides))
    assert "its options:" in str(caught.value)


def test_an_unwritable_output_is_one_message(tmp_path: Path, rows: Path) -> None:
    with pytest.raises(ConfigError, match="output='/proc/x.csv': cannot write it"):
        predict(
            run("predict", tmp_path, f"ckpt_path={IRIS}", f"inputs={rows}", "output=/proc/x.csv")
        )
    with pytest.raises(ConfigError, match="cannot write it"):
        export(run("export", tmp_path, f"ckpt_path={IRIS}", f"output={tmp_path}"))
    with pytest.raises(ConfigError, match="opset=3"):
        export(run("export", tmp_path, f"ckpt_path={IRIS}", "format=onnx", "opset=3",
                   f"output={tmp_path}/m.onnx"))  # fmt: skip


def test_an_external_experiment_off_the_search_path_is_named() -> None:
    result = run_script("train.py", "experiment=count_bits")
    assert result.returncode == 2
    assert "experiment=count_bits: no such config" in result.stderr


def test_a_folder_given_to_a_translation_model_is_named(tmp_path: Path) -> None:
    from dlzoo.errors import DataError

    with pytest.raises(DataError, match="is a folder; give a text file"):
        predict(run("predict", tmp_path, f"ckpt_path={DIGITS}", f"inputs={tmp_path}"))
