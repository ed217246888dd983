"""Compiled direct convolution (numba) over flattened channels-first planes: the kernels
behind :mod:`convnet.ops.conv.direct`.

A padded image plane (H_p, W_p) is read as one flat row of ``H_p * W_p`` values. For
stride 1, output position ``p = oy * W_p + ox`` of the plane computed over the *padded*
width needs input ``p + i * d_h * W_p + j * d_w`` for filter element (i, j): every
filter element is one shifted, contiguous slice of the plane, and a convolution is a
sum of ``C * k_h * k_w`` scaled slices (an axpy each), with no column matrix. Positions
with ``ox >= W_out`` are computed and thrown away (``W_p - W_out`` of every ``W_p``).
``L = (H_out - 1) * W_p + W_out`` positions reach the last valid output and never read
past the plane.

The backward passes use the same slices: the weight gradient is a dot product of a
gradient plane (its thrown-away columns zero) with each shifted input slice, and the
input gradient adds each scaled gradient plane into the shifted slice.

Each kernel does the images ``n0 <= n < n1``, so callers can split a batch between
threads (the kernels release the GIL).

Example (a 2x2 box filter on a 3x3 image: 2x2 outputs):
    >>> import numpy as np
    >>> image = np.arange(9, dtype=np.float32).reshape(1, 1, 9)      # (N, C, H_p * W_p)
    >>> w = np.ones((1, 1, 2, 2), np.float32)
    >>> y = np.empty((1, 1, 2, 2), np.float32)
    >>> forward(image, 3, 1, 1, w, w[:, 0, 0, 0] * 0, y, 0, 1)
    >>> y.tolist()
    [[[[8.0, 12.0], [20.0, 24.0]]]]
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=True)
def forward(image, width, dh, dw, weight, bias, y, n0, n1):  # pragma: no cover - compiled
    """``y[n, o] = bias[o] + sum_{c,i,j} weight[o, c, i, j] * plane(n, c) shifted by
    (i * dh, j * dw)`` for images n0..n1-1; ``image`` (N, C, H_p * W_p), ``width`` = W_p."""
    channels = image.shape[1]
    out_channels, _, kh, kw = weight.shape
    out_h, out_w = y.shape[2], y.shape[3]
    length = (out_h - 1) * width + out_w
    acc = np.empty(length, dtype=y.dtype)
    for n in range(n0, n1):
        for o in range(out_channels):
            b = bias[o]
            for p in range(length):
                acc[p] = b
            for c in range(channels):
                plane = image[n, c]
                for i in range(kh):
                    for j in range(kw):
                        wv = weight[o, c, i, j]
                        shifted = plane[i * dh * width + j * dw:]
                        for p in range(length):
                            acc[p] += wv * shifted[p]
            for oy in range(out_h):
                row = y[n, o, oy]
                start = oy * width
                for ox in range(out_w):
                    row[ox] = acc[start + ox]


@njit(cache=True, nogil=True)
def spread_rows(dy, width, out, n0, n1):  # pragma: no cover - compiled
    """``out[n, o]`` (length L) = ``dy[n, o]`` (H_out, W_out) laid out at row stride
    ``width`` with zeros in the thrown-away columns."""
    out_h, out_w = dy.shape[2], dy.shape[3]
    for n in range(n0, n1):
        for o in range(dy.shape[1]):
            target = out[n, o]
            for oy in range(out_h):
                start = oy * width
                for ox in range(out_w):
                    target[start + ox] = dy[n, o, oy, ox]
                if oy < out_h - 1:
                    for ox in range(out_w, width):
                        target[start + ox] = 0


@njit(cache=True, nogil=True, fastmath=True)
def weight_grad(image, width, dh, dw, spread, grad, n0, n1):  # pragma: no cover - compiled
    """``grad[o, c, i, j] += sum_n dot(spread[n, o], plane(n, c) shifted by (i, j))``."""
    channels = image.shape[1]
    out_channels, _, kh, kw = grad.shape
    length = spread.shape[2]
    for n in range(n0, n1):
        for o in range(out_channels):
            g = spread[n, o]
            for c in range(channels):
                plane = image[n, c]
                for i in range(kh):
                    for j in range(kw):
                        shifted = plane[i * dh * width + j * dw:]
                        total = 0.0
                        for p in range(length):
                            total += g[p] * shifted[p]
                        grad[o, c, i, j] += total


@njit(cache=True, nogil=True, fastmath=True)
def input_grad(spread, width, dh, dw, weight, grad, n0, n1):  # pragma: no cover - compiled
    """``grad[n, c]`` (H_p * W_p, overwritten) = sum over o, i, j of
    ``weight[o, c, i, j] * spread[n, o]`` added at shift (i, j): the adjoint of forward."""
    out_channels, channels, kh, kw = weight.shape
    length = spread.shape[2]
    for n in range(n0, n1):
        for c in range(channels):
            plane = grad[n, c]
            for p in range(plane.shape[0]):
                plane[p] = 0
            for o in range(out_channels):
                g = spread[n, o]
                for i in range(kh):
                    for j in range(kw):
                        wv = weight[o, c, i, j]
                        shifted = plane[i * dh * width + j * dw:]
                        for p in range(length):
                            shifted[p] += wv * g[p]
