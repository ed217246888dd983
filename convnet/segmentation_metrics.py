"""Segmentation metrics from one confusion matrix over a whole split.

The mean IoU is torchvision's reference rule: one confusion matrix accumulated over every
pixel of the split (the ignore label excluded), IoU per class = TP / (TP + FP + FN), averaged
over the classes present (a class neither in the truth nor in the prediction has no IoU).
The per-image mean IoU, which other code reports under the same name, is given beside it.

Example:
    >>> import numpy as np
    >>> truth = np.array([[[0, 0], [1, 255]]]); predicted = np.array([[[0, 1], [1, 1]]])
    >>> matrix = confusion_matrix(predicted, truth, 2)
    >>> matrix.tolist(), iou_per_class(matrix).tolist(), float(pixel_accuracy(matrix))
    ([[1, 1], [0, 1]], [0.5, 0.5], 0.6666666666666666)
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "confusion_matrices", "iou_per_class", "mean_iou",
           "pixel_accuracy", "per_image_mean_iou", "per_image_ious"]


def confusion_matrix(predicted, truth, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(classes, classes) int64 counts: rows the true class, columns the predicted one.

    Raises ValueError for a true value that is neither a class nor ``ignore_index``.
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.size != truth.size:
        raise ValueError(f"predicted: {predicted.size} pixels, truth {truth.size}")
    return confusion_matrices(predicted.reshape(1, -1), truth.reshape(1, -1), num_classes,
                              ignore_index)[0]


def confusion_matrices(predicted, truth, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """One confusion matrix per image: (N, ...) label maps -> (N, classes, classes) counts.

    Example:
        >>> confusion_matrices(np.array([[0, 1], [1, 1]]), np.array([[0, 0], [1, 255]]), 2).tolist()
        [[[1, 1], [0, 0]], [[0, 0], [0, 1]]]
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape or predicted.ndim < 1:
        raise ValueError(f"predicted: shape {predicted.shape}, truth {truth.shape}; expected "
                         f"the same (N, ...) shape")
    count = truth.shape[0]
    truth, predicted = truth.reshape(count, -1), predicted.reshape(count, -1)
    keep = truth != ignore_index
    kept = truth[keep]
    bad = kept[(kept < 0) | (kept >= num_classes)]
    if bad.size:
        raise ValueError(f"truth: value {int(bad[0])} is neither a class in [0, {num_classes}) "
                         f"nor the ignore label {ignore_index}")
    wrong = predicted[keep][(predicted[keep] < 0) | (predicted[keep] >= num_classes)]
    if wrong.size:
        raise ValueError(f"predicted: value {int(wrong[0])} is not a class in [0, {num_classes})")
    image = np.broadcast_to(np.arange(count)[:, None], truth.shape)[keep]
    index = (image * num_classes + kept.astype(np.int64)) * num_classes \
        + predicted[keep].astype(np.int64)
    return np.bincount(index, minlength=count * num_classes ** 2).reshape(
        count, num_classes, num_classes)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) per class; NaN for a class absent from truth and prediction.

    ``matrix`` (classes, classes), or a stack (..., classes, classes) giving (..., classes).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diagonal(matrix, axis1=-2, axis2=-1)
    union = matrix.sum(axis=-2) + matrix.sum(axis=-1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, true_positive / union, np.nan)


def mean_iou(matrix: np.ndarray) -> float:
    """The mean of :func:`iou_per_class` over the classes present."""
    values = iou_per_class(matrix)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def pixel_accuracy(matrix: np.ndarray) -> float:
    """Share of the counted pixels whose class was predicted right."""
    matrix = np.asarray(matrix)
    return float(np.trace(matrix) / max(matrix.sum(), 1))


def per_image_ious(matrices: np.ndarray) -> np.ndarray:
    """Each image's own mean IoU over the classes present in it, from (N, classes, classes);
    NaN for an image whose pixels are all ignored."""
    values = iou_per_class(matrices)
    present = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, values, 0).sum(axis=-1) / present.sum(axis=-1)


def per_image_mean_iou(predicted, truth, num_classes: int, ignore_index: int = 255) -> float:
    """The mean over images of each image's own mean IoU (a different number; see above)."""
    ious = per_image_ious(confusion_matrices(predicted, truth, num_classes, ignore_index))
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
