"""Images in folders, one sub-folder per class (``folder:PATH``), read with Pillow.

Layout: ``PATH/<class>/<image>``; the classes are the sub-folder names in sorted order
(label 0 is the first). When ``PATH`` has ``train/`` and ``test/`` sub-folders, each of
them is such a layout and ``split`` picks one; otherwise the whole of ``PATH`` is the
``train`` split (asking for ``test`` is an error: split it with :func:`random_split`).
Hidden files and files of other types are skipped.

- Colour: ``mode='L'`` (1 channel) or ``'RGB'`` (3 channels); by default the majority of the
  images decides (grayscale images are ``1``, ``L``, ``LA``, 16-bit ``I;16``/``I`` and float ``F``; see :mod:`convnet.data.image_file`; a tie
  gives RGB). Every image is converted to that mode.
- Size: ``size=(height, width)`` (or an int for a square); by default the most common
  size among the images (ties: the largest). Images of another size are resized to it
  with bilinear filtering (aspect ratio not kept).

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> root = tempfile.TemporaryDirectory()
    >>> for label in ('cat', 'dog'):
    ...     os.makedirs(os.path.join(root.name, label))
    ...     Image.new('L', (4, 3), 200).save(os.path.join(root.name, label, 'a.png'))
    >>> images, labels, classes = load_folder(root.name)
    >>> images.shape, labels.tolist(), classes
    ((2, 1, 3, 4), [0, 1], ['cat', 'dog'])
    >>> root.cleanup()
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from .download import DatasetError
from .image_file import GRAY_MODES, open_image, read_image

__all__ = ["load_folder", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                    ".pgm", ".pbm")


def _class_folders(root: str) -> list[str]:
    return sorted(entry for entry in os.listdir(root)
                  if not entry.startswith(".") and os.path.isdir(os.path.join(root, entry)))


def _image_files(folder: str) -> list[str]:
    return sorted(os.path.join(folder, entry) for entry in os.listdir(folder)
                  if not entry.startswith(".") and entry.lower().endswith(IMAGE_EXTENSIONS))


def _resolve_size(size, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    if size is None:
        counts = Counter(sizes)
        return max(counts, key=lambda hw: (counts[hw], hw))
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size > 0:
        return int(size), int(size)
    if (isinstance(size, (tuple, list)) and len(size) == 2
            and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size)):
        return int(size[0]), int(size[1])
    raise DatasetError(f"folder: size={size!r}, expected a positive int or (height, width)")


def load_folder(path: str, split: str = "train", mode: str | None = None, size=None):
    """``(images (N, C, H, W) float32 in [0, 1], labels (N,) int64, classes)`` from ``path``.

    Example:
        >>> load_folder('/nonexistent')
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: folder:/nonexistent: not a directory
    """
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise DatasetError("folder: needs Pillow, which is not installed (pip install Pillow)") from None
    if mode not in (None, "L", "RGB"):
        raise DatasetError(f"folder: mode={mode!r}, expected 'L', 'RGB' or None (majority)")
    if not os.path.isdir(path):
        raise DatasetError(f"folder:{path}: not a directory")
    root = path
    if os.path.isdir(os.path.join(path, "train")) and os.path.isdir(os.path.join(path, "test")):
        root = os.path.join(path, split)
    elif split != "train":
        raise DatasetError(f"folder:{path}: no train/ and test/ sub-folders, so no {split!r} "
                           "split (use random_split on the training set)")
    classes = _class_folders(root)
    if not classes:
        raise DatasetError(f"folder:{root}: no class sub-folders (expected {root}/<class>/<image>)")
    files, labels = [], []
    for label, name in enumerate(classes):
        found = _image_files(os.path.join(root, name))
        if not found:
            raise DatasetError(f"folder:{root}: class folder {name!r} has no images "
                               f"({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [label] * len(found)
    headers = []
    for file in files:  # headers only: modes and sizes decide the conversion
        with open_image(file) as picture:
            headers.append((picture.mode, picture.height, picture.width))
    if mode is None:
        gray = sum(picture_mode in GRAY_MODES for picture_mode, _, _ in headers)
        mode = "L" if gray > len(headers) - gray else "RGB"
    height, width = _resolve_size(size, [(h, w) for _, h, w in headers])
    images = np.stack([read_image(file, mode, (height, width)) for file in files])
    return images, np.asarray(labels, dtype=np.int64), classes
