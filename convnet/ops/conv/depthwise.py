"""Depthwise convolution (MobileNet's, EfficientNet's, ShuffleNet's spatial layer): one
filter per channel, ``groups == C_in == C_out``, a fast backend of :mod:`convnet.ops.conv`.

im2col would build a column matrix ``k_h * k_w`` times the input for a product of width one
per group; oneDNN's kernels want their blocked layout and reorders on each side. Here each
output is ``k_h * k_w`` multiply-adds read straight from the input in whichever layout it
arrives (:mod:`.depthwise_kernels`): channels-last memory (what convnet's oneDNN
convolutions return) keeps channels-last and vectorises over channels; channels-first
vectorises along image rows. Zero padding is a bound on the taps, never a padded copy; any
stride and dilation. The output has the input's memory layout, as a PyTorch channels-last
tensor does.

Used for 2-D depthwise convolutions (multiplier one) with zero padding, float32 or float64
(:func:`supports`); the measurements are in docs/performance.md.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.ones((1, 2, 3, 3), np.float32); w = np.ones((2, 1, 3, 3), np.float32)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, padding=1, groups=2)
    >>> y, saved = forward(x, w, None, spec)
    >>> y[0, 1].tolist()
    [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]
"""

from __future__ import annotations

import math

import numpy as np

from ..batch_threads import run_parts, split
from . import depthwise_kernels as kernels
from .bias import add_bias, bias_gradient

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
NARROW = 16      # channels-first output rows narrower than this: filter gradient channels-last


def supports(spec, x: np.ndarray, weight: np.ndarray) -> bool:
    """True for a 2-D depthwise convolution (multiplier one) with zero padding, one stride
    for both axes, filters of
    at most :data:`.depthwise_kernels.MAX_TAPS` taps, one float dtype for input and
    filters, and something to compute."""
    channels = spec.input_shape[1]
    return (len(spec.kernel_size) == 2 and spec.groups == channels > 1
            and spec.weight_shape[:2] == (channels, 1) and spec.padding_mode == "zeros"
            and spec.stride[0] == spec.stride[1]
            and math.prod(spec.kernel_size) <= kernels.MAX_TAPS
            and x.dtype == weight.dtype and x.dtype in _FLOATS and x.size > 0)


def is_channels_last(x: np.ndarray) -> bool:
    """Whether (N, C, H, W) ``x`` is NHWC memory (its (0, 2, 3, 1) transpose C-contiguous)
    and not also plainly C-contiguous (one channel, or 1x1 images, are both)."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def _forward(layout, spec, stride, arrays, top, left, units, work):
    """The forward kernel over ``units`` planes or images, split between the threads."""
    compiled = kernels.forward_kernel(layout, spec.kernel_size, stride, spec.dilation)
    run_parts(lambda lo, hi: compiled(*arrays, top, left, lo, hi), split(units, work))


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec) -> tuple[np.ndarray, tuple]:
    """``y`` (N, C, OH, OW) in the input's layout, and what the backward pass needs."""
    n, channels, height, width = spec.input_shape
    out_h, out_w = spec.out_sizes
    top, left = spec.padding[0][0], spec.padding[1][0]
    tied = spec.bias == "tied" and bias.dtype == x.dtype
    vector = bias if tied else np.zeros(channels, x.dtype)
    work = x.size + n * channels * out_h * out_w
    if is_channels_last(x):
        layout, image = "nhwc", x.transpose(0, 2, 3, 1)
        filters = np.ascontiguousarray(weight[:, 0].transpose(1, 2, 0))      # (KH, KW, C)
        out = np.empty((n, out_h, out_w, channels), x.dtype)
        units, y = n, out.transpose(0, 3, 1, 2)
    else:
        layout = "nchw"
        image = np.ascontiguousarray(x).reshape(n * channels, height, width)
        filters = np.ascontiguousarray(weight[:, 0])                          # (C, KH, KW)
        out = np.empty((n * channels, out_h, out_w), x.dtype)
        units, y = n * channels, out.reshape(spec.output_shape)
    _forward(layout, spec, spec.stride[0], (image, filters, vector, out), top, left, units,
             work)
    return add_bias(y, None if tied else bias, spec), (layout, image, filters)


