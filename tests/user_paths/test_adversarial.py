"""The adversarial suite: bad configs, files and paths a user can give ``train.py``, one row
each. Every row must end in one readable message (a ``DlzooError``: the CLI prints it as one
``error:`` line and exits 2) that names the bad value, and must leave an earlier finished
run in the same log folder exactly as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import QUIET, compose_config
from dlzoo.commands.train import train
from dlzoo.errors import DlzooError

IRIS = ["model=mlp", "data=iris", "trainer.max_epochs=2", *QUIET]

#: (id, overrides, regex the message must match); ``{tmp}`` is a scratch folder with files
CASES: list[tuple[str, list[str], str]] = [
    # optimizer
    ("lr-zero", ["optimizer.lr=0"], r"optimizer\.lr=0: must be a number > 0"),
    ("lr-negative", ["optimizer.lr=-1"], r"optimizer\.lr=-1: must be a number > 0"),
    ("weight-decay-negative", ["optimizer.weight_decay=-0.1"], r"optimizer\.weight_decay=-0\.1"),
    ("betas-above-one", ["optimizer.betas=[0.9,1.5]"], r"optimizer\.betas=\[0\.9, 1\.5\]"),
    ("momentum-one", ["optimizer=momentum", "optimizer.momentum=1.0"], r"optimizer\.momentum=1\.0"),
    ("eps-zero", ["optimizer.eps=0"], r"optimizer\.eps=0: must be a number > 0"),
    ("optimizer-typo", ["+optimizer.lrr=0.1"], r"optimizer\.lrr: unknown key .*did you mean 'lr'"),
    # model
    (
        "dropout-one",
        ["model.net.dropout=1.0"],
        r"model\.net\.dropout=1\.0: must be a number in \[0, 1\)",
    ),
    ("dropout-negative", ["model.net.dropout=-0.2"], r"model\.net\.dropout=-0\.2"),
    ("hidden-zero", ["model.net.hidden_sizes=[0]"], r"model\.net\.hidden_sizes=\[0\]"),
    ("hidden-text", ["model.net.hidden_sizes=[a]"], r"model\.net\.hidden_sizes=\['a'\]"),
    (
        "net-typo",
        ["+model.net.hiden_sizes=[3]"],
        r"hiden_sizes: unknown key .*did you mean 'hidden_sizes'",
    ),
    ("init-typo", ["+model.init.sheme=normal"], r"model\.init\.sheme: unknown key"),
    ("activation-unknown", ["model.net.activation=swish"], r"swish"),
    (
        "linear-on-classes",
        ["model=linear_regression"],
        r"model=linear_regression cannot train on data=iris",
    ),
    (
        "logistic-on-three-classes",
        ["model=logistic_regression"],
        r"model=logistic_regression cannot train on data=iris.*3 classes",
    ),
    ("cnn-on-rows", ["model=lenet"], r"model=lenet needs image input"),
    ("rnn-on-rows", ["model=gru"], r"model=gru cannot train on data=iris"),
    (
        "task-not-of-model",
        ["model=softmax_regression", "+model.task=regression"],
        r"model\.task='regression': model=softmax_regression supports",
    ),
    # data
    (
        "batch-zero",
        ["data.batch_size=0"],
        r"data\.batch_size=0: must be a positive integer or 'full'",
    ),
    ("batch-text", ["data.batch_size=many"], r"data\.batch_size='many'"),
    ("eval-batch-negative", ["+data.eval_batch_size=-5"], r"data\.eval_batch_size=-5"),
    (
        "test-size-zero",
        ["data.test_size=0"],
        r"data\.test_size=0: must be a fraction between 0 and 1",
    ),
    ("test-size-one", ["data.test_size=1"], r"data\.test_size=1: must be a fraction"),
    ("test-size-above-one", ["data.test_size=1.5"], r"data\.test_size=1\.5"),
    (
        "val-fraction-one",
        ["data.val_fraction=1.0"],
        r"data\.val_fraction=1\.0: must be a fraction in \[0, 1\)",
    ),
    (
        "csv-without-path",
        ["data=tabular_csv"],
        r"data\.path and data\.target are required: pass data\.path=<value>",
    ),
    (
        "csv-missing-file",
        ["data=tabular_csv", "data.path={tmp}/nope.csv", "data.target=y"],
        r"data\.path='.*nope\.csv': no such file",
    ),
    (
        "csv-unknown-target",
        ["data=tabular_csv", "data.path={tmp}/table.csv", "data.target=nope"],
        r"data\.target='nope' is not a column of table\.csv; its columns are: a, b, y",
    ),
    (
        "csv-two-rows",
        ["data=tabular_csv", "data.path={tmp}/two_rows.csv", "data.target=y"],
        r"two_rows\.csv has 2 rows: too few to split",
    ),
    (
        "csv-inf",
        ["data=tabular_csv", "data.path={tmp}/inf.csv", "data.target=y"],
        r"columns \['a'\] hold infinite values",
    ),
    (
        "csv-empty-target",
        ["data=tabular_csv", "data.path={tmp}/no_target.csv", "data.target=y"],
        r"data\.target='y' has no values",
    ),
    (
        "csv-task-unknown",
        ["data=tabular_csv", "data.path={tmp}/table.csv", "data.target=y", "data.task=ranking"],
        r"data\.task='ranking' is unknown",
    ),
    (
        "csv-log-target-negative",
        ["data=tabular_csv", "data.path={tmp}/table.csv", "data.target=a", "data.log_target=true"],
        r"data\.log_target=true needs positive targets",
    ),
    (
        "csv-not-csv",
        ["data=tabular_csv", "data.path={tmp}/binary.csv", "data.target=y"],
        r"binary\.csv",
    ),
    ("text-without-path", ["model=gru", "data=text_file"], r"data\.path"),
    (
        "text-missing-file",
        ["model=gru", "data=text_file", "data.path={tmp}/nope.txt"],
        r"data\.path='.*nope\.txt': no such file",
    ),
    (
        "text-empty-file",
        ["model=gru", "data=text_file", "data.path={tmp}/empty.txt"],
        r"empty\.txt' is empty",
    ),
    (
        "text-not-utf8",
        ["model=gru", "data=text_file", "data.path={tmp}/latin1.txt"],
        r"is not valid utf-8 text",
    ),
    (
        "text-too-short",
        ["model=gru", "data=text_file", "data.path={tmp}/short.txt"],
        r"too few for one batch",
    ),
    (
        "sampling-unknown",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.sampling=diagonal"],
        r"data\.sampling='diagonal' is unknown",
    ),
    (
        "num-steps-zero",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.num_steps=0"],
        r"data\.num_steps=0",
    ),
    (
        "preprocessing-unknown",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.preprocessing=upper"],
        r"data\.preprocessing='upper' is unknown",
    ),
    (
        "tokenizer-unknown",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.tokenizer=bpe"],
        r"data\.tokenizer='bpe' is unknown",
    ),
    (
        "text-val-fraction-zero",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.val_fraction=0"],
        r"data\.val_fraction=0",
    ),
    (
        "min-freq-zero",
        ["model=gru", "data=text_file", "data.path={tmp}/story.txt", "data.min_freq=0"],
        r"data\.min_freq=0",
    ),
    ("images-without-root", ["model=lenet", "data=image_folder"], r"data\.root"),
    (
        "images-missing-root",
        ["model=lenet", "data=image_folder", "data.root={tmp}/nowhere"],
        r"data\.root='.*nowhere': no such folder",
    ),
    (
        "images-one-class",
        ["model=lenet", "data=image_folder", "data.root={tmp}/one_class"],
        r"has 1 class sub-folder",
    ),
    (
        "images-bad-option",
        ["model=lenet", "data=image_folder", "data.root={tmp}/pictures", "data.bad_images=ignore"],
        r"data\.bad_images='ignore': choose one of \['error', 'skip'\]",
    ),
    (
        "images-corrupt",
        [
            "model=lenet",
            "data=image_folder",
            "data.root={tmp}/broken_pictures",
            "data.image_size=28",
        ],
        r"1 of \d+ images cannot be read: .*bad\.png.*data\.bad_images=skip",
    ),
    (
        "images-channels",
        ["model=lenet", "data=image_folder", "data.root={tmp}/pictures", "data.channels=2"],
        r"data\.channels=2: must be 1 \(grey\) or 3 \(RGB\)",
    ),
    (
        "fashion-missing",
        [
            "data=fashion_mnist",
            "paths.data_dir={tmp}/empty",
            "data.download=false",
            "+data.system_dir=null",
        ],
        r"FashionMNIST is not available: downloads are off",
    ),
    (
        "california-missing",
        [
            "model=linear_regression",
            "data=california_housing",
            "paths.data_dir={tmp}/empty",
            "data.download=false",
        ],
        r"California housing is not in",
    ),
    (
        "timemachine-missing",
        ["model=gru", "data=timemachine", "paths.data_dir={tmp}/empty", "data.download=false"],
        r"timemachine\.txt does not exist and downloads are off",
    ),
    (
        "timemachine-wrong-file",
        ["model=gru", "data=timemachine", "paths.data_dir={tmp}/fake_tm"],
        r"timemachine\.txt has sha1 .* but .* was expected",
    ),
    ("resize-zero", ["data=fashion_mnist", "data.resize=0"], r"data\.resize=0"),
    ("resize-text", ["data=fashion_mnist", "data.resize=abc"], r"data\.resize='abc': must be"),
    ("resize-fraction", ["data=fashion_mnist", "data.resize=17.5"], r"data\.resize=17\.5"),
    ("resize-list", ["data=fashion_mnist", "data.resize=[20,33]"], r"data\.resize=\[20, 33\]"),
    (
        "cnn-small-too-deep",
        ["model=cnn_small", "data=fashion_mnist", "model.net.channels=[8,8,8,8,8,8]"],
        r"model\.net\.channels=\[8, 8, 8, 8, 8, 8\]: its 5 poolings leave nothing of a 28x28",
    ),
    ("std-zero", ["data=fashion_mnist", "data.std=0"], r"data\.std=0"),
    (
        "mean-without-std",
        ["data=fashion_mnist", "data.std=null"],
        r"data\.mean and data\.std must be given together",
    ),
    (
        "preprocess-once-unknown",
        ["data=fashion_mnist", "data.preprocess_once=maybe"],
        r"data\.preprocess_once='maybe'",
    ),
    (
        "resize-below-model-minimum",
        ["model=alexnet", "data=fashion_mnist"],
        r"model=alexnet needs images of at least",
    ),
    # trainer
    (
        "epochs-zero",
        ["trainer.max_epochs=0"],
        r"trainer\.max_epochs=0: must be an integer >= 1, or -1",
    ),
    ("epochs-negative", ["trainer.max_epochs=-5"], r"trainer\.max_epochs=-5"),
    ("min-epochs-negative", ["trainer.min_epochs=-1"], r"trainer\.min_epochs=-1"),
    (
        "min-above-max",
        ["trainer.min_epochs=5", "trainer.max_epochs=2"],
        r"trainer\.min_epochs=5 > trainer\.max_epochs=2",
    ),
    ("precision-unknown", ["trainer.precision=8"], r"trainer\.precision=8: must be one of"),
    ("precision-word", ["trainer.precision=half"], r"trainer\.precision='half'"),
    ("accelerator-unknown", ["trainer.accelerator=quantum"], r"trainer\.accelerator='quantum'"),
    (
        "gpu-without-gpu",
        ["trainer.accelerator=gpu"],
        r"no CUDA GPU is available on this machine; use trainer=cpu",
    ),
    ("devices-zero", ["trainer.devices=0"], r"trainer\.devices=0"),
    ("nodes-zero", ["+trainer.num_nodes=0"], r"trainer\.num_nodes=0"),
    ("clip-negative", ["trainer.gradient_clip_val=-1"], r"trainer\.gradient_clip_val=-1"),
    ("log-every-zero", ["trainer.log_every_n_steps=0"], r"trainer\.log_every_n_steps=0"),
    (
        "val-every-zero",
        ["trainer.check_val_every_n_epoch=0"],
        r"trainer\.check_val_every_n_epoch=0",
    ),
    (
        "accumulate-zero",
        ["+trainer.accumulate_grad_batches=0"],
        r"trainer\.accumulate_grad_batches=0",
    ),
    ("deterministic-maybe", ["trainer.deterministic=maybe"], r"trainer\.deterministic='maybe'"),
    (
        "ddp-indivisible-batch",
        ["trainer=ddp_cpu", "data.batch_size=7"],
        r"data\.batch_size=7 is the global batch size",
    ),
    (
        "half-precision-on-cpu",
        ["trainer.accelerator=cpu", "trainer.precision=16-mixed"],
        r"trainer\.precision='16-mixed' with trainer\.accelerator='cpu'",
    ),
    # schedule, monitor, callbacks
    ("mode-unknown", ["monitor.mode=biggest"], r"monitor\.mode='biggest'"),
    ("interval-unknown", ["scheduler.interval=batch"], r"scheduler\.interval='batch'"),
    (
        "step-size-zero",
        ["scheduler=step", "scheduler.scheduler.step_size=0"],
        r"step_size=0: must be an integer >= 1",
    ),
    ("step-size-negative", ["scheduler=step", "scheduler.scheduler.step_size=-3"], r"step_size=-3"),
    (
        "gamma-negative",
        ["scheduler=step", "scheduler.scheduler.gamma=-1"],
        r"gamma=-1: must be a number > 0",
    ),
    ("onecycle-without-end", ["trainer.max_epochs=-1"], r"one-cycle needs a known number of steps"),
    (
        "patience-negative",
        ["callbacks.early_stopping.enabled=true", "callbacks.early_stopping.patience=-1"],
        r"patience=-1",
    ),
    ("save-top-k-below", ["callbacks.model_checkpoint.save_top_k=-2"], r"save_top_k=-2"),
    # run options
    ("seed-negative", ["seed=-1"], r"seed=-1: must be a non-negative integer or null"),
    ("top-level-typo", ["+sed=1"], r"sed: unknown top-level key \(did you mean 'seed'\?\)"),
    ("steps-per-call-zero", ["speed.steps_per_call=0"], r"speed\.steps_per_call=0"),
    (
        "steps-per-call-with-clipping",
        ["speed.steps_per_call=4", "trainer.gradient_clip_val=1.0"],
        r"speed\.steps_per_call=4 does not support trainer\.gradient_clip_val=1\.0",
    ),
    (
        "steps-per-call-with-accumulation",
        ["speed.steps_per_call=4", "+trainer.accumulate_grad_batches=2"],
        r"does not support trainer\.accumulate_grad_batches=2",
    ),
    (
        "steps-per-call-on-text",
        [
            "model=gru",
            "data=text_file",
            "data.path={tmp}/story.txt",
            "speed.steps_per_call=4",
            "trainer.gradient_clip_val=null",
        ],
        r"speed\.steps_per_call=4 does not support model=gru",
    ),
    ("data-on-device-maybe", ["speed.data_on_device=maybe"], r"speed\.data_on_device='maybe'"),
    ("loss-check-zero", ["speed.loss_check_every_n_steps=0"], r"speed\.loss_check_every_n_steps=0"),
    (
        "resume-and-ckpt",
        ["resume=auto", "ckpt_path=x.ckpt"],
        r"resume='auto' and ckpt_path='x\.ckpt' are both set",
    ),
    (
        "ckpt-missing",
        ["ckpt_path={tmp}/nope.ckpt"],
        r"ckpt_path='.*nope\.ckpt': no such checkpoint file",
    ),
    (
        "ckpt-random-bytes",
        ["ckpt_path={tmp}/random.ckpt"],
        r"random\.ckpt is not a PyTorch checkpoint",
    ),
    ("ckpt-text", ["ckpt_path={tmp}/story.txt"], r"story\.txt is not a PyTorch checkpoint"),
    ("resume-missing-dir", ["resume={tmp}/no_run"], r"no_run"),
]


def write_files(tmp: Path) -> None:
    """The files the cases point at."""
    from PIL import Image

    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"a": rng.normal(size=40), "b": rng.normal(size=40), "y": rng.normal(size=40)}
    )
    table.to_csv(tmp / "table.csv", index=False)
    table.head(2).to_csv(tmp / "two_rows.csv", index=False)
    table.assign(a=[np.inf] + [1.0] * 39).to_csv(tmp / "inf.csv", index=False)
    table.assign(y=np.nan).to_csv(tmp / "no_target.csv", index=False)
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp / "empty.txt").write_text("   \n")
    (tmp / "latin1.txt").write_bytes("caf\xe9 na\xefve ".encode("latin-1") * 50)
    (tmp / "short.txt").write_text("tiny")
    (tmp / "story.txt").write_text("the time traveller smiled and we listened " * 40)
    (tmp / "random.ckpt").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp / "empty").mkdir()
    (tmp / "fake_tm").mkdir()
    (tmp / "fake_tm" / "timemachine.txt").write_text("not the time machine")
    for root, classes in (
        ("pictures", ("cat", "dog")),
        ("broken_pictures", ("cat", "dog")),
        ("one_class", ("cat",)),
    ):
        for name in classes:
            folder = tmp / root / name
            folder.mkdir(parents=True)
            for i in range(6):
                pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    (tmp / "broken_pictures" / "dog" / "bad.png").write_bytes(b"\x89PNG\r\n not really")


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def scratch(
    tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path
) -> tuple[Path, Path, str]:
    """Scratch files, a log folder holding one finished run, and that run's digest."""
    tmp = tmp_path_factory.mktemp("adversarial")
    write_files(tmp)
    logs = tmp / "logs"
    finished = logs / "train" / "runs" / "finished"
    train(
        compose_config(
            [*IRIS, f"paths.data_dir={tiny_data_dir}", f"paths.log_dir={logs}"], finished
        )
    )
    return tmp, finished, folder_digest(finished)


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 90 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("overrides", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_readable_message_and_changes_nothing(
    overrides: list[str], message: str, scratch: tuple[Path, Path, str], tiny_data_dir: Path
) -> None:
    tmp, finished, digest = scratch
    logs = finished.parents[2]
    args = [o.replace("{tmp}", str(tmp)) for o in overrides]
    base = [*IRIS, f"paths.data_dir={tiny_data_dir}", f"paths.log_dir={logs}"]
    run_dir = logs / "train" / "runs" / f"case-{abs(hash(tuple(args))) % 10**8}"
    with pytest.raises(DlzooError) as err:
        train(compose_config([*base, *args], run_dir))
    text = str(err.value)
    assert re_search(message, text), f"{text!r} does not match {message!r}"
    assert "Traceback" not in text and len(text) < 2000
    assert folder_digest(finished) == digest  # the earlier run is untouched
    record = run_dir / "metrics.json"
    if record.exists():  # failed after the run started: the record says so, with the message
        import json

        saved = json.loads(record.read_text())
        assert saved["status"] == "failed" and saved["message"] == text


def re_search(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text, re.S) is not None
