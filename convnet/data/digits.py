"""scikit-learn's bundled 8x8 handwritten digits (1797 images, no download needed).

Pixel values 0..16 are divided by 16, so images are float32 in [0, 1], shape (N, 1, 8, 8).
The split is fixed: a permutation drawn with ``numpy.random.default_rng(0)`` puts its first
360 images in ``test`` and the other 1437 in ``train`` (about 80/20), the same on every
machine and run.

Example:
    >>> images, labels, classes = load_digits('test')
    >>> images.shape, labels.dtype, classes[:3]
    ((360, 1, 8, 8), dtype('int64'), ['0', '1', '2'])
"""

from __future__ import annotations

import numpy as np

from .download import DatasetError

__all__ = ["load_digits", "TEST_SIZE", "SPLIT_SEED"]

TEST_SIZE = 360
SPLIT_SEED = 0


def load_digits(split: str = "train"):
    """``(images (N, 1, 8, 8) float32 in [0, 1], labels (N,) int64, classes)``; 1437 train / 360 test.

    Example:
        >>> len(load_digits('train')[1])
        1437
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise DatasetError("digits: needs scikit-learn, which is not installed "
                           "(pip install scikit-learn)") from None
    bunch = sklearn_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(bunch.target))
    chosen = order[:TEST_SIZE] if split == "test" else order[TEST_SIZE:]
    images = (bunch.images[chosen].astype(np.float32) / np.float32(16))[:, None]
    return images, bunch.target[chosen].astype(np.int64), [str(digit) for digit in range(10)]
