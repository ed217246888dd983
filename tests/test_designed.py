"""The hand-designed squares-vs-diamonds network (seed 001, E8.10): exact weights, and it
classifies every image the shapes generator can draw."""

import numpy as np
import pytest

import convnet.nn as nn
from convnet.data.shapes import load_shapes, make_shapes
from convnet.designed import (CLASSES, LINE_KERNELS, predict, predict_proba,
                              squares_vs_diamonds_layers, squares_vs_diamonds_network)
from convnet.tensor import no_grad

SQUARE_PROBABILITY = 1 / (1 + np.exp(-4.0))  # scores (2, -2) -> softmax


def every_outline(image_size=15):
    """All squares and diamonds the generator can draw: every size 2..(S-1)//2, every centre
    that keeps the box inside, written from the shapes docstring's formulas."""
    images, labels = [], []
    coords = np.arange(image_size)
    for r in range(2, (image_size - 1) // 2 + 1):
        for cy in range(r, image_size - r):
            for cx in range(r, image_size - r):
                dy, dx = np.abs(coords[:, None] - cy), np.abs(coords[None, :] - cx)
                images += [np.maximum(dy, dx) == r, dy + dx == r]
                labels += [0, 1]
    return np.array(images, np.float32)[:, None], np.array(labels)


def test_weights_are_exactly_the_designed_ones():
    model = squares_vs_diamonds_network()
    layers = list(model)
    assert [type(layer) for layer in layers] == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten,
                                                 nn.Linear]
    state = {name: np.asarray(value) for name, value in model.state_dict().items()}
    assert sorted(state) == ["0.bias", "0.weight", "4.bias", "4.weight"]
    horizontal = [[0, 0, 0], [1, 1, 1], [0, 0, 0]]
    vertical = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    diagonal = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    anti_diagonal = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    kernels = np.array([horizontal, vertical, diagonal, anti_diagonal])[:, None]
    np.testing.assert_array_equal(state["0.weight"], kernels)
    np.testing.assert_array_equal(state["0.bias"], [-2, -2, -2, -2])
    np.testing.assert_array_equal(state["4.weight"], [[1, 1, -1, -1], [-1, -1, 1, 1]])
    np.testing.assert_array_equal(state["4.bias"], [0, 0])
    assert state["0.weight"].dtype == np.float32
    assert list(LINE_KERNELS) == ["horizontal", "vertical", "diagonal", "antidiagonal"]
    assert model[0].padding == "same" and model[2].kernel_size in (15, (15, 15))


def test_class_order_matches_the_generator():
    assert list(CLASSES) == make_shapes(2, seed=0)[2] == ["square", "diamond"]


def test_every_possible_outline_is_classified_with_clean_features():
    images, labels = every_outline()
    assert len(images) == 2 * sum((15 - 2 * r) ** 2 for r in range(2, 8)) == 572
    model = squares_vs_diamonds_network()
    np.testing.assert_array_equal(predict(model, images), labels)
    with no_grad():
        features = model[:4](images).data
    np.testing.assert_array_equal(features[labels == 0], np.tile([1, 1, 0, 0], (286, 1)))
    np.testing.assert_array_equal(features[labels == 1], np.tile([0, 0, 1, 1], (286, 1)))


def test_generator_test_split_and_fresh_seeds():
    model = squares_vs_diamonds_network()
    images, labels, _ = load_shapes("test")
    assert len(images) == 500
    np.testing.assert_array_equal(predict(model, images), labels)
    for seed in (1, 7, 2024):
        images, labels, _ = make_shapes(2000, seed=seed)
        np.testing.assert_array_equal(predict(model, images), labels)


def test_softmax_probabilities():
    model = squares_vs_diamonds_network()
    images, labels = every_outline()
    probabilities = predict_proba(model, images)
    assert probabilities.shape == (572, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    right = probabilities[np.arange(len(labels)), labels]
    np.testing.assert_allclose(right, SQUARE_PROBABILITY, rtol=1e-6)
    # one (H, W) image and (N, H, W) batches are accepted too
    np.testing.assert_allclose(predict_proba(model, images[0, 0]), probabilities[:1], rtol=1e-6)
    np.testing.assert_allclose(predict_proba(model, images[:3, 0]), probabilities[:3], rtol=1e-6)


def test_empty_image_is_undecided():
    probabilities = predict_proba(squares_vs_diamonds_network(), np.zeros((15, 15)))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5]])


def test_other_image_sizes():
    images, labels = every_outline(9)
    np.testing.assert_array_equal(predict(squares_vs_diamonds_network(9), images), labels)


def test_untrained_layers_have_the_same_shapes():
    designed, fresh = squares_vs_diamonds_network(), squares_vs_diamonds_layers()
    assert {k: v.shape for k, v in designed.state_dict().items()} == \
        {k: v.shape for k, v in fresh.state_dict().items()}


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 15, 15)), np.zeros(15)])
def test_bad_image_shapes(bad):
    with pytest.raises(ValueError, match="images"):
        predict_proba(squares_vs_diamonds_network(), bad)


@pytest.mark.parametrize("size", [2, 2.5, True])
def test_bad_image_size(size):
    with pytest.raises(ValueError, match="image_size"):
        squares_vs_diamonds_network(size)
