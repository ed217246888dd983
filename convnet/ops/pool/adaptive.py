"""Adaptive pooling (a fixed output size for any input) and channel pooling (maxout).

Adaptive windows follow PyTorch: along a dim of input size ``n`` and output size
``m``, output ``i`` summarises input cells ``floor(i * n / m)`` to
``ceil((i + 1) * n / m) - 1``. Windows may differ in size by one and may overlap;
an output larger than the input repeats cells. Seed 002's "one summary per
quadrant" for inputs of any size is ``adaptive_max_pool2d(x, 2)``.

All windows are gathered at once with one fancy index per dim (the shorter windows
repeat their last cell, which changes no maximum and is masked out of averages);
gradients scatter back with ``np.bincount``. No loop over windows or pixels.

Example:
    >>> import numpy as np
    >>> x = np.arange(25.).reshape(1, 1, 5, 5)
    >>> adaptive_max_forward(x, (2, 2))[0][0, 0]
    array([[12., 14.],
           [22., 24.]])
"""

from __future__ import annotations

import math

import numpy as np

from ..onednn.memory import empty_in_layout
from .global_mean import global_mean


def adaptive_windows(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, valid): ``index[i, j]`` the j-th input cell of output i, clamped to its window."""
    outputs = np.arange(out_size)
    starts = (outputs * in_size) // out_size
    ends = -((-(outputs + 1) * in_size) // out_size)
    longest = int((ends - starts).max())
    cells = starts[:, None] + np.arange(longest)
    valid = cells < ends[:, None]
    return np.minimum(cells, ends[:, None] - 1), valid


def _gather_index(in_sizes, out_sizes):
    """Per-dim index arrays and the validity mask, all broadcasting to (*out, *longest)."""
    ndim = len(in_sizes)
    indices, mask = [], np.ones((), dtype=bool)
    for dim, (n, m) in enumerate(zip(in_sizes, out_sizes)):
        index, valid = adaptive_windows(n, m)
        shape = [1] * (2 * ndim)
        shape[dim], shape[ndim + dim] = index.shape
        indices.append(index.reshape(shape))
        mask = mask & valid.reshape(shape)
    return indices, mask


def _cell_index(in_sizes, out_sizes):
    """Flat input-plane index and validity of every window cell, both shaped (*out, K)."""
    indices, mask = _gather_index(in_sizes, out_sizes)
    flat_index = np.zeros((), dtype=np.int64)
    for index, n in zip(indices, in_sizes):
        flat_index = flat_index * n + index
    shape = tuple(out_sizes) + (math.prod(mask.shape[len(out_sizes):]),)
    return indices, np.broadcast_to(flat_index, mask.shape).reshape(shape), mask.reshape(shape)


def _windows(x: np.ndarray, out_sizes):
    """(N, C, *out, K) gathered windows, with the flat index and mask of each cell."""
    indices, flat_index, mask = _cell_index(x.shape[2:], out_sizes)
    gathered = x[(Ellipsis,) + tuple(indices)]
    return gathered.reshape(x.shape[:2] + flat_index.shape), flat_index, mask


def _scatter(values: np.ndarray, flat_index: np.ndarray, input_shape) -> np.ndarray:
    """Add ``values`` (N, C, *out, K) into planes of ``input_shape`` at ``flat_index``."""
    batch_channels = input_shape[0] * input_shape[1]
    plane = math.prod(input_shape[2:])
    offsets = (np.arange(batch_channels) * plane).reshape(
        input_shape[:2] + (1,) * (values.ndim - 2))
    target = np.broadcast_to(flat_index, values.shape) + offsets
    summed = np.bincount(target.ravel(), weights=values.ravel(), minlength=batch_channels * plane)
    return summed.reshape(input_shape).astype(values.dtype, copy=False)


def adaptive_max_forward(x: np.ndarray, out_sizes) -> tuple[np.ndarray, np.ndarray]:
    """Maxima (N, C, *out) and the flat input-plane index of each: the first maximum wins,
    and a window holding NaN gives NaN from its last NaN (as torch's adaptive max pooling)."""
    windows, flat_index, _ = _windows(x, out_sizes)
    winner = windows.argmax(axis=-1)
    nan = np.isnan(windows)
    if nan.any():
        last_nan = windows.shape[-1] - 1 - np.flip(nan, axis=-1).argmax(axis=-1)
        winner = np.where(nan.any(axis=-1), last_nan, winner)
    winner = winner[..., None]
    values = np.take_along_axis(windows, winner, axis=-1)[..., 0]
    indices = np.take_along_axis(np.broadcast_to(flat_index, windows.shape), winner, -1)[..., 0]
    return values, indices


def adaptive_max_backward(dy: np.ndarray, indices: np.ndarray, input_shape) -> np.ndarray:
    """Each output's gradient to the input cell holding its maximum."""
    return _scatter(dy[..., None], indices[..., None], input_shape)


def _global(x_shape, out_sizes) -> bool:
    return all(size == 1 for size in out_sizes) and math.prod(x_shape[2:]) > 0


def adaptive_avg_forward(x: np.ndarray, out_sizes) -> np.ndarray:
    """Window means (N, C, *out). Global pooling (every output size 1, the end of most
    networks and every squeeze-and-excitation block) is one reduction, summed in float64."""
    if _global(x.shape, out_sizes):
        mean = global_mean(x)                  # channels-last memory: one compiled pass
        if mean is not None:
            return mean
        axes = tuple(range(2, x.ndim))
        return x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(x.dtype, copy=False)
    windows, _, mask = _windows(x, out_sizes)
    counts = mask.sum(axis=-1)
    return (np.where(mask, windows, 0).sum(axis=-1) / counts).astype(x.dtype, copy=False)


def adaptive_avg_backward(dy: np.ndarray, input_shape, out_sizes,
                          channels_last: bool = False) -> np.ndarray:
    """Each output's gradient spread evenly over its window's cells; for global pooling in
    channels-last memory when ``channels_last`` (the input's layout)."""
    if _global(input_shape, out_sizes):
        share = (dy / math.prod(input_shape[2:])).astype(dy.dtype, copy=False)
        _, dx = empty_in_layout(input_shape, channels_last, dy.dtype)
        dx[...] = share.reshape(share.shape[:2] + (1,) * (len(input_shape) - 2))
        return dx
    _, flat_index, mask = _cell_index(input_shape[2:], out_sizes)
    share = (dy / mask.sum(axis=-1)).astype(dy.dtype, copy=False)
    return _scatter(share[..., None] * mask, flat_index, input_shape)


def maxout_forward(x: np.ndarray, pool_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Max over consecutive groups of ``pool_size`` channels: (N, C, ...) -> (N, C/k, ...)."""
    grouped = x.reshape((x.shape[0], x.shape[1] // pool_size, pool_size) + x.shape[2:])
    winner = grouped.argmax(axis=2)[:, :, None]
    return np.take_along_axis(grouped, winner, axis=2)[:, :, 0], winner


def maxout_backward(dy: np.ndarray, winner: np.ndarray, input_shape) -> np.ndarray:
    """The gradient of each output to the channel that won its group."""
    pool_size = input_shape[1] // dy.shape[1]
    grad = np.zeros((dy.shape[0], dy.shape[1], pool_size) + dy.shape[2:], dtype=dy.dtype)
    np.put_along_axis(grad, winner, dy[:, :, None], axis=2)
    return grad.reshape(input_shape)
