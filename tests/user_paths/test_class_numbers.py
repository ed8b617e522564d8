"""Trust round two, case 7: a CSV whose class column holds 0/1/2 (what scikit-learn's
``as_frame`` writes) trains as regression unless told otherwise; the run says which task
it inferred and why, and a classifier's refusal points to ``data.task=classification``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train
from dlzoo.errors import DlzooError


@pytest.fixture
def iris_numbers(tmp_path: Path) -> Path:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame  # the class column "target" holds 0, 1, 2
    frame.to_csv(tmp_path / "iris.csv", index=False)
    return tmp_path / "iris.csv"


def test_case_7_class_numbers_are_named_and_the_fix_given(
    iris_numbers: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = ["data=tabular_csv", f"data.path={iris_numbers}", "data.target=target", *QUIET]
    with caplog.at_level(logging.INFO), pytest.raises(DlzooError) as refused:
        train(compose_config(["model=softmax_regression", *data], tmp_path / "a"))
    assert "data.task=classification makes them classes" in str(refused.value)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("so the task is regression; its 3 distinct whole values (0, 1, 2) look like "
               "classes" in m for m in warned), warned  # fmt: skip
    record = train(compose_config(["model=softmax_regression", *data, "data.task=classification",
                                   "trainer.max_epochs=2"], tmp_path / "b"))  # fmt: skip
    assert record["task"] == "multiclass" and "test/acc" in record["metrics"]


def test_a_target_of_one_class_is_one_message_and_no_class_hint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A newcomer's report: one class in the target ended in a ValueError traceback, after
    a hint that data.task=classification would make its single value a class."""
    csv = tmp_path / "one.csv"
    csv.write_text("x,bin\n" + "".join(f"{i},1\n" for i in range(40)))
    data = ["data=tabular_csv", f"data.path={csv}", "data.target=bin", *QUIET]
    with pytest.raises(DlzooError, match=r"data.target='bin' holds one class \(1\) in 40 rows"):
        train(compose_config(["model=logistic_regression", *data, "data.task=classification"],
                             tmp_path / "a"))  # fmt: skip
    with caplog.at_level(logging.INFO), pytest.raises(DlzooError):
        train(compose_config(["model=logistic_regression", *data], tmp_path / "b"))
    assert not any("look like classes" in r.getMessage() for r in caplog.records)
