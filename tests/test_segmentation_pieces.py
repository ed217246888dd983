"""The first pieces of segmentation: per-pixel cross-entropy (torch), soft Dice (a loop
reference and finite differences), matching a skip's size, and the metrics (scikit-learn's
jaccard_score per class and a loop confusion matrix)."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.segmentation_metrics import (confusion_matrix, iou_per_class, mean_iou,
                                          per_image_mean_iou, pixel_accuracy)
from gradcheck import check_gradients

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the oracle")


def sample(seed=0, classes=4, shape=(2, 5, 6)):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((shape[0], classes) + shape[1:])
    target = rng.integers(0, classes, shape)
    target[0, 0, :3] = 255
    return logits, target


def test_per_pixel_cross_entropy_with_weights_and_ignore_index_equals_torch():
    logits, target = sample()
    weight = np.array([0.5, 1.0, 2.0, 1.5])
    x = convnet.tensor(logits, requires_grad=True)
    F.cross_entropy(x, target, weight=weight, ignore_index=255).backward()
    xt = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(xt, torch.tensor(target), torch.tensor(weight),
                                                 ignore_index=255)
    expected.backward()
    loss = F.cross_entropy(logits, target, weight=weight, ignore_index=255)
    np.testing.assert_allclose(loss.data, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def dice_loop(logits, target, ignore_index=255, smooth=1.0):
    """The soft Dice loss written pixel by pixel from its definition."""
    classes = logits.shape[1]
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = exp / exp.sum(axis=1, keepdims=True)
    dices = []
    for c in range(classes):
        inter = sums = 0.0
        for index in np.ndindex(target.shape):
            if target[index] == ignore_index:
                continue
            n, rest = index[0], index[1:]
            prob = p[(n, c) + rest]
            hit = float(target[index] == c)
            inter += prob * hit
            sums += prob + hit
        dices.append((2 * inter + smooth) / (sums + smooth))
    return 1 - np.mean(dices)


@pytest.mark.parametrize("smooth", [1.0, 1e-3])
def test_dice_loss_against_a_loop_and_finite_differences(smooth):
    logits, target = sample(1)
    np.testing.assert_allclose(F.dice_loss(logits, target, smooth=smooth).data,
                               dice_loop(logits, target, smooth=smooth), rtol=1e-12)
    check_gradients(lambda x: F.dice_loss(x, target, smooth=smooth), logits)


def test_dice_loss_errors():
    logits, target = sample()
    with pytest.raises(ValueError, match="target: expected shape"):
        F.dice_loss(logits, target[:, :2])
    with pytest.raises(ValueError, match="values must be in"):
        F.dice_loss(logits, np.full(target.shape, 7))
    with pytest.raises(TypeError, match="class indices"):
        F.dice_loss(logits, target.astype(float))


@pytest.mark.parametrize("size", [(4, 6), (7, 9), (5, 4), (6, 3)])
def test_match_size_crops_or_pads_centrally(size):
    x = np.arange(30.0).reshape(1, 1, 5, 6)
    y = F.match_size(x, size).data
    assert y.shape[-2:] == size
    expected = np.zeros(size)
    crop_h, crop_w = max(5 - size[0], 0) // 2, max(6 - size[1], 0) // 2
    pad_h, pad_w = max(size[0] - 5, 0) // 2, max(size[1] - 6, 0) // 2
    h, w = min(5, size[0]), min(6, size[1])
    expected[pad_h:pad_h + h, pad_w:pad_w + w] = x[0, 0, crop_h:crop_h + h, crop_w:crop_w + w]
    np.testing.assert_array_equal(y[0, 0], expected)
    check_gradients(lambda v: F.match_size(v, size), x)


def test_metrics_against_scikit_learn_and_a_loop():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, (4, 8, 8))
    truth[truth == 4] = 255                           # class 4 absent, some pixels ignored
    predicted = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, 4, truth.shape))
    predicted[predicted == 255] = 0
    matrix = confusion_matrix(predicted, truth, 5)
    loop = np.zeros((5, 5), int)
    for t, p in zip(truth.ravel(), predicted.ravel()):
        if t != 255:
            loop[t, p] += 1
    np.testing.assert_array_equal(matrix, loop)
    keep = truth.ravel() != 255
    t, p = truth.ravel()[keep], predicted.ravel()[keep]
    expected = sklearn_metrics.jaccard_score(t, p, labels=range(5), average=None, zero_division=0)
    present = np.isin(np.arange(5), np.union1d(t, p))     # a class with no pixel has no IoU
    assert not present.all()
    np.testing.assert_allclose(iou_per_class(matrix)[present], expected[present], rtol=1e-12)
    assert np.isnan(iou_per_class(matrix)[~present]).all()
    assert mean_iou(matrix) == pytest.approx(expected[present].mean(), rel=1e-12)
    assert pixel_accuracy(matrix) == pytest.approx((truth.ravel()[keep] == predicted.ravel()[keep]).mean())
    per_image = per_image_mean_iou(predicted, truth, 5)
    assert per_image == pytest.approx(np.nanmean([mean_iou(confusion_matrix(p, t, 5))
                                                  for p, t in zip(predicted, truth)]))


def test_a_value_that_is_neither_a_class_nor_ignored_is_named():
    with pytest.raises(ValueError, match="value 9 is neither a class in \\[0, 3\\)"):
        confusion_matrix(np.zeros(4, int), np.array([0, 1, 9, 255]), 3)
