"""Transposed convolution by oneDNN: the backward-data pass of the convolution it transposes.

A transposed convolution from ``x`` (N, C_in, *in) to ``y`` (N, C_out, *out) with weight
(C_in, C_out / groups, *k) is the adjoint of the convolution from ``y``'s shape to ``x``'s
with the same weight read as (out, in / groups, *k), stride, dilation and groups, padded by
the transposed convolution's crop. So on that convolution's oneDNN primitives
(:mod:`.onednn`, one plan per spec, cached there):

    y  = backward_data(diff_dst=x, weights=W)   (+ bias)
    dx = forward(src=dy, weights=W)
    dW = backward_weights(src=dy, diff_dst=x)

``output_padding`` (zeros appended to the canvas) needs no primitive support: the
convolution over the longer ``y`` has the same window positions, and positions that no
window reaches get a zero gradient, as the transposed convolution gives them no patch.

Same signature as :mod:`.transpose`'s functions: ``supports(spec, x, weight)``,
``forward(x, weight, bias, spec) -> (y, saved)``, ``backward(dy, saved, spec,
need_input_grad, need_weight_grad) -> (dx, dweight, dbias)``.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv.transpose import conv_transpose_spec
    >>> x = np.array([[[[1.0, 2.0]]]], np.float32); w = np.ones((1, 1, 1, 2), np.float32)
    >>> spec = conv_transpose_spec(x.shape, x.dtype, w.shape, stride=2)
    >>> if supports(spec, x, w):
    ...     assert forward(x, w, None, spec)[0].tolist() == [[[[1.0, 1.0, 2.0, 2.0]]]]
"""

from __future__ import annotations

import functools

import numpy as np

from ..onednn import library as L
from . import onednn
from .bias import add_bias, bias_gradient
from .spec import conv_spec


@functools.lru_cache(maxsize=256)
def equivalent_conv(spec):
    """The convolution spec this transposed convolution is the adjoint of, or None where its
    output size does not map back onto the input size (a dilation larger than the stride
    with an output padding of at least the stride)."""
    shape = spec.output_shape
    weight = spec.weight_shape
    try:
        conv = conv_spec(shape, np.float32, weight, None, spec.stride, spec.padding,
                         spec.dilation, spec.groups)
    except ValueError:
        return None
    return conv if conv.out_sizes == spec.in_sizes else None


def supports(spec, x: np.ndarray, weight: np.ndarray) -> bool:
    """float32, tied or no bias, a non-empty batch, and a convolution oneDNN can run."""
    if not (L.available() and x.dtype == weight.dtype == np.float32 and x.size > 0
            and spec.bias in ("none", "tied")):
        return False
    conv = equivalent_conv(spec)
    return conv is not None and onednn.supports(conv, x, weight)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, spec):
    """``(y, saved)``: ``y`` (N, C_out, *out) in channels-last memory."""
    conv = equivalent_conv(spec)
    plan = onednn._plan(conv)
    with L.threads(plan.threads):
        y = onednn.data_gradient(plan, plan.data_diff_dst.into(x), weight)
    return add_bias(y, bias, spec), (x, weight)


def backward(dy: np.ndarray, saved: tuple, spec, need_input_grad: bool = True,
             need_weight_grad: bool = True):
    """``(dx, dweight, dbias)`` of :func:`forward`; dx/dweight None where not needed."""
    x, weight = saved
    conv = equivalent_conv(spec)
    plan = onednn._plan(conv)
    dy = dy.astype(np.float32, copy=False)
    with L.threads(plan.threads):
        dx = onednn._forward(plan, dy, weight, None)[0] if need_input_grad else None
        dweight = None
        if need_weight_grad:
            dweight, _ = onednn.weight_gradient(plan, plan.weights_src.into(dy),
                                                plan.weights_diff_dst.into(x), conv)
    return dx, dweight, bias_gradient(dy, spec)
