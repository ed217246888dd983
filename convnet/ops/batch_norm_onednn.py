"""Batch normalisation by oneDNN's primitive: the backend that
:func:`convnet.ops.layers.batch_norm_forward` picks first where the library is loaded.

oneDNN normalises row-major (N, C, *spatial) and channels-last memory where it lies (a
convolution's output is channels-last), computing the batch's mean and biased variance
itself in training, or taking the running statistics (``use_global_stats``) in
evaluation. The running statistics are updated here, in NumPy, from the (C,) mean and
variance oneDNN returns, exactly as the other backends do. Unlike the compiled backend,
which keeps the normalised input for the backward pass, this one keeps only the input
(already held by autograd) and the (C,) statistics: one activation-sized array less per
layer.

Same contract as :func:`convnet.ops.layers.batch_norm_forward` / ``batch_norm_backward``:
``forward(...) -> (y, saved)`` and ``backward(dy, saved) -> (dx, dweight, dbias)``, with
:func:`supports` saying which cases it takes (float32, 2 to 5 dimensions, a non-empty
batch, float32 or absent weight and bias).

Example:
    >>> import numpy as np
    >>> x = np.arange(8, dtype=np.float32).reshape(4, 2)
    >>> if supports(x, None, None):
    ...     y, saved = forward(x, None, None, None, None, True, 0.1, 1e-5)
    ...     assert np.allclose(y[:, 0], [-1.342, -0.447, 0.447, 1.342], atol=1e-3)
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from .onednn import library as L
from .onednn.memory import (
    Memory, activation_md, empty_in_layout, in_layout, is_channels_last, plain_md,
)
from .onednn.primitive import Primitive, implementation_name, user_scratchpad_attr

DIMENSIONS = (2, 3, 4, 5)


def supports(x: np.ndarray, weight, bias) -> bool:
    """float32 input of 2-5 dimensions with values, float32 (or no) weight and bias, the
    library loaded and not turned off, and not oneDNN's generic channels-last kernel
    (``nspc_bnorm``, which it picks for a few channels, e.g. 3 or 6: 4x slower than the
    compiled kernels there)."""
    return (L.available() and x.dtype == np.float32 and x.ndim in DIMENSIONS and x.size > 0
            and all(v is None or v.dtype == np.float32 for v in (weight, bias))
            and not _generic_channels_last(x.shape, is_channels_last(x)))


@functools.lru_cache(maxsize=256)
def _generic_channels_last(shape: tuple, channels_last: bool) -> bool:
    if not channels_last:
        return False
    plan = _plan(shape, True, True, True, True, 1e-5)
    return implementation_name(plan.forward.pd).startswith("nspc")


@functools.lru_cache(maxsize=256)
def _plan(shape: tuple, channels_last: bool, training: bool, scale: bool, shift: bool,
          eps: float):
    return _Plan(shape, channels_last, training, scale, shift, eps)


class _Plan:
    """The forward and backward primitives of one shape, layout, mode and affine form."""

    def __init__(self, shape, channels_last, training, scale, shift, eps):
        lib, engine = L.lib(), L.engine()
        self.shape, self.channels_last, self.training = shape, channels_last, training
        flags = ((0 if training else L.USE_GLOBAL_STATS) | (L.USE_SCALE if scale else 0)
                 | (L.USE_SHIFT if shift else 0))
        data_md = activation_md(shape, np.float32, channels_last)
        what = f"batch normalisation {shape}"
        forward_pd = L.handle()
        L.check(lib.dnnl_batch_normalization_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, data_md, data_md, eps, flags,
            user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_batch_normalization_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, L.BACKWARD, data_md, data_md, data_md, eps, flags,
            forward_pd, user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        vector_md = plain_md((shape[1],), np.float32)
        self.data = {key: Memory(data_md) for key in (L.ARG_SRC, L.ARG_DST, L.ARG_DIFF_SRC,
                                                      L.ARG_DIFF_DST)}
        self.vector = {key: Memory(vector_md) for key in (
            L.ARG_MEAN, L.ARG_VARIANCE, L.ARG_SCALE, L.ARG_SHIFT, L.ARG_DIFF_SCALE,
            L.ARG_DIFF_SHIFT)}

    def bind(self, arrays: dict) -> dict:
        """``{ARG_*: Memory}`` for ``{ARG_*: array}``; None entries left out."""
        return {key: (self.data.get(key) or self.vector[key]).bind(array)
                for key, array in arrays.items() if array is not None}


def _vector(values) -> np.ndarray | None:
    return None if values is None else np.ascontiguousarray(values, np.float32)


def forward(x, running_mean, running_var, weight, bias, training: bool, momentum: float,
            eps: float):
    """``(y, saved)``: y in x's layout (channels-last stays channels-last); the running
    statistics (when given) updated in place in training, as
    :func:`convnet.ops.layers.batch_norm_forward` documents."""
    channels_last = is_channels_last(x)
    plan = _plan(x.shape, channels_last, training, weight is not None, bias is not None,
                 float(eps))
    src = in_layout(x, channels_last)
    out, y = empty_in_layout(x.shape, channels_last)
    scale, shift = _vector(weight), _vector(bias)
    if training:
        mean, var = np.empty(x.shape[1], np.float32), np.empty(x.shape[1], np.float32)
    else:
        mean, var = _vector(running_mean), _vector(running_var)
    with L.threads(None):
        plan.forward.execute(plan.bind({
            L.ARG_SRC: src, L.ARG_DST: out, L.ARG_MEAN: mean, L.ARG_VARIANCE: var,
            L.ARG_SCALE: scale, L.ARG_SHIFT: shift}))
    if training:
        count = x.size // x.shape[1]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += (momentum * mean.astype(np.float64)).astype(running_mean.dtype)
        if running_var is not None:
            unbiased = var.astype(np.float64) * (count / max(count - 1, 1))
            running_var *= 1 - momentum
            running_var += (momentum * unbiased).astype(running_var.dtype)
    saved = ("onednn", plan, src, mean, var, scale, shift is not None, weight)
    return y, saved


def backward(dy: np.ndarray, saved):
    """``(dx, dweight, dbias)`` in dy's shape and the forward's layout; dweight/dbias None
    without a weight/bias."""
    _, plan, src, mean, var, scale, has_shift, weight = saved
    diff_dst = in_layout(dy.astype(np.float32, copy=False), plan.channels_last)
    out, dx = empty_in_layout(plan.shape, plan.channels_last)
    channels = plan.shape[1]
    dscale = np.empty(channels, np.float32) if scale is not None else None
    dshift = np.empty(channels, np.float32) if has_shift else None
    with L.threads(None):
        plan.backward.execute(plan.bind({
            L.ARG_SRC: src, L.ARG_MEAN: mean, L.ARG_VARIANCE: var, L.ARG_DIFF_DST: diff_dst,
            L.ARG_SCALE: scale, L.ARG_DIFF_SRC: out, L.ARG_DIFF_SCALE: dscale,
            L.ARG_DIFF_SHIFT: dshift}))
    dweight = None if weight is None else dscale.astype(weight.dtype, copy=False)
    return dx, dweight, dshift
