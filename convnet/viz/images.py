"""Images from arrays: the coloured edge-orientation picture and an atomic PNG writer.

Neither function needs matplotlib when Pillow is installed.
"""

from __future__ import annotations

import numpy as np

from ..io.atomic import atomic_write
from ._figure import INSTALL_HINT, as_numpy

__all__ = ["orientation_image", "save_image"]

# For each of the six hue sectors, which of (value, falling, 0, rising) is R, G and B
# (the HSV -> RGB rule at full saturation).
_SECTOR_SOURCES = np.array([[0, 1, 2, 2, 3, 0],
                            [3, 0, 0, 1, 2, 2],
                            [2, 2, 3, 0, 0, 1]])


def orientation_image(gx, gy):
    """Gradient orientation as colour and strength as brightness (seed 000's ``arctan(dy/dx)``).

    The hue is the angle ``atan2(gy, gx)`` going once round the colour wheel (0 deg
    red, 90 deg yellow-green, 180 deg cyan, 270 deg violet), saturation is full, and
    the brightness is the magnitude ``sqrt(gx**2 + gy**2)`` divided by its maximum, so
    flat regions are black and the strongest edge is at full brightness. ``gx`` and
    ``gy`` are typically the Sobel responses of seed 000 (``G_x`` = [[-1, 0, 1],
    [-2, 0, 2], [-1, 0, 1]] and its transpose ``G_y``); with image rows growing
    downwards, +y points down.

    Args:
        gx, gy: (H, W) horizontal and vertical derivatives (arrays or Tensors).

    Returns:
        (H, W, 3) float RGB in [0, 1], ready for :func:`save_image`.

    Example:
        >>> import numpy as np
        >>> rgb = orientation_image(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))
        >>> rgb.round(3).tolist()
        [[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    """
    gx, gy = as_numpy(gx, "gx"), as_numpy(gy, "gy")
    if gx.shape != gy.shape or gx.ndim != 2:
        raise ValueError(f"gx, gy: expected two (H, W) arrays of one shape, got {gx.shape} "
                         f"and {gy.shape}")
    dtype = np.result_type(gx.dtype, gy.dtype, np.float32)
    gx, gy = gx.astype(np.float64), gy.astype(np.float64)
    hue = (np.arctan2(gy, gx) / (2 * np.pi)) % 1.0
    magnitude = np.hypot(gx, gy)
    peak = magnitude.max(initial=0.0)
    value = magnitude / peak if peak > 0 else np.zeros_like(magnitude)
    sixths = hue * 6.0
    sector = np.floor(sixths).astype(int) % 6
    rising = sixths - np.floor(sixths)
    levels = np.stack([value, value * (1 - rising), np.zeros_like(value), value * rising])
    rgb = np.stack([np.take_along_axis(levels, _SECTOR_SOURCES[channel][sector][None], 0)[0]
                    for channel in range(3)], axis=-1)
    return rgb.astype(dtype)


def _to_pixels(array) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 from an (H, W), (H, W, C) or (C, H, W) float image in [0, 1]."""
    image = as_numpy(array, "array")
    if image.ndim == 3 and image.shape[-1] not in (1, 3) and image.shape[0] in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3) or image.size == 0:
        raise ValueError(f"array: expected an (H, W), (H, W, 3) or (C, H, W) image with "
                         f"C in (1, 3), got shape {image.shape}")
    image = image.astype(np.float64)
    if not np.all(np.isfinite(image)):
        raise ValueError("array: the image contains NaN or infinite values")
    low, high = image.min(), image.max()
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"array: expected values in [0, 1], got the range [{low:g}, {high:g}]"
                         f" (for 0..255 data divide by 255)")
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def save_image(array, path):
    """Write a float image in [0, 1] to ``path`` as a PNG, atomically; returns ``path``.

    Args:
        array: (H, W) grayscale, (H, W, 3) RGB or (C, H, W) with C in (1, 3) (NCHW
            without the batch); an array or Tensor. Values are rounded to 8 bits.
        path: the PNG file to write (written to a temporary name, then renamed).

    Uses Pillow when installed, otherwise matplotlib.

    Example:
        >>> import os, tempfile, numpy as np
        >>> folder = tempfile.TemporaryDirectory()
        >>> ramp = np.linspace(0, 1, 12).reshape(3, 4)
        >>> path = save_image(ramp, os.path.join(folder.name, 'ramp.png'))
        >>> open(path, 'rb').read(8)
        b'\\x89PNG\\r\\n\\x1a\\n'
        >>> folder.cleanup()
    """
    pixels = _to_pixels(array)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        picture = Image.fromarray(pixels)  # uint8 (H, W) -> "L", (H, W, 3) -> "RGB"
        with atomic_write(path, "wb") as handle:
            picture.save(handle, format="PNG")
        return path
    try:
        from matplotlib import image as matplotlib_image
    except ImportError as error:
        raise ImportError(f"save_image needs Pillow or matplotlib: {INSTALL_HINT}") from error
    with atomic_write(path, "wb") as handle:
        matplotlib_image.imsave(handle, pixels, format="png", cmap="gray", vmin=0, vmax=255)
    return path
