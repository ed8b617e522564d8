"""Bad configs and bad data: each gives one clear message naming the key (or file), the bad
value and what is allowed."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from conftest import REPO, compose_config, run_script, write_tiny_idx_dataset
from dlzoo.config.builders import build_datamodule, build_task
from dlzoo.config.validation import validate_config
from dlzoo.data import FashionMNISTDataModule
from dlzoo.errors import ConfigError, DataError

#: (overrides, a regular expression the error message must match)
BAD_CONFIGS = [
    # out of range
    (["optimizer.lr=0"], r"optimizer\.lr=0: must be a number > 0"),
    (["optimizer.lr=-0.1"], r"optimizer\.lr=-0\.1: must be a number > 0"),
    (["model.net.dropout=1.0"], r"model\.net\.dropout=1\.0: must be a number in \[0, 1\)"),
    (["model.net.dropout=-0.1"], r"model\.net\.dropout=-0\.1: must be a number in \[0, 1\)"),
    (
        ["model.init.scheme=normal", "model.init.std=-1"],
        r"model\.init\.std=-1: must be a number > 0",
    ),
    (["data.batch_size=0"], r"data\.batch_size=0: must be a positive integer or 'full'"),
    (["trainer.max_epochs=0"], r"trainer\.max_epochs=0: must be an integer >= 1, or -1"),
    (
        ["optimizer=adam", "optimizer.betas=[0.9,1.5]"],
        r"optimizer\.betas=\[0\.9, 1\.5\]: must be two numbers in \[0, 1\)",
    ),
    (["callbacks.model_checkpoint.save_top_k=-2"], r"save_top_k=-2: must be an integer >= -1"),
    (["speed.steps_per_call=0"], r"speed\.steps_per_call=0: must be a positive integer"),
    (["speed.data_on_device=gpu"], r"speed\.data_on_device='gpu': must be auto, true or false"),
    (
        ["speed.loss_check_every_n_steps=0"],
        r"speed\.loss_check_every_n_steps=0: must be a positive integer, or null",
    ),
    (
        ["model.net.hidden_sizes=[64,0]"],
        r"hidden_sizes=\[64, 0\]: must be a list of positive integers",
    ),
    (
        ["model.tasks=[multiclass,clustering]"],
        r"model\.tasks=\['multiclass', 'clustering'\]: task 'clustering' is unknown; registered tasks: ",
    ),
    # wrong types inside groups (the top-level keys' types are Hydra's, see below)
    (["optimizer.lr=fast"], r"optimizer\.lr='fast': must be a number > 0"),
    (["data.batch_size=half"], r"data\.batch_size='half': must be a positive integer or 'full'"),
    # values outside a fixed set
    (["trainer.precision=8"], r"trainer\.precision=8: must be one of \[.*'32-true'.*'auto'\]"),
    (
        ["trainer.accelerator=quantum"],
        r"trainer\.accelerator='quantum': must be one of \['auto', 'gpu', 'cpu'",
    ),
    (["monitor.mode=biggest"], r"monitor\.mode='biggest': must be 'auto', 'min' or 'max'"),
    (["scheduler.interval=batch"], r"scheduler\.interval='batch': must be 'step' or 'epoch'"),
    # unknown keys (typos added with +, as a YAML file would add them)
    (
        ["+optimizer.lrr=0.1"],
        r"optimizer\.lrr: unknown key for torch\.optim\.AdamW \(did you mean 'lr'\?\); allowed keys: .*weight_decay",
    ),
    (
        ["+trainer.max_epoch=3"],
        r"trainer\.max_epoch: unknown key for lightning\.pytorch\.Trainer \(did you mean 'max_epochs'\?\)",
    ),
    (
        ["+data.batchsize=32"],
        r"data\.batchsize: unknown key for dlzoo\.data\.FashionMNISTDataModule \(did you mean 'batch_size'\?\)",
    ),
    (
        ["+model.net.hiden_sizes=[3]"],
        r"model\.net\.hiden_sizes: unknown key for dlzoo\.models\.MLP \(did you mean 'hidden_sizes'\?\)",
    ),
    (
        ["+callbacks.early_stopping.patiense=3"],
        r"early_stopping\.patiense: unknown key .*\(did you mean 'patience'\?\)",
    ),
    (["+sed=3"], r"sed: unknown top-level key \(did you mean 'seed'\?\)"),
    (
        ["+monitor.metrc=val/loss"],
        r"monitor\.metrc: unknown key \(did you mean 'metric'\?\); allowed keys: metric, mode",
    ),
    (["+model.init.sheme=normal"], r"model\.init\.sheme: unknown key \(did you mean 'scheme'\?\)"),
    (
        ["optimizer._target_=torch.optim.Sgd"],
        r"optimizer\._target_='torch\.optim\.Sgd': cannot be imported",
    ),
    # impossible combinations
    (
        ["trainer=ddp_cpu", "data.batch_size=7"],
        r"data\.batch_size=7 is the global batch size and must be divisible by the number of "
        r"processes \(2\).*use e\.g\. 6",
    ),
    (
        ["trainer.min_epochs=5", "trainer.max_epochs=2"],
        r"trainer\.min_epochs=5 > trainer\.max_epochs=2",
    ),
    (
        ["trainer.accelerator=cpu", "trainer.precision=16-mixed"],
        r"trainer\.precision='16-mixed' with trainer\.accelerator='cpu'",
    ),
    (
        ["trainer.max_epochs=-1"],
        r"scheduler=onecycle with trainer\.max_epochs=-1: one-cycle needs a known number of steps",
    ),
    (
        ["resume=auto", "ckpt_path=some.ckpt"],
        r"resume='auto' and ckpt_path='some\.ckpt' are both set",
    ),
    # a newcomer's report: 5 ended in an AttributeError, 00:00:05 in Lightning's message
    (["trainer.max_time=5"], r"trainer\.max_time=5: must be null, 'DD:HH:MM:SS'"),
    (["trainer.max_time=00:00:05"], r"trainer\.max_time='00:00:05': must be null"),
    (["+trainer.max_time.hour=1"], r"trainer\.max_time=\{'hour': 1\}: must be null"),
]


@pytest.mark.parametrize(
    ("overrides", "message"), BAD_CONFIGS, ids=[" ".join(o) for o, _ in BAD_CONFIGS]
)
def test_bad_config_is_rejected_with_a_clear_message(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    cfg = compose_config(["paths.data_dir=unused", *overrides], tmp_path)
    with pytest.raises(ConfigError, match=message):
        checked_before_training(cfg)


def checked_before_training(cfg) -> None:
    """What train() checks before any data is read: the config's rules, then the
    constructors' own checks (each rule lives where it is enforced)."""
    validate_config(cfg)
    datamodule = build_datamodule(cfg.data)
    build_task(cfg, datamodule.spec)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["data.resize=16", "+model.min_input_size=32"],
            r"model=mlp needs images of at least 32x32 but data=fashion_mnist gives 16x16: "
            r"set data\.resize=32 or larger",
        ),
        (
            ["model=softmax_regression", "+model.task=regression"],
            r"model\.task='regression': model=softmax_regression supports \['multiclass'\]",
        ),
    ],
)
def test_model_data_rules_are_checked_where_the_data_is_known(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    """Rules that need the data's spec live in the builders (once), before data loads."""
    cfg = compose_config(["paths.data_dir=unused", *overrides], tmp_path)
    validate_config(cfg)  # nothing wrong with the keys themselves
    with pytest.raises(ConfigError, match=message):
        build_task(cfg, build_datamodule(cfg.data).spec)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    cfg = compose_config(["optimizer.lr=0", "model.net.dropout=2", "+sed=1"], tmp_path)
    with pytest.raises(ConfigError, match=r"3 problems in the config") as info:
        validate_config(cfg)
    for key in ("optimizer.lr=0", "model.net.dropout=2", "sed: unknown top-level key"):
        assert key in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimzer.lr=0.1"], r"Could not override 'optimzer\.lr'"),
        (["optimizer.lrr=0.1"], r"Could not override 'optimizer\.lrr'"),
        (["model=mpl"], r"Could not find 'model/mpl'"),
    ],
)
def test_hydra_rejects_typos_on_the_command_line_itself(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    """What never reaches our validation: Hydra refuses keys missing from the config (unless
    added with ``+``) and unknown group options, listing the available ones."""
    with pytest.raises((HydraException, OmegaConfBaseException), match=message):
        compose_config(overrides, tmp_path)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("seed=abc", "could not be converted to Integer"),
        ("test=maybe", "is not a valid bool"),
        ("speed.steps_per_call=two", "could not be converted to Integer"),
        ("monitor=3", "int is not a subclass of MonitorSchema"),
    ],
)
def test_top_level_types_are_checked_while_hydra_composes(
    override: str, expected: str, tmp_path: Path
) -> None:
    """conf/train.yaml's defaults start with the schema (dlzoo.config.schema): a wrong type
    never reaches dlzoo's code; Hydra's message names the override and the expected type."""
    with pytest.raises(HydraException, match=re.escape(override)) as info:
        compose_config([override], tmp_path)
    assert expected.lower() in str(info.value.__cause__).lower()


