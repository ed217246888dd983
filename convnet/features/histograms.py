"""Colour histograms and HOG descriptors of image batches.

Example:
    >>> import numpy as np
    >>> images = np.zeros((1, 3, 2, 2)); images[0, 0] = 1.0   # four pure red pixels
    >>> float(colour_histogram(images, bins=2)[0].reshape(2, 2, 2)[1, 0, 0])
    1.0
"""

from __future__ import annotations

import numpy as np

from ..filters.hog import hog

__all__ = ["colour_histogram", "hog_features"]


def colour_histogram(images, bins: int = 8) -> np.ndarray:
    """Joint histogram of the pixel values of each image, normalised to sum to 1.

    Args:
        images: (N, C, H, W) values in [0, 1] (C = 1 for grey, 3 for colour).
        bins: bins per channel over [0, 1]; the last bin includes 1.0.

    Returns:
        (N, bins**C) float64: the C-dimensional histogram of each image, flattened in C
        order (channel 0 varies slowest), the same as ``numpy.histogramdd`` of its pixels.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"images: expected (N, C, H, W), got shape {images.shape}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins: expected a positive int, got {bins!r}")
    count, channels = images.shape[:2]
    if channels * np.log2(bins) > 24:
        raise ValueError(f"bins: {bins}**{channels} bins per image is too many")
    index = np.clip((images * bins).astype(np.int64), 0, bins - 1)   # (N, C, H, W)
    flat = np.zeros(images.shape[:1] + images.shape[2:], dtype=np.int64)
    for channel in range(channels):
        flat = flat * bins + index[:, channel]
    offsets = np.arange(count)[:, None] * bins ** channels
    totals = np.bincount((flat.reshape(count, -1) + offsets).ravel(),
                         minlength=count * bins ** channels).reshape(count, -1)
    return totals / max(images[0, 0].size, 1)


def hog_features(images, orientations: int = 9, pixels_per_cell=(4, 4),
                 cells_per_block=(2, 2)) -> np.ndarray:
    """HOG descriptor of each image (N, C, H, W) -> (N, D), grey images or colour ones.

    Small cells (4x4) suit 8x8 digits and 28x28 Fashion-MNIST alike.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"images: expected (N, C, H, W), got shape {images.shape}")
    return np.stack([hog(image[0] if image.shape[0] == 1 else image, orientations,
                         pixels_per_cell, cells_per_block) for image in images])
