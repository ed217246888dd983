"""torchvision.utils' pictures of tensors: ``make_grid``, ``save_image``,
``draw_segmentation_masks``, with torchvision's arguments and results.

Example:
    >>> import convnet
    >>> from convnet.vision.utils import make_grid
    >>> make_grid(convnet.zeros(10, 3, 8, 8), nrow=4).shape
    (3, 32, 42)
"""

from __future__ import annotations

import math

import numpy as np

from ..io.atomic import atomic_write
from ..tensor import Tensor

__all__ = ["make_grid", "save_image", "draw_segmentation_masks"]


def _array(tensor) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        return np.stack([_array(t) for t in tensor])
    return np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)


def _normalise(images: np.ndarray, value_range, scale_each: bool) -> np.ndarray:
    def scale(part, low, high):
        clipped = np.clip(part, low, high)
        return (clipped - low) / max(high - low, 1e-5)

    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                        "are numbers")
    if scale_each:
        return np.stack([scale(image, *(value_range or (image.min(), image.max())))
                         for image in images])
    low, high = value_range or (images.min(), images.max())
    return scale(images, low, high)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Images (N, C, H, W) (or a list of (C, H, W)) laid out ``nrow`` to a row with
    ``padding`` pixels of ``pad_value`` between and around them; one-channel images become
    three channels, as torchvision's.

    Shape: (C', (H + padding) * rows + padding, (W + padding) * columns + padding).
    """
    images = _array(tensor).copy()
    if images.ndim == 2:                      # one (H, W) image
        images = images[None]
    if images.ndim == 3:                      # one (C, H, W) image
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"make_grid: expected (N, C, H, W) images, got shape {images.shape}")
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, axis=1)
    if normalize:
        images = _normalise(images.astype(np.result_type(images.dtype, np.float32)),
                            value_range, scale_each)
    if images.shape[0] == 1:
        return Tensor(images[0])
    count, channels, height, width = images.shape
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    cell_h, cell_w = height + padding, width + padding
    grid = np.full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value,
                   dtype=images.dtype)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * cell_h + padding, column * cell_w + padding
        grid[:, top:top + height, left:left + width] = images[index]
    return Tensor(grid)


def save_image(tensor, fp, format=None, **kwargs) -> None:  # noqa: A002 - torchvision's name
    """Save images in [0, 1] as one picture (a grid when several): ``make_grid``'s keyword
    arguments apply; values become ``clip(x * 255 + 0.5, 0, 255)`` bytes, as torchvision's.
    A path is written atomically."""
    from PIL import Image
    grid = _array(make_grid(tensor, **kwargs))
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    if hasattr(fp, "write"):
        picture.save(fp, format=format)
        return
    with atomic_write(fp) as handle:
        picture.save(handle, format=format or _format_of(str(fp)))


def _format_of(path: str) -> str:
    from PIL import Image
    Image.init()
    extension = "." + path.rsplit(".", 1)[-1].lower()
    if extension not in Image.EXTENSION:
        raise ValueError(f"save_image: unknown image file extension {extension!r} in {path!r}")
    return Image.EXTENSION[extension]


def _colour(value) -> tuple[int, int, int]:
    if isinstance(value, str):
        from PIL import ImageColor
        return ImageColor.getrgb(value)[:3]
    return tuple(int(v) for v in value)


def _palette(count: int) -> list[tuple[int, int, int]]:
    """torchvision's default colours: a fixed arithmetic palette per mask index."""
    base = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [tuple(int(v) for v in (index * base) % 255) for index in range(count)]


def draw_segmentation_masks(image, masks, alpha: float = 0.8, colors=None) -> Tensor:
    """``image`` (3, H, W), uint8 or float in [0, 1], with each boolean mask of ``masks``
    ((K, H, W) or (H, W)) painted in its colour at opacity ``alpha``; where masks overlap
    the pixel is black, as torchvision's."""
    picture = _array(image)
    mask_array = _array(masks)
    if picture.ndim != 3 or picture.shape[0] != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")
    if mask_array.ndim == 2:
        mask_array = mask_array[None]
    if mask_array.ndim != 3 or mask_array.dtype != np.bool_:
        raise ValueError("masks must be of shape (H, W) or (num_masks, H, W) and of type "
                         "bool")
    if mask_array.shape[1:] != picture.shape[1:]:
        raise ValueError("The image and the masks must have the same height and width")
    count = mask_array.shape[0]
    if colors is None:
        colours = _palette(count)
    elif isinstance(colors, list):
        if len(colors) < count:
            raise ValueError(f"Number of colors ({len(colors)}) is less than number of masks "
                             f"({count})")
        colours = [_colour(c) for c in colors]
    else:
        colours = [_colour(colors)] * count
    if count == 0:
        return Tensor(picture)
    floating = picture.dtype.kind == "f"
    # as torchvision: colours in the image's dtype, pixels of overlapping masks black, and
    # the blend in float32 (uint8 images truncated back)
    painted = picture.copy()
    for mask, colour in zip(mask_array, colours):
        value = np.asarray(colour, np.float64) / (255.0 if floating else 1.0)
        painted[:, mask] = value.astype(picture.dtype)[:, None]
    painted[:, mask_array.sum(axis=0) > 1] = 0
    work = np.float32 if not floating else picture.dtype
    blended = picture.astype(work) * np.asarray(1 - alpha, work) + painted.astype(work) * \
        np.asarray(alpha, work)
    return Tensor(blended.astype(picture.dtype))          # uint8 truncates, as torch's .to