def test_a_wrong_type_on_the_command_line_is_one_readable_message() -> None:
    result = run_script("train.py", "seed=abc")
    assert result.returncode != 0
    assert "Error merging override seed=abc" in result.stderr
    assert "could not be converted to Integer" in result.stderr
    assert "Traceback" not in result.stderr


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "override",
    [
        f"{g}={o}"
        for g in (
            "data",
            "model",
            "optimizer",
            "scheduler",
            "trainer",
            "callbacks",
            "logger",
            "debug",
            "experiment",
        )
        for o in _options(g)
    ],
)
def test_every_shipped_config_option_validates(override: str, tmp_path: Path) -> None:
    cfg = compose_config(["paths.data_dir=unused", "trainer.accelerator=cpu", override], tmp_path)
    try:
        validate_config(cfg)
    except ConfigError as err:
        if "no CUDA GPU" not in str(err):  # trainer=gpu/ddp on a machine without one
            raise


def test_cli_reports_a_bad_config_in_one_line_and_exits_2(tmp_path: Path) -> None:
    result = run_script("train.py", "optimizer.lr=-1", f"paths.log_dir={tmp_path}")
    assert result.returncode == 2
    assert "error: optimizer.lr=-1: must be a number > 0" in result.stderr
    assert "Traceback" not in result.stderr


