"""One image file as a float array in [0, 1], for every command that reads a picture.

8-bit images are divided by 255; 16-bit grey images (modes ``I;16``, and ``I`` holding
values up to 65535) by 65535; floating-point images (mode ``F``) are taken as they are and
must hold values in [0, 1]. Only regular files are read, and an image whose pixel count
exceeds Pillow's decompression-bomb guard (``PIL.Image.MAX_IMAGE_PIXELS``) is refused
before it is decoded. Every failure is a :class:`DatasetError` (a ValueError) naming the file.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), 'deep.tif')
    >>> Image.fromarray(np.array([[0, 65535]], np.uint16)).save(path)
    >>> read_image(path, 'L').tolist()
    [[[0.0, 1.0]]]
"""

from __future__ import annotations

import os

import numpy as np

from .download import DatasetError

__all__ = ["open_image", "read_image", "GRAY_MODES"]

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
_DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "F")


def open_image(path: str):
    """The Pillow image of ``path``, header read and size checked, pixels not yet decoded."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError('reading images needs Pillow: pip install "convnet[data]"') from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"image: no such file: {path}")
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: not a regular file, expected an image")
    try:
        return Image.open(path)
    except Image.DecompressionBombError as error:
        raise DatasetError(f"{path}: refused, the image is too large to decode safely "
                           f"({error})") from None
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DatasetError(f"{path}: not a readable image ({error})") from None


def _deep_to_unit(picture, path: str) -> np.ndarray:
    """A 16-bit or float grey image as float32 (H, W) in [0, 1]."""
    array = np.asarray(picture, dtype=np.float64)
    if picture.mode == "F":
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if not (np.isfinite(array).all() and low >= 0 and high <= 1):
            raise DatasetError(f"{path}: a floating-point image with values in [{low:g}, {high:g}]; "
                               f"convnet reads float images whose values lie in [0, 1]")
        return array.astype(np.float32)
    if array.size and (array.min() < 0 or array.max() > 65535):
        raise DatasetError(f"{path}: a 32-bit integer image with values outside 0..65535")
    return (array / 65535.0).astype(np.float32)


def read_image(path: str, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """``path`` as float32 ``(C, H, W)`` in [0, 1]; ``mode`` 'L' (C = 1) or 'RGB' (C = 3).

    ``size``: ``(height, width)`` to resize to (bilinear), or None to keep the image's.
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode: expected 'L' or 'RGB', got {mode!r}")
    picture = open_image(path)
    from PIL import Image
    try:
        with picture:
            if picture.mode in _DEEP_MODES:
                plane = Image.fromarray(_deep_to_unit(picture, path), mode="F")
                if size is not None and (plane.height, plane.width) != tuple(size):
                    plane = plane.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                gray = np.clip(np.asarray(plane, dtype=np.float32), 0, 1)
                array = gray[None] if mode == "L" else np.repeat(gray[None], 3, axis=0)
                return np.ascontiguousarray(array)
            picture = picture.convert(mode)
            if size is not None and (picture.height, picture.width) != tuple(size):
                picture = picture.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(picture, dtype=np.float32) / np.float32(255)
    except Image.DecompressionBombError as error:
        raise DatasetError(f"{path}: refused, the image is too large to decode safely ({error})") from None
    except OSError as error:
        raise DatasetError(f"{path}: not a readable image ({error})") from None
    return np.ascontiguousarray(pixels[None] if mode == "L" else pixels.transpose(2, 0, 1))
