"""Image gradients with seed 000's Sobel filters: ``gx``, ``gy``, magnitude, angle, colour picture.

``gx = correlate(image, SOBEL_X)`` and ``gy = correlate(image, SOBEL_Y)`` ('same' size),
with image rows growing downwards, so ``+x`` points right and ``+y`` points *down*:
``gx > 0`` where the image gets brighter to the right, ``gy > 0`` where it gets brighter
downwards. These are the unnormalised Sobel responses (8 times the derivative of a
linear ramp), as ``cv2.Sobel(ksize=3)`` and ``scipy.ndimage.sobel`` give them.

The default boundary is ``'mirror'`` (OpenCV's BORDER_DEFAULT, REFLECT_101), so a
constant image has zero gradient everywhere, borders included; zero padding would
invent edges along the frame.

Example:
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(5.), (4, 1))          # brighter to the right
    >>> gx, gy = gradient(ramp)
    >>> gx[1, 1:4].tolist(), float(abs(gy).max())
    ([8.0, 8.0, 8.0], 0.0)
"""

from __future__ import annotations

import numpy as np

from ..viz.images import orientation_image as _colour_orientations
from . import kernels
from .correlation import as_image, correlate

__all__ = ["gradient", "gradient_magnitude", "gradient_orientation", "orientation_image"]


def gradient(image, boundary: str = "mirror"):
    """Sobel derivatives ``(gx, gy)`` of an (H, W) or (C, H, W) image (or an image path).

    Returns:
        Two arrays shaped like the image (each channel on its own), in its dtype.

    Example:
        >>> import numpy as np
        >>> gx, gy = gradient(np.zeros((3, 4, 4)))
        >>> gx.shape, float(abs(gx).max())
        ((3, 4, 4), 0.0)
    """
    image = _two_d(image)
    return (correlate(image, kernels.SOBEL_X, "same", boundary),
            correlate(image, kernels.SOBEL_Y, "same", boundary))


def gradient_magnitude(image, boundary: str = "mirror") -> np.ndarray:
    """``sqrt(gx**2 + gy**2)``, shaped like the image.

    Example:
        >>> import numpy as np
        >>> step = np.zeros((3, 4)); step[:, 2:] = 1
        >>> gradient_magnitude(step)[1].tolist()
        [0.0, 4.0, 4.0, 0.0]
    """
    gx, gy = gradient(image, boundary)
    return np.hypot(gx, gy)


def gradient_orientation(image, boundary: str = "mirror") -> np.ndarray:
    """``atan2(gy, gx)`` in radians, in (-pi, pi]; 0 = brighter to the right, pi/2 = brighter
    downwards (rows grow downwards). Where both derivatives are 0 the angle is 0.

    Example:
        >>> import numpy as np
        >>> step = np.zeros((4, 3)); step[2:] = 1               # brighter downwards
        >>> float(gradient_orientation(step)[1, 1]) == float(np.pi / 2)
        True
    """
    gx, gy = gradient(image, boundary)
    return np.arctan2(gy, gx)


def orientation_image(image, boundary: str = "mirror") -> np.ndarray:
    """Seed 000's coloured edge picture: hue = gradient angle, brightness = magnitude.

    The colour mapping is :func:`convnet.viz.orientation_image` (hue once round the
    wheel for ``atan2(gy, gx)``, brightness = magnitude / its maximum). For a (C, H, W)
    image each pixel uses the channel with the largest gradient magnitude (the first
    such channel on ties), as scikit-image's HOG does for colour images.

    Args:
        image: (H, W) or (C, H, W) array, or an image path.

    Returns:
        (H, W, 3) float RGB in [0, 1] (float32 unless the image is float64).

    Example:
        >>> import numpy as np
        >>> step = np.zeros((5, 5)); step[:, 3:] = 1
        >>> rgb = orientation_image(step)
        >>> rgb.shape, rgb[2, 2].round(3).tolist(), rgb[2, 0].tolist()
        ((5, 5, 3), [1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    """
    gx, gy = gradient(image, boundary)
    if gx.ndim == 3:
        gx, gy = dominant_channel(gx, gy)
    return _colour_orientations(gx, gy)


def dominant_channel(gx: np.ndarray, gy: np.ndarray):
    """Per pixel, the (gx, gy) of the channel whose gradient magnitude is largest.

    Args:
        gx, gy: (C, H, W).

    Returns:
        Two (H, W) arrays.
    """
    strongest = np.hypot(gx, gy).argmax(axis=0)[None]
    return (np.take_along_axis(gx, strongest, 0)[0], np.take_along_axis(gy, strongest, 0)[0])


def _two_d(image) -> np.ndarray:
    image = as_image(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image: expected (H, W) or (C, H, W), got shape {image.shape}")
    return image
