"""Hand-made image features (seed 002, "Extra"): what CNNs replaced, to compare against.

- :func:`colour_histogram`: the joint histogram of pixel values (one bin grid over the
  channels), normalised to sum to 1;
- :func:`hog_features`: histograms of oriented gradients (:func:`convnet.filters.hog`);
- :class:`BagOfVisualWords`: local patch descriptors, a vocabulary of k-means centres
  (scikit-learn's ``KMeans``), and per image the histogram of its patches' nearest words.

:mod:`convnet.features.compare` trains a linear classifier on each and a CNN on the same
images and prints the table (``python examples/features_vs_cnn.py``).

Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((4, 1, 8, 8))
    >>> colour_histogram(images, bins=4).shape, hog_features(images).shape[0]
    ((4, 4), 4)
"""

from .bag_of_words import BagOfVisualWords, patches
from .histograms import colour_histogram, hog_features

__all__ = ["colour_histogram", "hog_features", "BagOfVisualWords", "patches"]
