"""Max and average pooling over sliding windows, in 1, 2 or 3 dims (forward and backward).

Windows, sizes and padding forms are those of convolution (:mod:`convnet.ops.windows`),
``'same'`` included: ``out = (in - 1) // stride + 1``, the window centred on the
output pixel's input position (seed 000, "Maxpool Layer"). What fills the padding:

- max pooling: ``-inf`` (never zeros: a window of negative values keeps its maximum);
- average pooling: zeros, counted in the divisor or not (``count_include_pad``);
- with ``padding_mode`` (``'reflect'``, ``'replicate'``, ``'circular'``, ``'symmetric'``,
  or ``'zeros'`` on purpose) the input is padded with real values first, as
  :func:`convnet.ops.padding.pad` does, and every window cell counts.

This module is the reference: the maths in plain NumPy, forward and backward side by side.
It loops over the ``prod(kernel_size)`` offsets of the window (a handful), each step a
strided NumPy operation over every output at once; never over pixels. The compiled backend
(:mod:`.compiled`) computes the same max pooling and is checked against this one;
:mod:`.dispatch` chooses. A NaN in a window wins (the last NaN, as PyTorch).
Max pooling keeps the first maximum in row-major window order, so ties send the
whole gradient to that element (as PyTorch's CPU kernel does).

Example:
    >>> import numpy as np
    >>> x = -np.arange(16.).reshape(1, 1, 4, 4)
    >>> from convnet.ops.pool import pool_spec
    >>> spec = pool_spec(x.shape, x.dtype, 3, stride=2, padding='same')
    >>> max_forward(x, spec)[0][0, 0]
    array([[-0., -1.],
           [-4., -5.]])
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..padding import pad, pad_backward
from .spec import PoolSpec


def supports(spec: PoolSpec, x: np.ndarray) -> bool:
    """The reference pools every input."""
    return True


def _offsets(spec: PoolSpec):
    """Each window offset with the strided slice of the padded input it reads."""
    for offset in itertools.product(*(range(k) for k in spec.kernel_size)):
        window = tuple(slice(o * d, o * d + s * (size - 1) + 1, s) for o, d, s, size
                       in zip(offset, spec.dilation, spec.stride, spec.out_sizes))
        yield offset, (Ellipsis,) + window


def _padded(x: np.ndarray, spec: PoolSpec, fill: float) -> np.ndarray:
    if spec.padding_mode is None:
        return pad(x, spec.full_padding, "zeros", value=fill)
    x = pad(x, spec.padding, spec.padding_mode)
    overhang = tuple((0, extra) for extra in spec.overhang)
    return pad(x, overhang, "zeros", value=fill)


def _unpadded_gradient(grad_padded: np.ndarray, spec: PoolSpec) -> np.ndarray:
    if spec.padding_mode is None:
        return pad_backward(grad_padded, spec.input_shape, spec.full_padding, "zeros")
    mode_padded = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.padding))
    grad = pad_backward(grad_padded, mode_padded, tuple((0, e) for e in spec.overhang), "zeros")
    return pad_backward(grad, spec.input_shape, spec.padding, spec.padding_mode)


def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, *out) and the winning window offset of each (flat, row-major):
    one strided comparison per window offset."""
    x_padded = _padded(x, spec, -np.inf)
    offsets = _offsets(spec)
    _, first = next(offsets)
    best = x_padded[first].copy()
    winner = np.zeros(best.shape, dtype=np.int16 if math.prod(spec.kernel_size) < 32768
                      else np.int64)
    for flat, (_, window) in enumerate(offsets, start=1):
        candidate = x_padded[window]
        # strict: ties keep the first maximum in scan order; a NaN wins (the last one), as torch
        better = (candidate > best) | np.isnan(candidate)
        np.copyto(best, candidate, where=better)
        np.copyto(winner, flat, where=better)
    return best, winner


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Each output's gradient to its window's winner (overlapping windows accumulate):
    one strided masked add per window offset."""
    padded_shape = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.full_padding))
    grad = np.zeros(padded_shape, dtype=dy.dtype)
    for flat, (_, window) in enumerate(_offsets(spec)):
        grad[window] += np.where(winner == flat, dy, 0)
    return _unpadded_gradient(grad, spec)


def window_counts(spec: PoolSpec, count_include_pad: bool) -> np.ndarray:
    """Divisor of each output: window cells inside the input (or inside input + padding).

    Cells a ``ceil_mode`` window reaches past the padding never count (PyTorch's rule).
    Shape (*out_sizes), the outer product of one count per spatial dim.
    """
    counts = np.ones((), dtype=np.float64)
    include = count_include_pad or spec.padding_mode is not None
    for n, k, s, d, (b, a), out in zip(spec.input_shape[2:], spec.kernel_size, spec.stride,
                                       spec.dilation, spec.padding, spec.out_sizes):
        start = np.arange(out) * s - b
        cells = start[:, None] + np.arange(k) * d
        low, high = (-b, n + a) if include else (0, n)
        per_dim = ((cells >= low) & (cells < high)).sum(axis=1)
        counts = np.multiply.outer(counts, per_dim)
    return counts


def avg_forward(x: np.ndarray, spec: PoolSpec, divisor: np.ndarray | float) -> np.ndarray:
    """Window sums divided by ``divisor`` (a number or an array of shape (*out))."""
    x_padded = _padded(x, spec, 0.0)
    total = None
    for _, window in _offsets(spec):
        total = x_padded[window].copy() if total is None else np.add(total, x_padded[window],
                                                                       out=total)
    return (total / divisor).astype(x.dtype, copy=False)


def avg_backward(dy: np.ndarray, spec: PoolSpec, divisor: np.ndarray | float) -> np.ndarray:
    """Spread each output's gradient evenly over its window's cells."""
    padded_shape = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.full_padding))
    grad = np.zeros(padded_shape, dtype=dy.dtype)
    share = (dy / divisor).astype(dy.dtype, copy=False)
    for _, window in _offsets(spec):
        grad[window] += share
    return _unpadded_gradient(grad, spec)
