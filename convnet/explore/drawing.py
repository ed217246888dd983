"""A drawing on the explorer's canvas, prepared as the model's training images were.

A digit drawn in a corner of a big canvas, scaled down whole, is a smudge that no digits
model has seen; the datasets' own images were normalised first. Two recipes, chosen by the
dataset the model was trained on:

- ``'digits'`` (scikit-learn's 8x8 digits, from UCI's optdigits): the drawing is cropped to
  its bounding box, scaled (aspect kept) to fill a 32x32 box, centred, thresholded to a
  bitmap, and each 4x4 block's ink count becomes one pixel (0-16, divided by 16).
- ``'mnist'`` (MNIST, EMNIST, KMNIST): cropped to the bounding box, scaled (aspect kept,
  anti-aliased) to fit a 20x20 box, and placed in 28x28 with its centre of mass at the
  centre, as LeCun et al. describe MNIST's preparation.

Anything else (or a photo uploaded as a file) is resized whole, as before.

Example:
    >>> import numpy as np
    >>> canvas = np.zeros((200, 200), np.float32)
    >>> canvas[20:60, 130:140] = 1                      # a small '1' in a corner
    >>> image, how = prepare_drawing(canvas, 'digits', (1, 8, 8))
    >>> image.shape, float(image[0].max()), how.split(',')[0]
    ((1, 8, 8), 1.0, 'cropped to its bounding box')
    >>> bool(image[0, :, 3:5].sum() > 0.8 * image[0].sum())   # now centred, full height
    True
"""

from __future__ import annotations

import numpy as np

# the dataset a model was trained on -> the recipe its drawings get
RECIPES = {"digits": "digits", "mnist": "mnist", "emnist": "mnist", "kmnist": "mnist"}
INK = 0.5          # a canvas pixel brighter than this is ink


def recipe_for(dataset) -> str | None:
    """The drawing recipe of a model trained on ``dataset`` (its name, as ``convnet train``
    stores it), or None: resize the whole canvas."""
    if not isinstance(dataset, str):
        return None
    return RECIPES.get(dataset.lower())


def _bounding_box(canvas: np.ndarray):
    rows, cols = np.nonzero(canvas > INK)
    if rows.size == 0:
        return None
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def _scaled(crop: np.ndarray, longest: int, binary: bool) -> np.ndarray:
    """``crop`` (h, w) in [0, 1] resized so that its longer side is ``longest`` pixels."""
    from PIL import Image
    h, w = crop.shape
    factor = longest / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    picture = Image.fromarray(np.rint(crop * 255).astype(np.uint8))
    scaled = np.asarray(picture.resize(size, Image.Resampling.BOX), np.float32) / 255
    return (scaled > INK).astype(np.float32) if binary else scaled


def _paste_centred(picture: np.ndarray, size: int) -> np.ndarray:
    box = np.zeros((size, size), np.float32)
    h, w = picture.shape
    top, left = (size - h) // 2, (size - w) // 2
    box[top:top + h, left:left + w] = picture
    return box


def digits_style(canvas: np.ndarray) -> np.ndarray:
    """(8, 8) in [0, 1]: the optdigits recipe (see the module docstring)."""
    box = _bounding_box(canvas)
    if box is None:
        return np.zeros((8, 8), np.float32)
    top, bottom, left, right = box
    bitmap = _paste_centred(_scaled(canvas[top:bottom, left:right], 32, binary=True), 32)
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)) / 16


def mnist_style(canvas: np.ndarray) -> np.ndarray:
    """(28, 28) in [0, 1]: the MNIST recipe (see the module docstring)."""
    box = _bounding_box(canvas)
    if box is None:
        return np.zeros((28, 28), np.float32)
    top, bottom, left, right = box
    picture = _scaled(canvas[top:bottom, left:right], 20, binary=False)
    h, w = picture.shape
    rows, cols = np.mgrid[0:h, 0:w]
    mass = picture.sum()
    centre_y = (rows * picture).sum() / mass if mass > 0 else (h - 1) / 2
    centre_x = (cols * picture).sum() / mass if mass > 0 else (w - 1) / 2
    top = int(np.clip(np.rint(13.5 - centre_y), 0, 28 - h))
    left = int(np.clip(np.rint(13.5 - centre_x), 0, 28 - w))
    image = np.zeros((28, 28), np.float32)
    image[top:top + h, left:left + w] = picture
    return image


DESCRIPTIONS = {
    "digits": "cropped to its bounding box, scaled to fill 32x32 (aspect kept), thresholded, "
              "and each 4x4 block's ink counted: 8x8, as scikit-learn's digits were made",
    "mnist": "cropped to its bounding box, scaled to fit 20x20 (aspect kept) and centred by "
             "its centre of mass in 28x28, as MNIST's digits were made",
}


def prepare_drawing(canvas: np.ndarray, recipe: str | None, input_shape) -> tuple:
    """``(image (C, H, W) in [0, 1], a sentence saying what was done)`` for a grey
    ``canvas`` (H, W) in [0, 1], white ink on black. Without a recipe, or when the recipe's
    size is not the model's, the canvas is resized whole."""
    channels, height, width = input_shape
    size = {"digits": (8, 8), "mnist": (28, 28)}.get(recipe)
    if channels == 1 and size == (height, width):
        image = digits_style(canvas) if recipe == "digits" else mnist_style(canvas)
        return image[None].astype(np.float32), DESCRIPTIONS[recipe]
    from PIL import Image
    picture = Image.fromarray(np.rint(np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    resized = np.asarray(picture.resize((width, height), Image.Resampling.BOX), np.float32) / 255
    image = np.repeat(resized[None], channels, axis=0)
    return image, f"the whole canvas resized to {height}x{width}"
