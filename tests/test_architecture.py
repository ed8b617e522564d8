"""The package's shape, checked: what docs/extending.md promises a maintainer.

- Lightning's private API (a ``_``-prefixed member of ``Trainer``, ``LightningModule``,
  ``LightningDataModule``, ``Callback``, torchmetrics' ``Metric`` or TensorBoard's
  ``SummaryWriter``) is used in one adapter module only, found by walking every module's AST;
- no function is longer than 60 lines; at most 10 modules sit at the top of the package;
- no code outside ``tasks/`` decides by comparing a task's name with a string;
- the README stays short and holds the two set-up commands.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src" / "dlzoo"
ADAPTER = SRC / "lightning_internals.py"
MAX_FUNCTION_LINES = 60


def _lightning_objects(tmp: Path) -> list[object]:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback
    from torch.utils.tensorboard import SummaryWriter
    from torchmetrics import Metric

    class AnyMetric(Metric):
        def update(self) -> None: ...

        def compute(self) -> torch.Tensor:
            return torch.tensor(0.0)

    trainer = L.Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp
    )
    writer = SummaryWriter(str(tmp / "tb"))
    writer.close()
    return [trainer, L.LightningModule(), L.LightningDataModule(), Callback(), AnyMetric(), writer]


def private_names(tmp: Path) -> set[str]:
    """The ``_``-prefixed, non-dunder members of the classes and of fresh instances (which
    also hold the attributes their ``__init__`` sets, such as ``LightningModule._trainer``)."""
    names: set[str] = set()
    for obj in _lightning_objects(tmp):
        for owner in (obj, type(obj)):
            names |= {n for n in dir(owner) if n.startswith("_") and not n.endswith("__")}
    return names


def private_uses(source: str, names: set[str]) -> list[tuple[int, str]]:
    """``x._name`` and ``getattr(x, "_name")`` (also set/has/delattr) for ``_name`` in
    ``names``: line and name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append((node.lineno, str(node.args[1].value)))
    return found


def sources(root: Path = SRC) -> Iterable[tuple[Path, str]]:
    for path in sorted(root.rglob("*.py")):
        yield path, path.read_text()


@pytest.fixture(scope="module")
def lightning_private(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return private_names(tmp_path_factory.mktemp("lightning"))


def test_private_lightning_api_only_in_the_adapter(lightning_private: set[str]) -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {name}"
        for path, text in sources()
        if path != ADAPTER
        for line, name in private_uses(text, lightning_private)
    ]
    assert not offenders, "private Lightning API outside lightning_internals.py:\n" + "\n".join(
        offenders
    )


def test_the_private_api_guard_catches_a_planted_violation(lightning_private: set[str]) -> None:
    assert "_trainer" in lightning_private and "_logger_connector" in lightning_private
    planted = (
        "def log_now(module, trainer):\n"
        "    if module._trainer is not None:\n"
        "        trainer._logger_connector.on_batch_end()\n"
        "    return getattr(trainer, '_results', None)\n"
    )
    assert sorted(private_uses(planted, lightning_private)) == [
        (2, "_trainer"),
        (3, "_logger_connector"),
        (4, "_results"),
    ]
    assert private_uses("self._epoch_logged = False\n", lightning_private) == []


def test_no_function_is_longer_than_60_lines() -> None:
    long = [
        f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path, text in sources()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)


def test_the_top_level_shows_the_architecture() -> None:
    modules = sorted(p.name for p in SRC.glob("*.py") if p.name != "__init__.py")
    assert len(modules) <= 10, modules
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert {"commands", "config", "callbacks", "inference", "tasks", "data", "models"} <= packages


def _compares_task_name(node: ast.AST) -> bool:
    """``x.task == "..."``, ``x.prediction_kind in ("...",)``, ``match x.task: case "..."``."""

    def named(expr: ast.AST) -> bool:
        if isinstance(expr, ast.Attribute):
            return expr.attr in {"task", "prediction_kind"}
        if isinstance(expr, ast.Call) and getattr(expr.func, "id", "") == "getattr":
            return len(expr.args) >= 2 and getattr(expr.args[1], "value", None) in {
                "task",
                "prediction_kind",
            }
        return False

    def literal(expr: ast.AST) -> bool:
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, str)
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return any(literal(e) for e in expr.elts)
        return False

    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        return any(named(s) for s in sides) and any(literal(s) for s in sides)
    if isinstance(node, ast.Match):
        return named(node.subject)
    return False


def test_no_entry_point_decides_by_task_name() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path, text in sources()
        if "tasks" not in path.relative_to(SRC).parts
        for node in ast.walk(ast.parse(text))
        if _compares_task_name(node)
    ]
    assert not offenders, offenders
    assert _compares_task_name(ast.parse('model.module.task != "seq2seq"').body[0].value)
    assert _compares_task_name(ast.parse('getattr(m, "task", "") in ("a", "b")').body[0].value)


def test_readme_is_short_and_holds_both_setup_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    install = (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && "
        "python scripts/train.py model=mlp data=fashion_mnist"
    )
    tests = (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e "
        '".[dev,sweeps,export,slurm,dashboard,text]" && pip install -q --upgrade --target '
        '.venv/huggingface "transformers>=4.40" && lint-imports && pytest'
    )
    assert install in readme and tests in readme
    assert tests in (REPO / ".ci" / "run").read_text()  # CI runs the README's command


def test_no_path_of_one_machine_in_tests_or_docs() -> None:
    """Data comes from DLZOO_DATA_DIR (or a test is skipped saying so), never a fixed path."""
    markers = ("/work/shared", "../shared/data", "/root/", "/home/")
    files = [*(REPO / "tests").rglob("*.py"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    offenders = [
        f"{path.relative_to(REPO)}: {marker}"
        for path in files
        if path.resolve() != Path(__file__).resolve()
        for marker in markers
        if marker in path.read_text()
    ]
    assert not offenders, offenders
