"""Batch normalisation over channels-last memory, compiled (numba).

A convolution's output is channels-last (N, C, H, W with strides of N, H, W, C), so it is an
(M, C) matrix with M = N*H*W rows. NumPy's reductions over axes (0, 2, 3) of such an array,
and the chain of temporaries of the textbook formulas, made batch norm the slowest part of a
U-Net step (about a quarter of it). These kernels make two passes for the statistics (float64
sums), one to normalise, and two for the backward pass, writing channels-last outputs.

Example:
    >>> import numpy as np
    >>> x = np.arange(12, dtype=np.float64).reshape(4, 3)          # (M, C)
    >>> mean, var = column_stats(x)
    >>> mean.tolist(), var.tolist()
    ([4.5, 5.5, 6.5], [11.25, 11.25, 11.25])
"""

from __future__ import annotations

import numpy as np

from numba import njit

__all__ = ["rows_view", "column_stats", "normalise", "backward_sums", "backward_input"]


def rows_view(x: np.ndarray) -> np.ndarray | None:
    """``x`` (N, C, *spatial) as an (M, C) matrix view when it is channels-last; else None."""
    moved = np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]) if moved.flags.c_contiguous else None


@njit(cache=True, nogil=True)
def column_stats(x):
    """Per-column mean and biased variance of an (M, C) matrix, accumulated in float64."""
    rows, columns = x.shape
    total = np.zeros(columns)
    for i in range(rows):
        for c in range(columns):
            total[c] += x[i, c]
    mean = total / max(rows, 1)
    squares = np.zeros(columns)
    for i in range(rows):
        for c in range(columns):
            d = x[i, c] - mean[c]
            squares[c] += d * d
    return mean, squares / max(rows, 1)


@njit(cache=True, nogil=True)
def normalise(x, mean, inv_std, scale, shift, xhat, y):
    """``xhat = (x - mean) * inv_std``, ``y = xhat * scale + shift`` per column."""
    rows, columns = x.shape
    for i in range(rows):
        for c in range(columns):
            h = (x[i, c] - mean[c]) * inv_std[c]
            xhat[i, c] = h
            y[i, c] = h * scale[c] + shift[c]


@njit(cache=True, nogil=True)
def backward_sums(dy, xhat):
    """Per-column sums of ``dy`` and ``dy * xhat`` (float64)."""
    rows, columns = dy.shape
    sum_dy = np.zeros(columns)
    sum_dy_xhat = np.zeros(columns)
    for i in range(rows):
        for c in range(columns):
            g = dy[i, c]
            sum_dy[c] += g
            sum_dy_xhat[c] += g * xhat[i, c]
    return sum_dy, sum_dy_xhat


@njit(cache=True, nogil=True)
def backward_input(dy, xhat, factor, mean_dy, mean_dy_xhat, dx):
    """``dx = factor * (dy - mean_dy - xhat * mean_dy_xhat)`` per column (training mode,
    ``factor = weight * inv_std``); with both means zero it is the eval-mode gradient."""
    rows, columns = dy.shape
    for i in range(rows):
        for c in range(columns):
            dx[i, c] = factor[c] * (dy[i, c] - mean_dy[c] - xhat[i, c] * mean_dy_xhat[c])
