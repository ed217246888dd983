"""``convnet train``, ``evaluate``, ``predict`` and ``summary`` on segmentation data: the
built-in shapes-seg and folders in both layouts, the run folder's metrics.json and
pictures, the mask PNG equal to the model's own argmax, and one-line errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnet
from convnet.cli import main
from convnet.cli.model_file import load_model, normalized
from convnet.data.shapes_seg import make_shapes_seg

pytest.importorskip("PIL", reason="Pillow writes the test images")
from PIL import Image  # noqa: E402


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_folder(root, layout="images-masks", count=12, size=16, seed=0, splits=("train", "test")):
    """A folder dataset of shapes-seg pictures as 8-bit PNGs with 0..3 masks."""
    for offset, split in enumerate(splits):
        images, masks, _ = make_shapes_seg(count, size=size, seed=seed + offset)
        if layout == "images-masks":
            image_dir, mask_dir = root / split / "images", root / split / "masks"
        else:
            image_dir, mask_dir = root / split, root / f"{split}annot"
        image_dir.mkdir(parents=True)
        mask_dir.mkdir(parents=True)
        for index in range(count):
            Image.fromarray((images[index, 0] * 255).astype(np.uint8)).save(image_dir / f"{index}.png")
            Image.fromarray(masks[index].astype(np.uint8)).save(mask_dir / f"{index}.png")
    (root / "classes.txt").write_text("background\nsquare\ndiamond\ndisc\n")


def test_train_shapes_seg_writes_metrics_and_pictures(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--dataset", "shapes-seg", "--limit", "48", "--epochs", "1",
                         "--arch", "unet depth=1 width=4", "--runs-dir", tmp_path, "--no-progress")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("convnet train: segmentation dataset shapes-seg")
    assert "mean IoU" in out and "IoU per class: background" in out
    run_dir = tmp_path / "shapes-seg"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    assert set(test["iou_per_class"]) == {"background", "square", "diamond", "disc"}
    assert 0 <= test["mean_iou"] <= 1 and 0 <= test["pixel_accuracy"] <= 1
    for picture in ("overlay.png", "iou.png", "curves.png"):
        assert (run_dir / picture).read_bytes()[:4] == b"\x89PNG"
    # evaluate finds the data again and prints the same figures as metrics.json
    code, out, err = run(capsys, "evaluate", run_dir / "model.safetensors")
    assert code == 0, err
    assert f"mean IoU {test['mean_iou']:.4f}" in out and "disc" in out


@pytest.mark.parametrize("layout", ["images-masks", "camvid"])
def test_a_folder_trains_evaluates_and_predicts(tmp_path, capsys, layout):
    root = tmp_path / "data"
    write_folder(root, layout)
    code, out, err = run(capsys, "train", "--dataset", f"folder:{root}", "--epochs", "1",
                         "--arch", "fcn depth=2 width=4", "--runs-dir", tmp_path / "runs",
                         "--name", "seg", "--no-progress", "--no-plots")
    assert code == 0, err
    assert "segmentation dataset" in out.splitlines()[0] and ("trainannot" in out) == (layout == "camvid")
    model_path = tmp_path / "runs" / "seg" / "model.safetensors"
    code, out, err = run(capsys, "evaluate", model_path)
    assert code == 0, err
    assert "pixel accuracy" in out
    # predict: the class-index PNG equals the model's own argmax on the normalised image
    image_path = root / "test" / ("images" if layout == "images-masks" else "") / "3.png"
    output = tmp_path / "out" / "mask.png"
    code, out, err = run(capsys, "predict", model_path, image_path, "-o", output)
    assert code == 0, err
    model, metadata = load_model(str(model_path))
    pixels = np.asarray(Image.open(image_path), np.float32)[None, None] / 255
    with convnet.no_grad():
        expected = model.eval()(normalized(pixels, metadata)).data[0].argmax(axis=0)
    written = Image.open(output)
    assert written.mode == "P"
    np.testing.assert_array_equal(np.asarray(written), expected)
    overlay = Image.open(tmp_path / "out" / "mask-overlay.png")
    assert overlay.mode == "RGB" and overlay.size == written.size


def test_bad_segmentation_data_is_one_line_and_exit_2(tmp_path, capsys):
    root = tmp_path / "data"
    write_folder(root, count=4)
    Image.fromarray(np.full((16, 16), 7, np.uint8)).save(root / "train" / "masks" / "2.png")
    code, out, err = run(capsys, "train", "--dataset", f"folder:{root}", "--epochs", "1",
                         "--runs-dir", tmp_path, "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "2.png" in err and "mask value 7" in err


def test_a_classifier_on_masks_and_a_segmenter_on_classes_are_refused(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--dataset", "shapes-seg", "--model", "lenet",
                       "--runs-dir", tmp_path)
    assert code == 2 and "has masks" in err
    code, _, err = run(capsys, "train", "--dataset", "digits", "--model", "unet",
                       "--runs-dir", tmp_path)
    assert code == 2 and "label per image" in err
    code, _, err = run(capsys, "train", "--dataset", "shapes-seg", "--image-size", "3x", "--runs-dir",
                       tmp_path)
    assert code == 2 and "--image-size" in err


def test_summary_of_unet_shows_receptive_fields(capsys):
    code, out, err = run(capsys, "summary", "unet", "--input-shape", "3,128,128")
    assert code == 0, err
    head = next(line for line in out.splitlines() if line.startswith("head"))
    assert "1x10x128x128" in head and "?" not in head
    assert "Total params: 482,890" in out
