"""Bag of visual words: local patches, a k-means vocabulary, a histogram of words per image.

Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((6, 1, 8, 8))
    >>> words = BagOfVisualWords(vocabulary=5, patch=4, stride=2, seed=0).fit(images)
    >>> words.transform(images).shape, words.transform(images).sum(axis=1).round(6).tolist()[0]
    ((6, 5), 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["patches", "BagOfVisualWords"]


def patches(images, size: int, stride: int) -> np.ndarray:
    """Every ``size`` x ``size`` patch at ``stride`` of (N, C, H, W) images, as descriptors
    (N, P, C*size*size), each centred on its own mean (brightness does not count)."""
    images = np.asarray(images, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                     # (N, C, Py, Px, s, s)
    count, channels, rows, columns = windows.shape[:4]
    descriptors = windows.transpose(0, 2, 3, 1, 4, 5).reshape(count, rows * columns, -1)
    return descriptors - descriptors.mean(axis=2, keepdims=True)


class BagOfVisualWords:
    """Images -> normalised histograms of visual words.

    Args:
        vocabulary: number of words (k-means clusters).
        patch, stride: patch size and step of the local descriptors (:func:`patches`).
        seed: seed of the k-means initialisation (results equal scikit-learn's KMeans with
            ``n_clusters=vocabulary, random_state=seed, n_init=1``).
        max_patches: at most this many patches, drawn with ``seed``, to fit the vocabulary.
    """

    def __init__(self, vocabulary: int = 64, patch: int = 4, stride: int = 2, seed: int = 0,
                 max_patches: int = 20_000):
        self.vocabulary, self.patch, self.stride = vocabulary, patch, stride
        self.seed, self.max_patches = seed, max_patches
        self.kmeans = None

    def sample(self, images) -> np.ndarray:
        """The descriptors the vocabulary is fitted on: (P, D), a seeded sample."""
        descriptors = patches(images, self.patch, self.stride)
        descriptors = descriptors.reshape(-1, descriptors.shape[-1])
        if len(descriptors) > self.max_patches:
            chosen = np.random.default_rng(self.seed).choice(len(descriptors), self.max_patches,
                                                             replace=False)
            descriptors = descriptors[np.sort(chosen)]
        return descriptors

    def fit(self, images) -> "BagOfVisualWords":
        """Learn the vocabulary (k-means centres) from ``images`` (N, C, H, W)."""
        from sklearn.cluster import KMeans
        self.kmeans = KMeans(n_clusters=self.vocabulary, random_state=self.seed, n_init=1)
        self.kmeans.fit(self.sample(images))
        return self

    def transform(self, images) -> np.ndarray:
        """(N, vocabulary): the share of each image's patches nearest to each word."""
        if self.kmeans is None:
            raise RuntimeError("BagOfVisualWords: call fit(images) before transform")
        descriptors = patches(images, self.patch, self.stride)
        count, per_image = descriptors.shape[:2]
        words = self.kmeans.predict(descriptors.reshape(count * per_image, -1))
        offsets = np.repeat(np.arange(count) * self.vocabulary, per_image)
        totals = np.bincount(words + offsets, minlength=count * self.vocabulary)
        return totals.reshape(count, self.vocabulary) / per_image
