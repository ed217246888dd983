"""Compiled max-pooling kernels (numba): one pass over the input, one plane at a time.

Pooling of any dimensionality is run as 3-D pooling of (N, C, D, H, W) arrays, with
1-D and 2-D inputs given leading singleton spatial dims; inputs are read with any strides
(2-D max pooling mostly goes to :mod:`.kernels2d`). Implicit padding is never
materialised: window cells outside the input are skipped, which is the same as
padding with -inf. The first maximum in scan order wins (strictly greater replaces),
matching :mod:`.reference` and PyTorch's CPU kernel (a NaN wins, the last one).

"""

from __future__ import annotations

import math

import numpy as np

from numba import njit



def _max_forward_py(x, kernel, stride, dilation, before, out, winner):
    batch, channels, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[2:]
    for plane in range(batch * channels):
        n = plane // channels
        ch = plane % channels
        for a in range(out_d):
            for b in range(out_h):
                for c in range(out_w):
                    best = -np.inf
                    best_index = -1
                    index = 0
                    for i in range(kernel[0]):
                        z = a * stride[0] - before[0] + i * dilation[0]
                        for j in range(kernel[1]):
                            y = b * stride[1] - before[1] + j * dilation[1]
                            for k in range(kernel[2]):
                                w = c * stride[2] - before[2] + k * dilation[2]
                                if 0 <= z < in_d and 0 <= y < in_h and 0 <= w < in_w:
                                    value = x[n, ch, z, y, w]
                                    if best_index < 0 or value > best or value != value:
                                        best = value
                                        best_index = index
                                index += 1
                    out[n, ch, a, b, c] = best
                    winner[n, ch, a, b, c] = best_index


def _max_backward_py(dy, winner, kernel, stride, dilation, before, grad):
    batch, channels, out_d, out_h, out_w = dy.shape
    for plane in range(batch * channels):
        n = plane // channels
        ch = plane % channels
        for a in range(out_d):
            for b in range(out_h):
                for c in range(out_w):
                    index = winner[n, ch, a, b, c]
                    k = index % kernel[2]
                    j = (index // kernel[2]) % kernel[1]
                    i = index // (kernel[2] * kernel[1])
                    grad[n, ch, a * stride[0] - before[0] + i * dilation[0],
                         b * stride[1] - before[1] + j * dilation[1],
                         c * stride[2] - before[2] + k * dilation[2]] += dy[n, ch, a, b, c]


_max_forward = njit(cache=True, nogil=True)(_max_forward_py)
_max_backward = njit(cache=True, nogil=True)(_max_backward_py)


def winner_dtype(kernel_size) -> np.dtype:
    """Smallest integer type that holds every flat window offset (int8 up to 127 cells)."""
    cells = math.prod(kernel_size)
    return np.dtype(np.int8 if cells <= 127 else np.int16 if cells <= 32767 else np.int32)


def _as_3d(values: tuple[int, ...], fill: int) -> np.ndarray:
    return np.array((fill,) * (3 - len(values)) + tuple(values), dtype=np.int64)


def _five_d(array: np.ndarray, spatial: int) -> np.ndarray:
    """(N, C, *spatial) as (N, C, D, H, W) by adding unit dims: a view for any strides, so
    a channel-major conv output is read where it lies, never copied."""
    shape = array.shape
    return array.reshape(shape[:2] + (1,) * (3 - spatial) + shape[2:])


def max_forward(x: np.ndarray, kernel_size, stride, dilation, before, out_sizes):
    """(maxima, winning flat window offset) of shape (N, C, *out_sizes), window cells
    outside ``x`` skipped; ``before`` is the implicit padding before each spatial dim."""
    spatial = len(kernel_size)
    shape = x.shape[:2] + tuple(out_sizes)
    out = np.empty(shape, dtype=x.dtype)
    winner = np.empty(shape, dtype=winner_dtype(kernel_size))
    _max_forward(_five_d(x, spatial), _as_3d(kernel_size, 1), _as_3d(stride, 1),
                 _as_3d(dilation, 1), _as_3d(before, 0), _five_d(out, spatial),
                 _five_d(winner, spatial))
    return out, winner


def max_backward(dy: np.ndarray, winner: np.ndarray, input_shape, kernel_size, stride,
                 dilation, before) -> np.ndarray:
    """Each output's gradient added to the input cell that held its maximum."""
    spatial = len(kernel_size)
    grad = np.zeros(input_shape, dtype=dy.dtype)
    _max_backward(_five_d(dy, spatial), _five_d(winner, spatial), _as_3d(kernel_size, 1),
                  _as_3d(stride, 1), _as_3d(dilation, 1), _as_3d(before, 0),
                  _five_d(grad, spatial))
    return grad