# -- bad data ----------------------------------------------------------------------------
def _corrupt(raw: Path, how: str) -> Path:
    images = raw / "train-images-idx3-ubyte"
    labels = raw / "train-labels-idx1-ubyte"
    if how == "truncated":
        images.write_bytes(images.read_bytes()[:-100])
        return images
    if how == "bad_magic":
        data = bytearray(labels.read_bytes())
        data[2] = 0x42
        labels.write_bytes(bytes(data))
        return labels
    if how == "short_header":
        images.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
        return images
    if how == "label_out_of_range":
        data = bytearray(labels.read_bytes())
        data[8] = 200  # the first label
        labels.write_bytes(bytes(data))
        return labels
    if how == "count_mismatch":
        from dlzoo.data.idx import read_idx, write_idx

        write_idx(labels, read_idx(labels).numpy()[:-5])
        return labels
    raise ValueError(how)


BAD_DATA = [
    (
        "truncated",
        r"train-images-idx3-ubyte is truncated or corrupted: header says shape \(120, 28, 28\)",
    ),
    ("bad_magic", r"train-labels-idx1-ubyte is not an IDX file \(bad magic number"),
    ("short_header", r"train-images-idx3-ubyte is truncated: its header is incomplete"),
    ("label_out_of_range", r"train-labels-idx1-ubyte: label 200 out of range"),
    (
        "count_mismatch",
        r"train-images-idx3-ubyte / .*train-labels-idx1-ubyte: expected N images of HxW and N labels",
    ),
]


