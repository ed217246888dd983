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

__all__ = ["confusion_matrix", "iou_per_class", "mean_iou", "pixel_accuracy", "per_image_mean_iou"]


def confusion_matrix(predicted, truth, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(classes, classes) int64 counts: rows the true class, columns the predicted one.

    Raises ValueError for a true value that is neither a class nor ``ignore_index``.
    """
    predicted, truth = np.asarray(predicted).ravel(), np.asarray(truth).ravel()
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted: {predicted.size} pixels, truth {truth.size}")
    keep = truth != ignore_index
    bad = truth[keep][(truth[keep] < 0) | (truth[keep] >= num_classes)]
    if bad.size:
        raise ValueError(f"truth: value {int(bad[0])} is neither a class in [0, {num_classes}) "
                         f"nor the ignore label {ignore_index}")
    index = truth[keep].astype(np.int64) * num_classes + predicted[keep].astype(np.int64)
    return np.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) per class; NaN for a class absent from truth and prediction."""
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
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


def per_image_mean_iou(predicted, truth, num_classes: int, ignore_index: int = 255) -> float:
    """The mean over images of each image's own mean IoU (a different number; see above)."""
    return float(np.nanmean([mean_iou(confusion_matrix(p, t, num_classes, ignore_index))
                             for p, t in zip(predicted, truth)]))
