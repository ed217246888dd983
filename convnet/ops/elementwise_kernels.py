"""Compiled element-wise kernels (numba) for what NumPy does slowly: masked selection.

``np.where(mask, a, 0)`` branches on every element, and a ReLU mask is close to random,
so half the branches mispredict (about 17x slower than a multiplication; see
docs/performance.md). ``a * mask`` is not the same (NaN or inf
times 0 is NaN, and -x * 0 is -0.0). :func:`select_or_zero` compiles the selection
branch-free and returns exactly what ``np.where`` returns, in the memory order of ``a``.

The other kernels do in one pass on both cores (the batch threads) what NumPy does in one
thread, with NumPy's exact values: a ReLU with its mask, ReLU and ReLU6 in place (after a
fused convolution), the sum of two same-layout arrays (a residual sum, two gradients of one
tensor) and a per-channel gate on channels-last memory (squeeze-and-excitation). Each
falls back on NumPy for what it does not take: small arrays, mixed layouts or dtypes,
broadcasting.

Example:
    >>> import numpy as np
    >>> select_or_zero(np.array([[1., np.nan], [-2., 3.]]), np.array([[True, False], [False, True]]))
    array([[1., 0.],
           [0., 3.]])
"""

from __future__ import annotations

import numpy as np

from numba import njit

from .batch_threads import ONE_PASS, run_parts, split
from .layout import aligned_empty_like, channels_last_rows, to_first

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
MIN_COMPILED_SIZE = 1 << 16   # values below which NumPy's own pass is as quick


def _select_py(values, mask, out):
    zero = values.dtype.type(0)
    for i in range(values.size):
        out[i] = values[i] if mask[i] else zero


_select = njit(cache=True, nogil=True)(_select_py)


def _relu_py(values, out, passes):
    zero = values.dtype.type(0)
    for i in range(values.size):
        value = values[i]
        keep = not value <= zero          # NaN is kept, as torch
        passes[i] = keep
        out[i] = value if keep else zero


_relu = njit(cache=True, nogil=True)(_relu_py)


def _large_flat(values: np.ndarray) -> np.ndarray | None:
    """A dense float array of at least :data:`MIN_COMPILED_SIZE` values as one flat view in its
    memory order (for the in-place kernels); None otherwise."""
    if values.dtype not in _FLOATS or values.size < MIN_COMPILED_SIZE:
        return None
    return _flat_in_memory_order(values, _memory_order(values))


def _relu_in_place_py(values):
    zero = values.dtype.type(0)
    for i in range(values.size):
        value = values[i]
        values[i] = value if (value > zero or value != value) else zero


_relu_in_place = njit(cache=True, nogil=True)(_relu_in_place_py)


def relu_in_place(values: np.ndarray) -> np.ndarray:
    """``np.maximum(values, 0, out=values)`` (NaN kept, -0.0 -> 0.0), split between the
    batch threads for a dense float array; NumPy's own for anything else. Returns
    ``values``."""
    flat = _large_flat(values)
    if flat is None:
        return np.maximum(values, 0, out=values)
    _in_parts(lambda lo, hi: _relu_in_place(flat[lo:hi]), values.size)
    return values


def _clip_in_place_py(values, low, high):
    for i in range(values.size):
        value = values[i]
        values[i] = low if value < low else (high if value > high else value)   # NaN stays


_clip_in_place = njit(cache=True, nogil=True)(_clip_in_place_py)


