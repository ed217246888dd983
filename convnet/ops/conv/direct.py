"""Direct convolution for narrow first layers (a fast backend of :mod:`convnet.ops.conv`).

Same maths as :mod:`convnet.ops.conv.reference`; no column matrix. With one to a few input
channels and few filters, im2col + GEMM spends its time copying the columns and in a
product too thin for the BLAS (LeNet's first layer: 100,352 x 25 times 25 x 6). Here every
filter element is an axpy of one shifted, contiguous slice of a padded input plane
(:mod:`.direct_kernels`), over the batch split between threads (:mod:`..batch_threads`).
Input and output are channels-first (N, C, H, W), as images arrive from the data.

Used for stride-1, ungrouped 1-D and 2-D convolutions with at most :data:`MAX_IN_CHANNELS`
input channels and :data:`MAX_OUT_CHANNELS` filters (:func:`supports`); where that wins
and by how much is in docs/performance.md.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 2, 2), np.float32)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape)
    >>> y, saved = forward(x, w, None, spec)
    >>> y.tolist()
    [[[[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]]]
"""

from __future__ import annotations

import numpy as np

from ..batch_threads import run_parts, split
from ..padding import pad, pad_backward
from . import direct_kernels
from .bias import add_bias, bias_gradient

MAX_IN_CHANNELS = 4
MAX_OUT_CHANNELS = 12
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def supports(spec, x: np.ndarray, weight: np.ndarray) -> bool:
    """True when :func:`forward` computes this convolution and is the faster backend."""
    return (spec.groups == 1 and len(spec.kernel_size) in (1, 2)
            and all(s == 1 for s in spec.stride)
            and x.shape[1] <= MAX_IN_CHANNELS and weight.shape[0] <= MAX_OUT_CHANNELS
            and x.dtype == weight.dtype and x.dtype in _FLOATS and x.size > 0)


def _planar(spec):
    """(pairs, dilation (dh, dw), input shape) of the 2-D view (1-D: height 1)."""
    pairs, dilation, shape = spec.padding, spec.dilation, spec.input_shape
    if len(pairs) == 1:
        return ((0, 0),) + pairs, (1,) + dilation, shape[:2] + (1,) + shape[2:]
    return pairs, dilation, shape


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec) -> tuple[np.ndarray, tuple]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight``; returns ``(y, saved)``, ``y``
    a C-contiguous (N, C_out, *out_sizes) array."""
    pairs, (dh, dw), shape = _planar(spec)
    n, channels = shape[:2]
    padded = np.ascontiguousarray(pad(x.reshape(shape), pairs, spec.padding_mode))
    width = padded.shape[-1]
    flat = padded.reshape(n, channels, -1)
    filters = np.ascontiguousarray(weight.reshape(weight.shape[:2] + (-1, weight.shape[-1])))
    out_channels = filters.shape[0]
    tied = spec.bias == "tied" and bias.dtype == x.dtype
    vector = bias if tied else np.zeros(out_channels, dtype=x.dtype)
    y = np.empty((n, out_channels) + ((1,) + spec.out_sizes)[-2:], dtype=x.dtype)
    run_parts(lambda lo, hi: direct_kernels.forward(flat, width, dh, dw, filters, vector, y,
                                                    lo, hi), split(n))
    y = y.reshape(spec.output_shape)
    return add_bias(y, None if tied else bias, spec), (flat, width, filters)


def backward(dy: np.ndarray, saved: tuple, spec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy``."""
    flat, width, filters = saved
    pairs, (dh, dw), shape = _planar(spec)
    n = shape[0]
    out_channels = filters.shape[0]
    dtype = np.result_type(dy, filters)
    grid = dy.reshape((n, out_channels) + ((1,) + spec.out_sizes)[-2:])
    length = (grid.shape[2] - 1) * width + grid.shape[3]
    spread = np.empty((n, out_channels, length), dtype=dtype)
    ranges = split(n)
    run_parts(lambda lo, hi: direct_kernels.spread_rows(grid, width, spread, lo, hi), ranges)
    partial = np.zeros((len(ranges),) + filters.shape, dtype=dtype)
    part_of = {lo: k for k, (lo, _) in enumerate(ranges)}
    image = flat if flat.dtype == dtype else flat.astype(dtype)
    run_parts(lambda lo, hi: direct_kernels.weight_grad(image, width, dh, dw, spread,
                                                        partial[part_of[lo]], lo, hi), ranges)
    dweight = partial.sum(axis=0).reshape(spec.weight_shape)
    dbias = bias_gradient(dy, spec)
    if not need_input_grad:
        return None, dweight, dbias
    grad = np.empty(flat.shape, dtype=dtype)
    weights = filters if filters.dtype == dtype else filters.astype(dtype)
    run_parts(lambda lo, hi: direct_kernels.input_grad(spread, width, dh, dw, weights, grad,
                                                       lo, hi), ranges)
    padded_shape = shape[:2] + tuple(s + b + a for s, (b, a) in zip(shape[2:], pairs))
    dx = pad_backward(grad.reshape(padded_shape), shape, pairs, spec.padding_mode)
    return dx.reshape(spec.input_shape), dweight, dbias
