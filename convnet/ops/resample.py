"""Padding with torch's flat tuple, interpolation (nearest, linear), cat and stack: NumPy kernels.

Interpolation is separable: along each spatial axis, output position ``o`` reads
input positions ``index0[o]`` and ``index1[o]`` with weights ``lambda0[o]``,
``lambda1[o]`` (nearest: one position, weight 1). Forward gathers along each axis in
turn; backward scatters (``np.add.at``) along each axis in reverse order. The source
positions are torch's, computed in the input's dtype as torch does:

- ``'nearest'`` (torch's legacy rule): ``src = min(floor(o * scale), in - 1)``, except that
  ``out == in`` copies and ``out == 2 * in`` reads ``o // 2``
- ``'nearest-exact'``: ``src = min(floor((o + 0.5) * scale), in - 1)``
- ``'linear'`` family, ``align_corners=False``: ``src = max(scale * (o + 0.5) - 0.5, 0)``;
  ``align_corners=True``: ``src = o * (in - 1) / (out - 1)`` (0 when out == 1);
  ``index0 = min(floor(src), in - 1)``, ``index1 = min(index0 + 1, in - 1)``,
  ``lambda1 = src - index0``, ``lambda0 = 1 - lambda1``; ``out == in`` copies

where ``scale = 1 / scale_factor`` when the caller gave a scale factor (and did not ask
to recompute it), else ``in / out``.

Example:
    >>> import numpy as np
    >>> axis = linear_axis(2, 4, None, align_corners=False, dtype=np.float64)
    >>> resample_forward(np.array([[[0., 1.]]]), (axis,))
    array([[[0.  , 0.25, 0.75, 1.  ]]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .padding import pad as pad_spatial
from .padding import pad_backward as pad_spatial_backward


# ---------------------------------------------------------------------- pad
def pad_forward(x: np.ndarray, pairs, mode: str, value: float = 0.0):
    """Pad (or, for negative amounts in 'zeros' mode, crop) the trailing ``len(pairs)`` dims.

    ``pairs``: one (before, after) pair per trailing dim, in array order; ``mode`` is one of
    :data:`convnet.ops.padding.PADDING_MODES`. Returns ``(y, saved)``.
    """
    crop = tuple((max(0, -before), max(0, -after)) for before, after in pairs)
    grow = tuple((max(0, before), max(0, after)) for before, after in pairs)
    leading = x.ndim - len(pairs)
    kept = (slice(None),) * leading + tuple(
        slice(b, size - a) for (b, a), size in zip(crop, x.shape[leading:]))
    cropped = x[kept]
    return pad_spatial(cropped, grow, mode, value), (x.shape, cropped.shape, kept, grow, mode)


def pad_backward(dy: np.ndarray, saved) -> np.ndarray:
    in_shape, cropped_shape, kept, grow, mode = saved
    folded = pad_spatial_backward(dy, cropped_shape, grow, mode)
    if cropped_shape == in_shape:
        return folded
    dx = np.zeros(in_shape, dtype=dy.dtype)
    dx[kept] = folded
    return dx


# -------------------------------------------------------------- interpolate
@dataclass(frozen=True)
class AxisMap:
    """Where the outputs along one axis read the input: two taps and their weights."""

    in_size: int
    index0: np.ndarray
    lambda0: np.ndarray
    index1: np.ndarray | None = None      # None for nearest (a single tap of weight 1)
    lambda1: np.ndarray | None = None
    half_pixel: bool = False   # linear, align_corners=False, scale in/out: oneDNN's linear map


def nearest_axis(in_size: int, out_size: int, scale_factor: float | None,
                 exact: bool = False) -> AxisMap:
    """torch's nearest source indices (float32 arithmetic, as torch's kernel)."""
    positions = np.arange(out_size)
    if not exact and out_size == in_size:          # torch's legacy shortcuts, kept for BC
        return AxisMap(in_size, positions, np.ones(out_size))
    if not exact and out_size == 2 * in_size:
        return AxisMap(in_size, positions // 2, np.ones(out_size))
    if scale_factor is not None and scale_factor > 0:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    if exact:   # (o + 0.5) * scale is formed in double, then rounded to float
        source = ((positions + 0.5) * np.float64(scale)).astype(np.float32)
    else:
        source = positions.astype(np.float32) * scale
    index = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    return AxisMap(in_size, index, np.ones(out_size))


def linear_axis(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                dtype) -> AxisMap:
    """torch's linear source positions and weights, computed in ``dtype``."""
    dtype = np.dtype(dtype).type
    if out_size == in_size:                         # torch copies (even for a scale_factor)
        index = np.arange(out_size)
        return AxisMap(in_size, index, np.ones(out_size, dtype=dtype), index,
                       np.zeros(out_size, dtype=dtype), half_pixel=True)
    if align_corners:
        scale = dtype(in_size - 1) / dtype(out_size - 1) if out_size > 1 else dtype(0)
        source = np.arange(out_size, dtype=dtype) * scale
    else:
        if scale_factor is not None and scale_factor > 0:
            scale = dtype(1.0 / scale_factor)
        else:
            scale = dtype(in_size) / dtype(out_size)
        source = scale * (np.arange(out_size, dtype=dtype) + dtype(0.5)) - dtype(0.5)
        source = np.maximum(source, dtype(0))
    # torch floors with floorf, i.e. in float32 even for float64 data
    index0 = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), in_size - 1)
    lambda1 = np.clip(source - index0.astype(dtype), dtype(0), dtype(1))
    index1 = np.minimum(index0 + 1, in_size - 1)
    half_pixel = not align_corners and scale == dtype(in_size) / dtype(out_size)
    return AxisMap(in_size, index0, dtype(1) - lambda1, index1, lambda1, bool(half_pixel))