@pytest.mark.parametrize(("how", "message"), BAD_DATA, ids=[h for h, _ in BAD_DATA])
def test_bad_idx_files_name_the_file(how: str, message: str, tmp_path: Path) -> None:
    root = write_tiny_idx_dataset(tmp_path)
    _corrupt(root / "FashionMNIST" / "raw", how)
    dm = FashionMNISTDataModule(data_dir=str(root), val_size=20, system_dir=None, download=False)
    with pytest.raises(DataError, match=message):
        dm.setup()


def test_corrupt_gzip_idx_file_names_the_file(tmp_path: Path) -> None:
    """The system-package layout: ``*.gz`` files read in place."""
    root = write_tiny_idx_dataset(tmp_path / "src")
    system = tmp_path / "system"
    system.mkdir()
    for f in (root / "FashionMNIST" / "raw").iterdir():
        (system / f"{f.name}.gz").write_bytes(gzip.compress(f.read_bytes()))
    broken = system / "t10k-labels-idx1-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:20])
    data_dir = tmp_path / "readonly_data"
    data_dir.write_text("a file, so the .gz files cannot be decompressed into it")
    dm = FashionMNISTDataModule(
        data_dir=str(data_dir), val_size=20, system_dir=str(system), download=False
    )
    with pytest.raises(DataError, match=r"cannot read IDX file .*t10k-labels-idx1-ubyte\.gz"):
        dm.setup()


def test_the_default_config_has_no_unused_keys(make_cfg, caplog) -> None:
    import logging

    from dlzoo.config.validation import validate_config

    with caplog.at_level(logging.WARNING, logger="dlzoo"):
        validate_config(make_cfg())
    assert "is not used" not in caplog.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["scheduler=step", "scheduler.scheduler.step_size=0"],
            r"step_size=0: must be an integer >= 1",
        ),
        (
            ["scheduler=step", "scheduler.scheduler.gamma=0"],
            r"gamma=0: must be a number > 0",
        ),
        (
            ["data=iris", "data.test_size=1.5"],
            r"data\.test_size=1\.5: must be a fraction between 0 and 1",
        ),
        (
            ["data=california_housing", "data.val_fraction=-0.1"],
            r"val_fraction=-0\.1: must be a fraction in \[0, 1\)",
        ),
    ],
)
def test_values_that_failed_after_training_started_are_caught_before(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    """These used to fail after an epoch (ZeroDivisionError) or inside scikit-learn."""
    cfg = compose_config(["paths.data_dir=unused", *overrides], tmp_path)
    with pytest.raises(ConfigError, match=message):
        checked_before_training(cfg)


def test_the_schema_is_found_wherever_hydra_composes(tmp_path: Path) -> None:
    """A notebook, benchmark or script that composes conf/ with Hydra's compose API, without
    importing dlzoo first, gets the schema too (Hydra's plugin scan registers it)."""
    import subprocess
    import sys

    code = (
        "from hydra import compose, initialize_config_dir\n"
        f"with initialize_config_dir(version_base='1.3', config_dir={str(REPO / 'conf')!r}):\n"
        "    print(compose('train').seed)\n"
        "    try:\n"
        "        compose('train', overrides=['seed=abc'])\n"
        "    except Exception as err:\n"
        "        print(type(err).__name__, err.__cause__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "42"
    assert "could not be converted to Integer" in result.stdout


def test_16_bit_with_accelerator_auto_on_a_machine_without_a_gpu_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning would quietly train ``16-mixed`` as bf16 on the CPU it picks."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = compose_config(["paths.data_dir=unused", "trainer.precision=16-mixed"], tmp_path)
    assert cfg.trainer.accelerator == "auto"
    with pytest.raises(ConfigError, match=r"trainer\.precision='16-mixed' with no GPU here"):
        checked_before_training(cfg)
