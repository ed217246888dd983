"""Segmentation data: the shapes-seg generator and folders of images and masks in both
layouts, each bad input a DatasetError naming the file and the value."""

from __future__ import annotations

import os

import numpy as np
import pytest

from convnet.data import DatasetError
from convnet.data.segmentation_folder import detect_layout, load_segmentation_folder
from convnet.data.shapes_seg import CLASSES, make_shapes_seg

pytest.importorskip("PIL", reason="Pillow writes the test images")
from PIL import Image  # noqa: E402


def test_shapes_seg_is_seeded_and_labels_its_shapes():
    images, masks, classes = make_shapes_seg(20, size=32, seed=3)
    again, masks_again, _ = make_shapes_seg(20, size=32, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, masks_again)
    assert classes == CLASSES and set(np.unique(masks)) == {0, 1, 2, 3}
    # a shape's pixels are bright, the background's dark: the mask follows the picture
    assert images[:, 0][masks > 0].min() >= 0.6 and images[:, 0][masks == 0].mean() < 0.3


def write_pair(image_path, mask_path, mask, colour=False, image_size=None):
    os.makedirs(os.path.dirname(image_path), exist_ok=True)
    os.makedirs(os.path.dirname(mask_path), exist_ok=True)
    height, width = image_size or mask.shape
    Image.new("RGB" if colour else "L", (width, height), 100).save(image_path)
    Image.fromarray(mask.astype(np.uint8)).save(mask_path)


def images_masks_layout(root, masks, split="train", **kwargs):
    for index, mask in enumerate(masks):
        write_pair(root / split / "images" / f"{index}.png", root / split / "masks" / f"{index}.png",
                   mask, **kwargs)


def test_both_layouts_and_classes_txt(tmp_path):
    mask = np.array([[0, 1, 2], [2, 255, 0]])
    images_masks_layout(tmp_path / "a", [mask, mask[::-1]])
    (tmp_path / "a" / "classes.txt").write_text("sky\nroad\ncar\n")
    images, masks, classes = load_segmentation_folder(str(tmp_path / "a"), "train")
    assert detect_layout(str(tmp_path / "a")) == "images-masks"
    assert images.shape == (2, 1, 2, 3) and classes == ["sky", "road", "car"]
    np.testing.assert_array_equal(masks[0], mask)
    for index, m in enumerate([mask, mask[::-1]]):
        write_pair(tmp_path / "c" / "train" / f"{index}.png",
                   tmp_path / "c" / "trainannot" / f"{index}.png", m, colour=True)
    images, masks, classes = load_segmentation_folder(str(tmp_path / "c"), "train")
    assert detect_layout(str(tmp_path / "c")) == "camvid"
    assert images.shape == (2, 3, 2, 3) and classes == ["0", "1", "2"]
    np.testing.assert_array_equal(masks[1], mask[::-1])


def test_a_binary_mask_set_and_resizing(tmp_path):
    mask = np.zeros((4, 6), int)
    mask[:, 3:] = 255
    images_masks_layout(tmp_path, [mask])
    images, masks, classes = load_segmentation_folder(str(tmp_path), "train", size=(2, 3))
    assert classes == ["0", "1"] and images.shape == (1, 1, 2, 3)
    # nearest neighbour samples each output pixel's centre: columns 1, 3, 5 of 6 (no new values)
    np.testing.assert_array_equal(masks[0], [[0, 1, 1], [0, 1, 1]])


@pytest.mark.parametrize("damage, fragment", [
    ("size", "mask of 4x3 for an image of 5x3"),
    ("value", "mask value 7 is neither one of the 3 classes"),
    ("no mask", "no mask for this image"),
    ("no image", "no image for this mask"),
    ("rgb mask", "must hold class indices (mode L or P), got a RGB image"),
    ("empty", "holds no images"),
])
def test_bad_input_is_one_error_naming_the_file(tmp_path, damage, fragment):
    mask = np.array([[0, 1, 2, 1]] * 3)
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    if damage == "empty":
        os.makedirs(tmp_path / "train" / "images")
        os.makedirs(tmp_path / "train" / "masks")
    else:
        images_masks_layout(tmp_path, [mask], image_size=(3, 5) if damage == "size" else None)
    path = tmp_path / "train" / "masks" / "0.png"
    if damage == "value":
        Image.fromarray(np.where(mask == 2, 7, mask).astype(np.uint8)).save(path)
    elif damage == "no mask":
        os.remove(path)
    elif damage == "no image":
        os.remove(tmp_path / "train" / "images" / "0.png")
    elif damage == "rgb mask":
        Image.new("RGB", (4, 3)).save(path)
    with pytest.raises(DatasetError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_segmentation_folder(str(tmp_path), "train")