def _weights_along(weights: np.ndarray, ndim: int, axis: int, dtype) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return weights.astype(dtype, copy=False).reshape(shape)


def resample_forward(x: np.ndarray, axes: tuple[AxisMap, ...]) -> np.ndarray:
    """Resample the trailing ``len(axes)`` dims of ``x``; the last axis first (as torch).
    Whole-factor nearest and half-pixel linear resampling of float32 go to oneDNN where it
    loads (:mod:`.resample_onednn`)."""
    from . import resample_onednn
    if resample_onednn.supports(x, axes):
        return resample_onednn.forward(x, axes)
    leading = x.ndim - len(axes)
    for offset in reversed(range(len(axes))):
        axis, plan = leading + offset, axes[offset]
        taken = np.take(x, plan.index0, axis=axis)
        if plan.index1 is None:
            x = taken
            continue
        weight0 = _weights_along(plan.lambda0, x.ndim, axis, x.dtype)
        weight1 = _weights_along(plan.lambda1, x.ndim, axis, x.dtype)
        x = weight0 * taken + weight1 * np.take(x, plan.index1, axis=axis)
    return x


def _scatter_add(folded: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``folded[..., index[o]] += values[..., o]`` for every o. The resampling indices never
    decrease, so each target's terms are one run: ``np.add.reduceat`` sums the runs (as the
    elements come, like ``np.add.at``, which is an order of magnitude slower)."""
    if index.size and np.all(index[1:] >= index[:-1]):
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        folded[..., index[starts]] += np.add.reduceat(values, starts, axis=-1)
    else:
        np.add.at(folded, (..., index), values)


def resample_backward(dy: np.ndarray, axes: tuple[AxisMap, ...]) -> np.ndarray:
    """Gradient of :func:`resample_forward`: scatter-add along each axis, in reverse order."""
    from . import resample_onednn
    if resample_onednn.supports(dy, axes):
        return resample_onednn.backward(dy, axes)
    leading = dy.ndim - len(axes)
    for offset in range(len(axes)):
        axis, plan = leading + offset, axes[offset]
        out_size = len(plan.index0)
        factor = out_size // plan.in_size if plan.in_size else 0
        if plan.index1 is None and factor * plan.in_size == out_size and factor >= 1 and \
                np.array_equal(plan.index0, np.arange(out_size) // factor):
            # nearest by a whole factor: each input's gradient is the sum of its block
            shape = dy.shape[:axis] + (plan.in_size, factor) + dy.shape[axis + 1:]
            dy = dy.reshape(shape).sum(axis=axis + 1)
            continue
        moved = np.moveaxis(dy, axis, -1)
        folded = np.zeros(moved.shape[:-1] + (plan.in_size,), dtype=dy.dtype)
        if plan.index1 is None:
            _scatter_add(folded, plan.index0, moved)
        else:
            weight0 = plan.lambda0.astype(dy.dtype, copy=False)
            weight1 = plan.lambda1.astype(dy.dtype, copy=False)
            _scatter_add(folded, plan.index0, moved * weight0)
            _scatter_add(folded, plan.index1, moved * weight1)
        dy = np.moveaxis(folded, -1, axis)
    return dy


# --------------------------------------------------------------- cat, stack
def cat_forward(arrays, dim: int):
    """Join arrays along existing dim ``dim``; saved: the split points."""
    sizes = np.cumsum([a.shape[dim] for a in arrays])[:-1]
    return np.concatenate(arrays, axis=dim), (sizes, dim, [a.dtype for a in arrays])


def cat_backward(dy: np.ndarray, saved):
    sizes, dim, dtypes = saved
    return tuple(part.astype(dtype, copy=False)
                 for part, dtype in zip(np.split(dy, sizes, axis=dim), dtypes))


def stack_forward(arrays, dim: int):
    """Join arrays of one shape along a new dim ``dim``."""
    return np.stack(arrays, axis=dim), (dim, [a.dtype for a in arrays])


def stack_backward(dy: np.ndarray, saved):
    dim, dtypes = saved
    return tuple(np.take(dy, i, axis=dim).astype(dtype, copy=False)
                 for i, dtype in enumerate(dtypes))
