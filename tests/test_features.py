"""Hand-made features: the colour histogram against numpy.histogramdd, the bag of visual
words against scikit-learn's KMeans with the same seed and a loop over the patches, HOG
against scikit-image (convnet.filters.hog is tested there too)."""

from __future__ import annotations

import numpy as np
import pytest

from convnet.features import BagOfVisualWords, colour_histogram, hog_features, patches

sklearn_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the oracle")
skimage_feature = pytest.importorskip("skimage.feature", reason="scikit-image is the oracle")


@pytest.mark.parametrize("channels, bins", [(1, 8), (3, 4), (3, 1), (2, 5)])
def test_colour_histogram_is_histogramdd_of_the_pixels(channels, bins):
    rng = np.random.default_rng(channels * 10 + bins)
    images = rng.random((3, channels, 7, 6))
    images[0, :, 0, 0] = 1.0          # the upper edge belongs to the last bin
    images[1, :, 0, 0] = 0.0
    ours = colour_histogram(images, bins)
    for image, histogram in zip(images, ours):
        pixels = image.reshape(channels, -1).T
        expected, _ = np.histogramdd(pixels, bins=bins, range=[(0, 1)] * channels)
        np.testing.assert_array_equal(histogram, expected.ravel() / pixels.shape[0])


def test_colour_histogram_rejects_bad_arguments():
    with pytest.raises(ValueError, match="images: expected"):
        colour_histogram(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="bins: expected a positive int"):
        colour_histogram(np.zeros((1, 1, 2, 2)), bins=0)


def test_patches_by_a_loop():
    images = np.random.default_rng(1).random((2, 3, 7, 8))
    ours = patches(images, 3, 2)
    rows = [images[n, :, y:y + 3, x:x + 3].ravel() for n in range(2)
            for y in range(0, 5, 2) for x in range(0, 6, 2)]
    expected = np.array(rows).reshape(2, 9, 27)
    np.testing.assert_allclose(ours, expected - expected.mean(axis=2, keepdims=True))


def test_bag_of_words_equals_kmeans_with_the_same_seed():
    images = np.random.default_rng(2).random((10, 1, 12, 12))
    words = BagOfVisualWords(vocabulary=6, patch=4, stride=2, seed=3).fit(images)
    descriptors = patches(images, 4, 2).reshape(-1, 16)
    kmeans = sklearn_cluster.KMeans(n_clusters=6, random_state=3, n_init=1).fit(descriptors)
    np.testing.assert_allclose(words.kmeans.cluster_centers_, kmeans.cluster_centers_)
    histograms = words.transform(images)
    per_image = kmeans.predict(descriptors).reshape(10, -1)
    expected = np.stack([np.bincount(row, minlength=6) / row.size for row in per_image])
    np.testing.assert_allclose(histograms, expected)


def test_bag_of_words_needs_fit():
    with pytest.raises(RuntimeError, match="call fit"):
        BagOfVisualWords().transform(np.zeros((1, 1, 8, 8)))


def test_hog_features_equal_scikit_image():
    images = np.random.default_rng(4).random((3, 1, 16, 16))
    ours = hog_features(images, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    for image, row in zip(images, ours):
        expected = skimage_feature.hog(image[0], orientations=9, pixels_per_cell=(4, 4),
                                       cells_per_block=(2, 2), block_norm="L2-Hys")
        np.testing.assert_allclose(row, expected, rtol=1e-7, atol=1e-10)
