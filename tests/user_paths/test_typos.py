"""A misspelt optional config group (issue 31, case 1) stops before anything is built: one
line naming the typo and the closest real names, a non-zero exit, no run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_script


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("experiment=translation_transfomer", "translation_transformer"),
        ("experiment=word2vec_skipgam", "word2vec_skipgram"),
    ],
)
def test_a_misspelt_experiment_trains_nothing(override: str, expected: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_script("train.py", override, f"hydra.run.dir={run_dir}")
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) <= 25, output
    assert f"{override}: no such config" in result.stderr and expected in result.stderr
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "checkpoints").exists()


def test_a_misspelt_search_stops_the_sweep_before_any_trial(tmp_path: Path) -> None:
    result = run_script("train.py", "-m", "hparams_search=two_cluster",
                        f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert result.returncode == 2
    assert "hparams_search=two_cluster: no such config" in result.stderr
    assert "two_clusters" in result.stderr
    assert not list((tmp_path / "sweep").rglob("metrics.json"))


@pytest.mark.parametrize(
    ("args", "typo", "expected"),
    [
        (["model=nosuchmodel"], "model=nosuchmodel", "--help"),
        (["-m", "model=mlp,lenett"], "model=lenett", "did you mean lenet"),
        (["optimizer=comparison/adamm"], "optimizer=comparison/adamm", "comparison/adam"),
    ],
)
def test_case_17_an_unknown_group_name_is_one_line(
    args: list[str], typo: str, expected: str, tmp_path: Path
) -> None:
    """Hydra would print every option of the group and its search path (40 lines)."""
    result = run_script("train.py", *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {typo}: no such config in conf/")
    assert expected in result.stderr
    assert not (tmp_path / "run").exists()


def test_case_20_every_recipe_writes_to_a_folder_of_its_own_name() -> None:
    """``experiment=X`` runs go to ``logs/X/``: 14 recipes named their folder, 31 did not."""
    from omegaconf import OmegaConf

    from dlzoo.cli import config_dir

    recipes = sorted((Path(config_dir()) / "experiment").glob("*.yaml"))
    assert len(recipes) > 40
    for recipe in recipes:
        assert OmegaConf.load(recipe).get("task_name") == recipe.stem, recipe.name
    for search in sorted((Path(config_dir()) / "hparams_search").glob("*.yaml")):
        assert OmegaConf.load(search).get("task_name") == f"hparams_{search.stem}", search.name
