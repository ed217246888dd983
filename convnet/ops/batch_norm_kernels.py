"""Batch normalisation over channels-last memory, compiled (numba).

A convolution's output is channels-last (N, C, H, W with strides of N, H, W, C), so it is an
(M, C) matrix with M = N*H*W rows. NumPy's reductions over axes (0, 2, 3) of such an array,
and the chain of temporaries of the textbook formulas, made batch norm the slowest part of a
U-Net step (about a quarter of it). These kernels make two passes for the statistics (float64
sums), one to normalise, and two for the backward pass, writing channels-last outputs; the
rows are split between threads (:mod:`.batch_threads`), each thread's float64 sums added.

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

from .batch_threads import ONE_PASS, run_parts, split
from .layout import channels_last_rows

__all__ = ["rows_view", "column_stats", "normalise", "backward_sums", "backward_input"]


def rows_view(x: np.ndarray) -> np.ndarray | None:
    """``x`` (N, C, *spatial) as an (M, C) matrix view when it is channels-last; else None."""
    rows = channels_last_rows(x)
    return None if rows is None else rows.reshape(-1, x.shape[1])


@njit(cache=True, nogil=True)
def _column_sums(x):
    """Per-column sums of an (M, C) matrix, in float64."""
    total = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            total[c] += x[i, c]
    return total


@njit(cache=True, nogil=True)
def _column_squares(x, mean):
    """Per-column sums of ``(x - mean)**2``, in float64."""
    squares = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            d = x[i, c] - mean[c]
            squares[c] += d * d
    return squares


@njit(cache=True, nogil=True)
def _normalise(x, mean, inv_std, scale, shift, xhat, y):
    rows, columns = x.shape
    for i in range(rows):
        for c in range(columns):
            h = (x[i, c] - mean[c]) * inv_std[c]
            xhat[i, c] = h
            y[i, c] = h * scale[c] + shift[c]


@njit(cache=True, nogil=True)
def _backward_sums(dy, xhat):
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
def _backward_input(dy, xhat, factor, mean_dy, mean_dy_xhat, dx):
    rows, columns = dy.shape
    for i in range(rows):
        for c in range(columns):
            dx[i, c] = factor[c] * (dy[i, c] - mean_dy[c] - xhat[i, c] * mean_dy_xhat[c])


def _summed(kernel, matrices: tuple, *args):
    """``kernel(*(m[lo:hi] for m in matrices), *args)`` over row ranges split between
    threads; the parts' results (arrays, or tuples of arrays) added up."""
    first = matrices[0]
    ranges = split(first.shape[0], first.size // ONE_PASS)
    if not ranges:                                   # no rows
        return kernel(*matrices, *args)
    parts = {}
    run_parts(lambda lo, hi: parts.__setitem__(lo, kernel(*(m[lo:hi] for m in matrices),
                                                          *args)), ranges)
    results = [parts[lo] for lo, _ in ranges]
    if isinstance(results[0], tuple):
        return tuple(sum(values[1:], values[0]) for values in zip(*results))
    return sum(results[1:], results[0])


def column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and biased variance of an (M, C) matrix, accumulated in float64
    (two passes: the sums, then the squared deviations from the mean), the rows split
    between threads."""
    count = max(x.shape[0], 1)
    mean = _summed(_column_sums, (x,)) / count
    return mean, _summed(_column_squares, (x,), mean) / count


def normalise(x, mean, inv_std, scale, shift, xhat, y) -> None:
    """``xhat = (x - mean) * inv_std``, ``y = xhat * scale + shift`` per column."""
    run_parts(lambda lo, hi: _normalise(x[lo:hi], mean, inv_std, scale, shift, xhat[lo:hi],
                                        y[lo:hi]), split(x.shape[0], x.size // ONE_PASS))


def backward_sums(dy: np.ndarray, xhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column sums of ``dy`` and ``dy * xhat`` (float64)."""
    return _summed(_backward_sums, (dy, xhat))


def backward_input(dy, xhat, factor, mean_dy, mean_dy_xhat, dx) -> None:
    """``dx = factor * (dy - mean_dy - xhat * mean_dy_xhat)`` per column (training mode,
    ``factor = weight * inv_std``); with both means zero it is the eval-mode gradient."""
    run_parts(lambda lo, hi: _backward_input(dy[lo:hi], xhat[lo:hi], factor, mean_dy,
                                             mean_dy_xhat, dx[lo:hi]),
              split(dy.shape[0], dy.size // ONE_PASS))
