"""Segmentation datasets in folders: images and masks of class indices, checked pair by pair.

Two layouts are recognised (:func:`detect_layout`):

- ``PATH/{train,val,test}/images/NAME.ext`` with ``PATH/{split}/masks/NAME.png``;
- the SegNet/CamVid layout: ``PATH/train`` with ``PATH/trainannot`` (and ``val``/``valannot``,
  ``test``/``testannot``), masks named as their images.

Masks are PNGs of class indices (mode L or P; a palette image's indices are the classes). A
mask set holding only 0 and 255 is binary (255 becomes class 1); otherwise ``ignore_index``
(255) marks unlabelled pixels. ``PATH/classes.txt`` (one name a line) names the classes;
without it they are numbered up to the largest value found. Every mistake is a
:class:`DatasetError` naming the file and the value: a mask of another size than its
image, a value that is neither a class nor the ignore label, an image without a mask or a
mask without an image, an RGB mask, an empty split.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for kind in ('images', 'masks'):
    ...     os.makedirs(os.path.join(root, 'train', kind))
    >>> Image.new('L', (4, 3), 90).save(os.path.join(root, 'train', 'images', 'a.png'))
    >>> Image.fromarray(np.array([[0, 255, 0, 0]] * 3, np.uint8)).save(
    ...     os.path.join(root, 'train', 'masks', 'a.png'))
    >>> images, masks, classes = load_segmentation_folder(root, 'train')
    >>> images.shape, masks[0, 0].tolist(), classes
    ((1, 1, 3, 4), [0, 1, 0, 0], ['0', '1'])
"""

from __future__ import annotations

import os

import numpy as np

from .download import DatasetError
from .folder import IMAGE_EXTENSIONS
from .image_file import GRAY_MODES, open_image, read_image

__all__ = ["detect_layout", "load_segmentation_folder", "SPLITS"]

SPLITS = ("train", "val", "test")


def detect_layout(root: str) -> str | None:
    """'images-masks', 'camvid' or None (not a segmentation folder)."""
    if os.path.isdir(os.path.join(root, "train", "images")) and \
            os.path.isdir(os.path.join(root, "train", "masks")):
        return "images-masks"
    if os.path.isdir(os.path.join(root, "train")) and os.path.isdir(os.path.join(root, "trainannot")):
        return "camvid"
    return None


def _folders(root: str, split: str, layout: str) -> tuple[str, str]:
    if layout == "images-masks":
        return os.path.join(root, split, "images"), os.path.join(root, split, "masks")
    return os.path.join(root, split), os.path.join(root, split + "annot")


def _stems(folder: str) -> dict[str, str]:
    return {os.path.splitext(name)[0]: os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)}


def _read_mask(path: str, size) -> np.ndarray:
    from PIL import Image
    with open_image(path) as picture:
        if picture.mode not in ("L", "P", "1"):
            raise DatasetError(f"{path}: a mask must hold class indices (mode L or P), got a "
                               f"{picture.mode} image; convert a colour mask to indices first")
        if size is not None and (picture.height, picture.width) != tuple(size):
            picture = picture.resize((size[1], size[0]), Image.Resampling.NEAREST)
        return np.asarray(picture, dtype=np.int64)


def load_segmentation_folder(root: str, split: str = "train", size=None, ignore_index: int = 255):
    """``(images (N, C, H, W) float32, masks (N, H, W) int64, classes)`` of one split.

    ``size``: ``(height, width)`` to resize to (images bilinear, masks nearest), else every
    image must have its mask's size.
    """
    layout = detect_layout(root)
    if layout is None:
        raise DatasetError(f"folder:{root}: not a segmentation folder (expected train/images and "
                           f"train/masks, or train and trainannot)")
    if split not in SPLITS:
        raise DatasetError(f"split: expected one of {SPLITS}, got {split!r}")
    image_folder, mask_folder = _folders(root, split, layout)
    if not os.path.isdir(image_folder):
        raise DatasetError(f"folder:{root}: no {split} split ({image_folder} is missing)")
    images, masks = _stems(image_folder), _stems(mask_folder) if os.path.isdir(mask_folder) else {}
    for stem in images:
        if stem not in masks:
            raise DatasetError(f"{images[stem]}: no mask for this image in {mask_folder}")
    for stem in masks:
        if stem not in images:
            raise DatasetError(f"{masks[stem]}: no image for this mask in {image_folder}")
    if not images:
        raise DatasetError(f"folder:{root}: the {split} split holds no images")
    stems = sorted(images)
    with open_image(images[stems[0]]) as first:
        mode = "L" if first.mode in GRAY_MODES else "RGB"
    image_arrays, mask_arrays = [], []
    for stem in stems:
        image = read_image(images[stem], mode, size)
        mask = _read_mask(masks[stem], size)
        if mask.shape != image.shape[1:]:
            raise DatasetError(f"{masks[stem]}: mask of {mask.shape[1]}x{mask.shape[0]} for an "
                               f"image of {image.shape[2]}x{image.shape[1]} ({images[stem]})")
        image_arrays.append(image)
        mask_arrays.append(mask)
    masks_array = np.stack(mask_arrays)
    values = np.unique(masks_array)
    names_path = os.path.join(root, "classes.txt")
    if os.path.isfile(names_path):
        with open(names_path, encoding="utf-8") as handle:
            classes = [line.strip() for line in handle if line.strip()]
    elif set(values.tolist()) <= {0, 255}:
        masks_array = np.where(masks_array == 255, 1, masks_array)       # a binary mask set
        classes = ["0", "1"]
    else:
        labelled = values[values != ignore_index]
        classes = [str(value) for value in range(int(labelled.max(initial=0)) + 1)]
    bad = values[(values != ignore_index) & (values >= len(classes))]
    if bad.size:
        where = next(masks[stem] for stem, mask in zip(stems, mask_arrays) if (mask == bad[0]).any())
        raise DatasetError(f"{where}: mask value {int(bad[0])} is neither one of the "
                           f"{len(classes)} classes nor the ignore label {ignore_index}")
    return np.stack(image_arrays), masks_array, classes
