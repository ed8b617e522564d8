"""Using a trained model: predict.py on PNG files agrees with the model's own forward pass;
TorchScript and ONNX exports give the checkpoint's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import compose_config, run_script, write_tiny_idx_dataset
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.config.restore import restore
from dlzoo.data.idx import read_idx
from dlzoo.errors import ConfigError
from image_data import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """lenet_modern trained one short epoch on the tiny Fashion-MNIST, resized to 32 px and
    normalised (so predictions only agree if predict.py repeats that preprocessing), in
    channels-last memory format (not its default: the exports must not depend on it)."""
    root = tmp_path_factory.mktemp("predict")
    data_dir = write_tiny_idx_dataset(root / "data")
    cfg = compose_config(
        [
            f"paths.data_dir={data_dir}",
            "print_config=false",
            "callbacks.progress_bar.enabled=false",
            "callbacks.model_summary.enabled=false",
            "model=lenet_modern",
            "channels_last=true",
            "data.resize=32",
            "data.val_size=20",
            "data.batch_size=16",
            "trainer.max_epochs=1",
        ],
        root / "run",
    )
    record = train(cfg)
    return {"ckpt": record["best_checkpoint"], "data_dir": data_dir, "root": root}


def predict_cfg(trained: dict, *overrides: str, config_name: str = "predict"):
    return compose_config(
        [f"ckpt_path={trained['ckpt']}", f"paths.data_dir={trained['data_dir']}", *overrides],
        trained["root"] / config_name,
        config_name,
    )


def write_test_pngs(trained: dict, n: int = 12) -> tuple[Path, torch.Tensor]:
    from PIL import Image

    images = read_idx(trained["data_dir"] / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte")[:n]
    folder = trained["root"] / "pngs"
    folder.mkdir(exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img.numpy()).save(folder / f"img_{i:02d}.png")
    return folder, images


def test_predict_on_png_files_matches_the_forward_pass(trained: dict):
    folder, images = write_test_pngs(trained)
    model = restore(trained["ckpt"], data_dir=str(trained["data_dir"]))
    with torch.no_grad():
        expected = model.module(model.datamodule.preprocess(images.unsqueeze(1))).argmax(1)
    names = model.class_names
    records = predict(predict_cfg(trained, f"inputs={folder}", "top_k=2"))
    assert [Path(r["input"]).name for r in records] == [
        f"img_{i:02d}.png" for i in range(len(images))
    ]
    assert [r["top_k"][0][0] for r in records] == [names[i] for i in expected.tolist()]
    for r in records:
        probs = [p for _, p in r["top_k"]]
        assert len(probs) == 2 and probs[0] >= probs[1] and 0 < sum(probs) <= 1 + 1e-6


def test_predict_script_prints_top_k(trained: dict):
    folder, _ = write_test_pngs(trained, n=3)
    out_csv = trained["root"] / "pred.csv"
    result = run_script(
        "predict.py",
        f"ckpt_path={trained['ckpt']}",
        f"inputs=[{folder / 'img_00.png'},{folder / 'img_01.png'}]",
        f"output={out_csv}",
        f"hydra.run.dir={trained['root'] / 'predict_script'}",
        env={"DLZOO_DATA_DIR": str(trained["data_dir"]), "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "img_00.png:" in result.stdout and "img_01.png:" in result.stdout
    rows = out_csv.read_text().splitlines()
    assert rows[0].startswith("input,top1_class,top1_prob") and len(rows) == 3


def test_predict_bad_input_is_one_clear_error(trained: dict):
    with pytest.raises(ConfigError, match="neither a file nor a folder"):
        predict(predict_cfg(trained, "inputs=/nonexistent/x.png"))


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_export_round_trip(trained: dict, fmt: str):
    out = trained["root"] / f"model_{fmt}"
    path = export(predict_cfg(trained, f"format={fmt}", f"output={out}", config_name="export"))
    model = restore(trained["ckpt"], data_dir=str(trained["data_dir"]))
    x = torch.randn(5, *model.spec.input_shape)
    with torch.no_grad():
        expected = model.module.net(x).numpy()
    if fmt == "torchscript":
        got = torch.jit.load(str(path))(x).detach().numpy()
    else:
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    info = json.loads(Path(str(path) + ".json").read_text())
    assert info["input_shape"] == [1, 32, 32] and info["resize"] == 32
    assert info["class_names"][9] == "ankle boot"


def test_export_unknown_format(trained: dict):
    with pytest.raises(ConfigError, match="format='tflite'"):
        export(predict_cfg(trained, "format=tflite", config_name="export"))


def test_predict_csv_rows_for_a_tabular_model(tmp_path: Path):
    """A tabular checkpoint takes a CSV of feature rows, scaled like its training data."""
    cfg = compose_config(
        [
            "print_config=false",
            "callbacks.progress_bar.enabled=false",
            "callbacks.model_summary.enabled=false",
            "model=mlp",
            "data=iris",
            "trainer.max_epochs=3",
        ],
        tmp_path / "run",
    )
    record = train(cfg)
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    # the raw rows of the test split (the curriculum's 80/20 split, random_state=42)
    iris = load_iris()
    _, raw_test = train_test_split(iris.data, test_size=0.2, random_state=42)
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, raw_test, delimiter=",", header="a,b,c,d", comments="")
    ckpt = record["best_checkpoint"] or record["last_checkpoint"]
    records = predict(
        compose_config([f"ckpt_path={ckpt}", f"inputs={csv}"], tmp_path / "p", "predict")
    )
    # the same classes as the model's forward pass on the datamodule's (scaled) test split
    model = restore(ckpt)
    model.datamodule.setup()
    with torch.no_grad():
        expected = model.module(model.datamodule.splits["test"][0]).argmax(1).tolist()
    assert [r["top_k"][0][0] for r in records] == [model.class_names[i] for i in expected]


def test_predict_needs_no_pretrained_weights_file(tmp_path: Path):
    """A fine-tuned torchvision model predicts without the weights file it started from."""
    import torchvision

    weights = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    data_dir = write_tiny_idx_dataset(tmp_path / "data")
    cfg = compose_config(
        [
            f"paths.data_dir={data_dir}",
            "print_config=false",
            "callbacks.progress_bar.enabled=false",
            "callbacks.model_summary.enabled=false",
            "model=torchvision",
            f"model.net.weights_file={weights}",
            "data.val_size=20",
            "data.batch_size=32",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=1",
        ],
        tmp_path / "run",
    )
    ckpt = train(cfg)["best_checkpoint"]
    weights.unlink()
    model = restore(ckpt, data_dir=str(data_dir))
    assert model.module.net.net.fc.out_features == 10