def _weight_grad(layout, image, g, spec, work):
    """(C, 1, KH, KW) filter gradient. Channels-first planes with output rows narrower
    than :data:`NARROW`, or strided, are summed channels-last: a row of a few values (or
    every other value) leaves the vector unit mostly idle, and two transposed copies cost
    less (measured in docs/performance.md)."""
    n, channels, height, width = spec.input_shape
    if layout == "nchw" and (spec.out_sizes[1] < NARROW or spec.stride[0] > 1):
        layout = "nhwc"
        image = image.reshape(n, channels, height, width).transpose(0, 2, 3, 1)
        image = np.ascontiguousarray(image)
        g = np.ascontiguousarray(g.reshape(n, channels, *spec.out_sizes).transpose(0, 2, 3, 1))
    shape = (*spec.kernel_size, channels) if layout == "nhwc" else (channels, *spec.kernel_size)
    ranges = split(len(image), work)
    partial = np.zeros((len(ranges),) + shape, image.dtype)
    part_of = {lo: k for k, (lo, _) in enumerate(ranges)}
    compiled = kernels.weight_grad_nhwc if layout == "nhwc" else kernels.weight_grad_nchw
    (top, _), (left, _) = spec.padding
    run_parts(lambda lo, hi: compiled(image, g, partial[part_of[lo]], spec.stride[0],
                                      *spec.dilation, top, left, lo, hi), ranges)
    total = partial.sum(axis=0)
    return np.ascontiguousarray((total.transpose(2, 0, 1) if layout == "nhwc" else total)[:, None])


def backward(dy: np.ndarray, saved: tuple, spec, need_input_grad: bool = True):
    """Gradients ``(dx, dweight, dbias)`` of :func:`forward`; ``dx`` in the input's layout.

    The input gradient is a stride-1 forward pass of the flipped filters over ``dy`` (with
    ``stride - 1`` zeros between its values, channels-first), offset by
    ``(k - 1) * dilation - pad``; strided channels-last gradients are scattered back along
    the taps instead."""
    layout, image, filters = saved
    dtype = image.dtype
    n, channels, height, width = spec.input_shape
    (kh, kw), (sy, sx), (dil_y, dil_x) = spec.kernel_size, spec.stride, spec.dilation
    top, left = spec.padding[0][0], spec.padding[1][0]
    work = image.size + dy.size
    grad = dy.astype(dtype, copy=False)
    if layout == "nhwc":
        g = np.ascontiguousarray(grad.transpose(0, 2, 3, 1))
        units, flipped = n, filters[::-1, ::-1]
    else:
        g = np.ascontiguousarray(grad).reshape(n * channels, *spec.out_sizes)
        units, flipped = n * channels, filters[:, ::-1, ::-1]
    dweight = _weight_grad(layout, image, g, spec, work)
    dx = None
    if need_input_grad:
        gx = np.empty(image.shape, dtype)
        if layout == "nhwc" and sy > 1:        # scattered back along the taps
            run_parts(lambda lo, hi: kernels.input_grad_nhwc(g, filters, gx, sy, dil_y, dil_x,
                                                             top, left, lo, hi),
                      split(units, work))
        else:
            if sy > 1:                         # zeros between the gradient's values
                out_h, out_w = spec.out_sizes
                spread = np.zeros((g.shape[0], (out_h - 1) * sy + 1, (out_w - 1) * sx + 1)
                                  + g.shape[3:], dtype)
                spread[:, ::sy, ::sx] = g
                g = spread
            _forward(layout, spec, 1, (g, np.ascontiguousarray(flipped),
                                       np.zeros(channels, dtype), gx),
                     (kh - 1) * dil_y - top, (kw - 1) * dil_x - left, units, work)
        dx = gx.transpose(0, 3, 1, 2) if layout == "nhwc" else gx.reshape(spec.input_shape)
    return dx, dweight, bias_gradient(dy, spec)