def clip_in_place(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``np.clip(values, low, high, out=values)`` (NaN kept, -0.0 kept), split between the
    batch threads for a dense float array; NumPy's own for anything else. Returns
    ``values``."""
    flat = _large_flat(values)
    if flat is None:
        return np.clip(values, low, high, out=values)
    low, high = values.dtype.type(low), values.dtype.type(high)
    _in_parts(lambda lo, hi: _clip_in_place(flat[lo:hi], low, high), values.size)
    return values


@njit(cache=True, nogil=True)
def _scale_rows(x, scale, out):
    """x (N, R, C) * scale (N, C) -> out (N, R, C)."""
    images, rows, channels = x.shape
    for i in range(images):
        for j in range(rows):
            for k in range(channels):
                out[i, j, k] = x[i, j, k] * scale[i, k]


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b``; where one operand is an (N, C, *spatial) float array in channels-last
    memory and the other one value per image and channel, (N, C, 1, ...) of the same
    dtype (a squeeze-and-excitation block's gate), one compiled pass split between the
    batch threads, channels-last and 64-byte aligned; NumPy's ``*`` for anything else.
    The same IEEE products either way."""
    product = _gated_product(a, b)
    return a * b if product is None else product


def _gated_product(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """:func:`multiply`'s compiled case, or None where it does not apply."""
    x, gate = (a, b) if a.ndim and a.shape[2:] != (1,) * (a.ndim - 2) else (b, a)
    if (x.ndim < 3 or x.dtype not in _FLOATS or gate.dtype != x.dtype
            or x.size < MIN_COMPILED_SIZE or gate.shape != x.shape[:2] + (1,) * (x.ndim - 2)):
        return None
    rows = channels_last_rows(x)
    if rows is None:
        return None
    batch, channels = x.shape[:2]
    scale = np.ascontiguousarray(gate.reshape(batch, channels))
    out = aligned_empty_like(rows)
    run_parts(lambda lo, hi: _scale_rows(rows[lo:hi], scale[lo:hi], out[lo:hi]),
              split(batch, x.size))
    return to_first(out.reshape((batch,) + x.shape[2:] + (channels,)))


def _add_py(a, b, out):
    for i in range(a.size):
        out[i] = a[i] + b[i]


_add = njit(cache=True, nogil=True)(_add_py)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b``; for float arrays of one shape, dtype and memory order (a residual sum, two
    gradients of one tensor) one compiled pass split between the batch threads, in that
    memory order on a 64-byte boundary; NumPy's ``+`` for anything else (broadcasting,
    mixed layouts, small arrays). The same IEEE sums either way."""
    total = _compiled_sum(a, b)
    return a + b if total is None else total


def _compiled_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """:func:`add`'s compiled case, or None where it does not apply."""
    if (a.shape != b.shape or a.dtype != b.dtype or a.dtype not in _FLOATS
            or a.size < MIN_COMPILED_SIZE):
        return None
    axes = _memory_order(a)
    flat_a, flat_b = _flat_in_memory_order(a, axes), _flat_in_memory_order(b, axes)
    if flat_a is None or flat_b is None:
        return None
    out = aligned_empty_like(a)
    flat_out = _flat_in_memory_order(out, axes)
    _in_parts(lambda lo, hi: _add(flat_a[lo:hi], flat_b[lo:hi], flat_out[lo:hi]), a.size)
    return out


def _select_4d_py(values, mask, out):
    """The same selection over (A, B, C, D) views with any strides (axes already in the
    memory order of ``values``), for a mask stored in another layout."""
    zero = values.dtype.type(0)
    a_size, b_size, c_size, d_size = values.shape
    for a in range(a_size):
        for b in range(b_size):
            for c in range(c_size):
                for d in range(d_size):
                    out[a, b, c, d] = values[a, b, c, d] if mask[a, b, c, d] else zero


_select_4d = njit(cache=True, nogil=True)(_select_4d_py)


def _memory_order(array: np.ndarray) -> tuple:
    """The axes of ``array`` from the largest stride to the smallest (ties in axis order)."""
    return tuple(np.argsort([-abs(s) for s in array.strides], kind="stable"))


def _flat_in_memory_order(array: np.ndarray, axes) -> np.ndarray | None:
    """``array`` transposed by ``axes`` and flattened, if that is a view; else None."""
    moved = array.transpose(axes)
    return moved.reshape(-1) if moved.flags.c_contiguous else None


def select_or_zero(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``np.where(mask, values, 0)`` with the dtype and memory layout of ``values``
    (``mask`` boolean, same shape)."""
    if values.size and values.dtype in (np.float32, np.float64):
        axes = _memory_order(values)
        flat_values = _flat_in_memory_order(values, axes)
        flat_mask = _flat_in_memory_order(mask, axes)
        if flat_values is not None and flat_mask is not None:
            out = aligned_empty_like(values)
            flat_out = _flat_in_memory_order(out, axes)
            _in_parts(lambda lo, hi: _select(flat_values[lo:hi], flat_mask[lo:hi],
                                             flat_out[lo:hi]), values.size)
            return out
        if values.ndim == 4:        # a mask in another layout, or values not contiguous
            out = aligned_empty_like(values)        # laid out as ``values``
            v, m, o = (a.transpose(axes) for a in (values, mask, out))
            _in_parts(lambda lo, hi: _select_4d(v[lo:hi], m[lo:hi], o[lo:hi]), values.size,
                      v.shape[0])
            return out
    return np.where(mask, values, np.zeros((), dtype=values.dtype))


def relu_and_mask(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(max(values, 0), not values <= 0)`` in one pass, in the memory layout of ``values``
    (NaN stays NaN and its mask is True, as torch's ReLU and its gradient rule)."""
    if values.size and values.dtype in (np.float32, np.float64):
        axes = _memory_order(values)
        flat_values = _flat_in_memory_order(values, axes)
        if flat_values is not None:
            out = aligned_empty_like(values)  # same memory order: the masks match up too
            passes = np.lib.stride_tricks.as_strided(
                np.empty(values.size, dtype=bool), values.shape,
                tuple(s // values.itemsize for s in values.strides))
            flat_out = _flat_in_memory_order(out, axes)
            flat_passes = _flat_in_memory_order(passes, axes)
            _in_parts(lambda lo, hi: _relu(flat_values[lo:hi], flat_out[lo:hi],
                                           flat_passes[lo:hi]), values.size)
            return out, passes
    passes = values <= 0
    np.logical_not(passes, out=passes)
    return np.maximum(values, values.dtype.type(0)), passes


def _in_parts(kernel, size: int, length: int | None = None) -> None:
    """``kernel(lo, hi)`` over ``range(length)`` (default ``size``) of arrays holding
    ``size`` values, split between threads."""
    run_parts(kernel, split(size if length is None else length, size // ONE_PASS))
