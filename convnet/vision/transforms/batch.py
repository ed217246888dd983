"""Random crop and flip of a whole batch at once: the CIFAR recipe ``RandomCrop(size,
padding)`` + ``RandomHorizontalFlip()`` without a Python loop over images.

The batch is zero-padded once, every image's crop window and flip become one index grid,
and a single NumPy gather cuts all windows: (N, C, H, W) -> (N, C, h, w).

Example:
    >>> import numpy as np
    >>> images = np.arange(2 * 1 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    >>> batch_random_crop_flip(images, 4, 2, np.random.default_rng(0)).shape
    (2, 1, 4, 4)
"""

from __future__ import annotations

import numbers

import numpy as np

from ...creation import rng_of
from ...tensor import Tensor

__all__ = ["batch_random_crop_flip"]


def batch_random_crop_flip(images, size, padding=0, rng=None, p: float = 0.5):
    """Per image: zero-pad by ``padding``, cut a random ``size`` window, mirror it left-right
    with probability ``p``; the same as ``RandomCrop(size, padding)`` then
    ``RandomHorizontalFlip(p)`` on each image, for a whole batch in one vectorised pass.

    Args:
        images: (N, C, H, W) array or convnet Tensor, typically uint8 (any dtype works).
        size: output (h, w), or an int for a square; at most the padded size.
        padding: pixels of zeros added on each side before cropping (an int >= 0).
        rng: a NumPy Generator, a ``convnet.Generator``, an int seed, or None for convnet's
            generator (``convnet.manual_seed`` repeats a run).
        p: probability of the left-right flip.

    Returns:
        (N, C, h, w), the input's type and dtype.

    The draws, in order: the N top offsets ``rng.integers(0, H + 2*padding - h + 1, N)``,
    the N left offsets (likewise with W), then the flips ``rng.random(N) < p``.

    Example:
        >>> import numpy as np
        >>> images = np.ones((8, 3, 32, 32), np.uint8)
        >>> out = batch_random_crop_flip(images, 32, 4, np.random.default_rng(0))
        >>> out.shape, out.dtype, bool((out == 0).any())
        ((8, 3, 32, 32), dtype('uint8'), True)
    """
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"images: expected an (N, C, H, W) batch, got shape {array.shape}")
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"padding: expected a non-negative int, got {padding!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    crop_height, crop_width = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
    count, _, height, width = array.shape
    padded_height, padded_width = height + 2 * padding, width + 2 * padding
    if crop_height > padded_height or crop_width > padded_width or min(crop_height, crop_width) < 1:
        raise ValueError(f"size: expected a crop of at most the padded image "
                         f"{(padded_height, padded_width)}, got {(crop_height, crop_width)}")
    generator = rng_of(rng)
    tops = generator.integers(0, padded_height - crop_height + 1, size=count)
    lefts = generator.integers(0, padded_width - crop_width + 1, size=count)
    flips = generator.random(count) < p
    padded = np.pad(array, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    rows = tops[:, None] + np.arange(crop_height)                          # (N, h)
    steps = np.where(flips[:, None], np.arange(crop_width)[::-1], np.arange(crop_width))
    columns = lefts[:, None] + steps                                       # (N, w), mirrored
    batch = np.arange(count)[:, None, None, None]
    channel = np.arange(array.shape[1])[None, :, None, None]
    out = padded[batch, channel, rows[:, None, :, None], columns[:, None, None, :]]
    return Tensor(out) if isinstance(images, Tensor) else out
