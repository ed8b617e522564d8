"""Object detection end to end: generated canvases, TinySSD training with mAP and figures,
predict.py's PNGs and boxes, the COCO reader, and torchvision's detectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from detection_data import write_coco_split
from dlzoo.commands.export import export
from dlzoo.commands.predict import predict
from dlzoo.commands.train import train
from dlzoo.config.restore import restore
from dlzoo.data.banana import BananaDataModule
from dlzoo.data.coco import CocoDetectionDataModule
from dlzoo.data.detection import DetectionBatches
from dlzoo.data.fashion_detection import VISIBLE, FashionDetectionDataModule
from dlzoo.errors import DataError
from image_data import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

#: tiny canvases: 64 px, few of them, so a run takes seconds
TINY = [
    "data=fashion_detection",
    "data.image_size=64",
    "data.item_size=[16,32]",
    "data.num_train=48",
    "data.num_val=16",
    "data.num_test=16",
    "data.batch_size=16",
    "data.eval_batch_size=16",
    "trainer.num_sanity_val_steps=0",
]
SSD = ["model=ssd_tiny", "model.net.base_channels=[4,8,8]", "model.net.channels=8"]


def canvases(data_dir: Path, **options) -> FashionDetectionDataModule:
    options = {"image_size": 64, "item_size": (16, 32), "num_train": 20, "num_val": 5,
               "num_test": 5, **options}  # fmt: skip
    dm = FashionDetectionDataModule(data_dir=str(data_dir), download=False, **options)
    dm.setup()
    return dm


def test_canvases_are_seeded_and_boxes_tight(tiny_data_dir):
    a = canvases(tiny_data_dir, background="black", max_items=1)
    b = canvases(tiny_data_dir, background="black", max_items=1)
    for split in ("train", "val", "test"):
        assert torch.equal(a.splits[split][0], b.splits[split][0])
    images, targets = a.splits["train"]
    assert images.shape == (20, 3, 64, 64) and images.dtype == torch.uint8
    for image, target in zip(images, targets, strict=True):
        (x1, y1, x2, y2), label = target["boxes"][0].int().tolist(), int(target["labels"][0])
        assert 0 <= label < 10 and 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 64
        bright = image.amax(dim=0) > VISIBLE * 255  # surely item pixels: all inside the box
        ys, xs = torch.nonzero(bright, as_tuple=True)
        assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2
        inside = image.amax(dim=0)[y1:y2, x1:x2] > VISIBLE * 0.6 * 255  # the box is tight
        assert inside[:, 0].any() and inside[:, -1].any() and inside[0].any() and inside[-1].any()
    other = canvases(tiny_data_dir, data_seed=1)
    assert not torch.equal(other.splits["train"][0], canvases(tiny_data_dir).splits["train"][0])


def test_bad_options_name_the_value(tiny_data_dir):
    with pytest.raises(Exception, match=r"data.item_size=\[16, 99\]"):
        FashionDetectionDataModule(data_dir=str(tiny_data_dir), image_size=64, item_size=(16, 99))
    with pytest.raises(Exception, match="data.background='plaid'"):
        FashionDetectionDataModule(data_dir=str(tiny_data_dir), background="plaid")


def test_detection_batches_resume_mid_epoch(tiny_data_dir):
    images, targets = canvases(tiny_data_dir).splits["train"]
    loader = DetectionBatches(images, targets, batch_size=6, shuffle=True, seed=3)
    full = [t for _, ts in loader for t in ts]
    again = DetectionBatches(images, targets, batch_size=6, shuffle=True, seed=3)
    it = iter(again)
    next(it)
    state = again.state_dict()
    resumed = DetectionBatches(images, targets, batch_size=6, shuffle=True, seed=3)
    resumed.load_state_dict(state)
    rest = [t for _, ts in resumed for t in ts]
    assert [id(t) for t in rest] == [id(t) for t in full[6:]]


def image_tags(run_dir: Path) -> set[str]:
    tags: set[str] = set()
    for path in sorted((run_dir / "tensorboard").rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={"images": 0})
        acc.Reload()
        tags |= set(acc.Tags()["images"])
    return tags


def test_ssd_tiny_trains_logs_boxes_and_predict_matches_its_own_detections(
    make_cfg, tmp_path, capsys
):
    cfg = make_cfg(*TINY, *SSD, "trainer.max_epochs=1")
    record = train(cfg)
    assert record["monitor"] == "val/map_50"
    for key in ("test/map", "test/map_50", "test/map_75", "test/class_err", "test/box_mae"):
        assert key in record["metrics"]
    assert {"val/boxes", "anchors"} <= image_tags(Path(cfg.paths.output_dir))

    # three test canvases as PNG files -> predict.py -> the model's own detections
    model = restore(record["last_checkpoint"], data_dir=str(cfg.paths.data_dir))
    model.datamodule.setup()
    images, _ = model.datamodule.splits["test"]
    files = []
    for i in range(3):
        files.append(tmp_path / f"canvas{i}.png")
        Image.fromarray(images[i].permute(1, 2, 0).numpy()).save(files[i])
    out = tmp_path / "predicted"
    pcfg = make_cfg(
        f"ckpt_path={record['last_checkpoint']}", f"inputs=[{','.join(map(str, files))}]",
        "score_threshold=0.05", "nms_iou=0.4", f"output_dir={out}", config_name="predict",
    )  # fmt: skip
    predict(pcfg)
    written = json.loads((out / "predictions.json").read_text())
    own = model.module.detect(model.datamodule.preprocess(images[:3]), 0.05, 0.4)
    names = model.class_names
    for record_, expected in zip(written, own, strict=True):
        assert Path(record_["image"]).is_file()
        got = torch.tensor([[b["x1"], b["y1"], b["x2"], b["y2"]] for b in record_["boxes"]])
        assert [b["class"] for b in record_["boxes"]] == [names[int(c)] for c in expected["labels"]]
        scores = torch.tensor([b["score"] for b in record_["boxes"]])
        torch.testing.assert_close(scores, expected["scores"], atol=1e-5, rtol=0)
        torch.testing.assert_close(got.reshape(-1, 4), expected["boxes"], atol=1e-2, rtol=0)
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "input,class,score,x1,y1,x2,y2"
    assert len(lines) - 1 == sum(len(r["boxes"]) for r in written)

    # issue 31, cases 9 and 22: a second prediction into the folder (one image, nothing
    # above score_threshold=1) leaves no drawing of the first, and says what to lower
    again = make_cfg(f"ckpt_path={record['last_checkpoint']}", f"inputs=[{files[2]}]",
                     "score_threshold=1.0", f"output_dir={out}", config_name="predict")  # fmt: skip
    predict(again)
    assert sorted(p.name for p in out.glob("*_boxes.png")) == ["canvas2_boxes.png"]
    said = capsys.readouterr().out
    assert "0 boxes scored score_threshold=1.0 or more (the best scored 0." in said, said

    # issue 31, case 4: the ONNX file's outputs are named, and its sidecar says how to
    # decode them and how the canvas was made
    import onnx

    exported = export(make_cfg(f"ckpt_path={record['last_checkpoint']}", "format=onnx",
                               f"output={tmp_path / 'ssd.onnx'}", config_name="export"))  # fmt: skip
    graph = onnx.load(str(exported)).graph
    assert [o.name for o in graph.output] == ["anchors", "class_scores", "box_offsets"]
    sidecar = json.loads((tmp_path / "ssd.onnx.json").read_text())
    assert sidecar["output_names"] == ["anchors", "class_scores", "box_offsets"]
    assert "non-maximum suppression" in sidecar["outputs"]["decoding"]
    assert sidecar["resize"].startswith("letterbox") and sidecar["canvas"]


def test_coco_folder_gives_the_same_map_as_the_generated_canvases(make_cfg, tmp_path):
    # long enough (8 epochs, a few seconds) for a mAP above zero on the tiny items
    learn = [*SSD, "model.net.base_channels=[8,16,16]", "model.net.channels=16",
             "optimizer.lr=0.01", "trainer.max_epochs=8", "seed=5", "data.max_items=2"]  # fmt: skip
    generated = make_cfg(*TINY, *learn)
    dm = canvases(Path(generated.paths.data_dir), image_size=64, num_train=48, num_val=16,
                  num_test=16, max_items=2)  # fmt: skip
    root = tmp_path / "coco"
    for split, (images, targets) in dm.splits.items():
        write_coco_split(root, split, images, targets, dm.class_names)
    first = train(generated)["metrics"]
    coco_cfg = make_cfg(
        *[o for o in TINY if not o.startswith(("data=", "data.num", "data.item"))],
        "data=coco", f"data.root={root}", *learn[:-1],
    )  # fmt: skip
    with_coco = train(coco_cfg)["metrics"]
    assert first["test/map_50"] > 0
    assert with_coco["test/map_50"] == pytest.approx(first["test/map_50"], abs=0.01)
    assert with_coco["test/map"] == pytest.approx(first["test/map"], abs=0.01)
    for key in ("test/loss", "test/class_err", "test/box_mae"):  # the same data, to rounding
        assert with_coco[key] == pytest.approx(first[key], rel=1e-4)


def test_coco_bad_annotations_are_named_or_skipped(tmp_path, tiny_data_dir):
    dm = canvases(tiny_data_dir)
    root = tmp_path / "coco"
    for split, (images, targets) in dm.splits.items():
        path = write_coco_split(root, split, images, targets, dm.class_names)
    data = json.loads(path.read_text())  # the test split: break three annotations
    data["annotations"][0]["bbox"] = [50, 50, 40, 10]  # outside the 64x64 image
    data["annotations"][1]["bbox"][2] = 0  # zero area
    data["annotations"][2]["category_id"] = 77
    path.write_text(json.dumps(data))
    (root / "test" / "00004.png").unlink()
    with pytest.raises(DataError) as err:
        CocoDetectionDataModule(root=str(root), image_size=64).setup()
    message = str(err.value)
    for words in ("4 bad", "outside the 64x64 image", "zero area", "unknown category_id 77",
                  "00004.png does not exist", "data.on_bad=skip"):  # fmt: skip
        assert words in message
    skipped = CocoDetectionDataModule(root=str(root), image_size=64, on_bad="skip")
    skipped.setup()
    assert len(skipped.splits["test"][0]) == 4
    assert skipped.class_names == dm.class_names


def test_case_3_a_category_id_listed_twice_or_renamed_is_refused(tmp_path, tiny_data_dir):
    """Issue 31, case 3: {2: green} and {2: lime} would train every id-2 box as "lime"."""
    dm = canvases(tiny_data_dir)
    root = tmp_path / "coco"
    paths = {split: write_coco_split(root, split, *dm.splits[split], dm.class_names)
             for split in dm.splits}  # fmt: skip
    test_file = paths["test"]
    renamed = json.loads(test_file.read_text())
    renamed["categories"][0]["name"] = "something else"
    test_file.write_text(json.dumps(renamed))
    with pytest.raises(DataError, match=r"category id \S+ is 'something else' here but"):
        CocoDetectionDataModule(root=str(root), image_size=64).setup()
    train = json.loads(paths["train"].read_text())
    first = train["categories"][0]
    train["categories"].append({"id": first["id"], "name": "lime"})
    paths["train"].write_text(json.dumps(train))
    with pytest.raises(DataError, match=rf"category id {first['id']} is listed twice"):
        _ = CocoDetectionDataModule(root=str(root), image_size=64).class_names


#: fewer region proposals and sampled regions than torchvision's defaults: the R-CNN box
#: heads then cost seconds, not a minute, on a CPU
FEW_REGIONS = [
    "+model.net.options.rpn_post_nms_top_n_train=50",
    "+model.net.options.rpn_post_nms_top_n_test=50",
    "+model.net.options.box_batch_size_per_image=16",
]


@pytest.mark.parametrize(
    "name",
    [
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        "fasterrcnn_resnet50_fpn_v2",
        "retinanet_resnet50_fpn_v2",
        "fcos_resnet50_fpn",
        "ssdlite320_mobilenet_v3_large",
    ],
)
def test_torchvision_detectors_fast_dev_run(make_cfg, name):
    options = FEW_REGIONS if name.startswith("fasterrcnn") else []
    cfg = make_cfg(*TINY, "model=torchvision_detection", f"model.net.name={name}", *options,
                   "+trainer.fast_dev_run=2", "data.batch_size=2", "data.eval_batch_size=2",
                   "test=false")  # fmt: skip
    record = train(cfg)
    assert record["status"] == "completed"


def test_unknown_torchvision_detector_is_named(make_cfg):
    cfg = make_cfg(*TINY, "model=torchvision_detection", "model.net.name=fasterrcnn_tiny")
    with pytest.raises(
        Exception, match="model.net.name='fasterrcnn_tiny'.*fasterrcnn_resnet50_fpn_v2"
    ):
        train(cfg)


def write_bananas(root: Path, n: int = 10) -> None:
    """The book's layout: bananas_{train,val}/label.csv and images/ (one box per image)."""
    for folder in ("bananas_train", "bananas_val"):
        images = root / "banana-detection" / folder / "images"
        images.mkdir(parents=True)
        rows = ["img_name,label,xmin,ymin,xmax,ymax"]
        for i in range(n):
            Image.new("RGB", (32, 32), (i * 20, 90, 40)).save(images / f"{i}.png")
            rows.append(f"{i}.png,0,{i},4,{i + 10},20")
        (images.parent / "label.csv").write_text("\n".join(rows) + "\n")


def test_banana_layout_is_read_and_a_missing_one_explained(tmp_path):
    with pytest.raises(DataError, match="banana-detection folder.*bananas_train"):
        BananaDataModule(data_dir=str(tmp_path), download=False).setup()
    write_bananas(tmp_path)
    dm = BananaDataModule(data_dir=str(tmp_path), download=False, image_size=64)
    dm.setup()
    assert dm.split_sizes() == {"train": 9, "val": 1, "test": 10}
    assert dm.spec.class_names == ("banana",) and dm.spec.input_shape == (3, 64, 64)
    boxes = torch.cat([t["boxes"] for t in dm.splits["test"][1]])
    assert boxes[3].tolist() == [6.0, 8.0, 26.0, 40.0]  # 32 -> 64 px: boxes scaled by 2
