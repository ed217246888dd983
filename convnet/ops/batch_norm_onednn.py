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

``forward(..., relu=True)`` with batch statistics is ``relu(batch_norm(x))`` in the same
pass (oneDNN's ``fuse_norm_relu``: a workspace of one bit per value carries the ReLU's mask
to the backward pass, which returns the gradient with respect to the batch norm's input).
oneDNN's fused ReLU maps NaN to 0 where PyTorch keeps it; a NaN or inf anywhere in a
channel makes that channel's batch mean or variance non-finite, so the forward pass checks
the (C,) statistics and returns None (nothing updated) for the caller to run the two layers
apart (:func:`supports_relu`).

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
    Memory, activation_md, aligned_buffer, empty_in_layout, in_layout, is_channels_last,
    md_size, plain_md,
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


def supports_relu(x: np.ndarray, weight, bias) -> bool:
    """:func:`supports`, and oneDNN's JIT kernel for batch statistics with a fused ReLU."""
    return supports(x, weight, bias) and _jit_with_relu(
        x.shape, is_channels_last(x), weight is not None, bias is not None)


@functools.lru_cache(maxsize=256)
def _jit_with_relu(shape: tuple, channels_last: bool, scale: bool, shift: bool) -> bool:
    try:
        plan = _plan(shape, channels_last, True, scale, shift, 1e-5, True)
    except L.OneDNNError:
        return False
    return all(implementation_name(p.pd).startswith("bnorm_jit")
               for p in (plan.forward, plan.backward))


@functools.lru_cache(maxsize=256)
def _plan(shape: tuple, channels_last: bool, training: bool, scale: bool, shift: bool,
          eps: float, relu: bool = False):
    return _Plan(shape, channels_last, training, scale, shift, eps, relu)


class _Plan:
    """The forward and backward primitives of one shape, layout, mode and affine form."""

    def __init__(self, shape, channels_last, training, scale, shift, eps, relu):
        lib, engine = L.lib(), L.engine()
        self.shape, self.channels_last, self.training = shape, channels_last, training
        flags = ((0 if training else L.USE_GLOBAL_STATS) | (L.USE_SCALE if scale else 0)
                 | (L.USE_SHIFT if shift else 0) | (L.FUSE_NORM_RELU if relu else 0))
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
        workspace = self.forward.md("workspace") if relu else None
        self.workspace = Memory(workspace) if workspace else None
        self.workspace_bytes = md_size(workspace) if workspace else 0
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
            eps: float, relu: bool = False):
    """``(y, saved)``: y in x's layout (channels-last stays channels-last); the running
    statistics (when given) updated in place in training, as
    :func:`convnet.ops.layers.batch_norm_forward` documents. ``relu`` (training only): y is
    ``relu(batch_norm(x))``, or the result is None when a batch statistic is not finite."""
    channels_last = is_channels_last(x)
    relu = bool(relu and training)
    plan = _plan(x.shape, channels_last, training, weight is not None, bias is not None,
                 float(eps), relu)
    src = in_layout(x, channels_last)
    out, y = empty_in_layout(x.shape, channels_last)
    scale, shift = _vector(weight), _vector(bias)
    if training:
        mean, var = np.empty(x.shape[1], np.float32), np.empty(x.shape[1], np.float32)
    else:
        mean, var = _vector(running_mean), _vector(running_var)
    workspace = aligned_buffer(plan.workspace_bytes) if relu else None
    arguments = plan.bind({L.ARG_SRC: src, L.ARG_DST: out, L.ARG_MEAN: mean,
                           L.ARG_VARIANCE: var, L.ARG_SCALE: scale, L.ARG_SHIFT: shift})
    if relu:
        arguments[L.ARG_WORKSPACE] = plan.workspace.bind(workspace)
    with L.threads(None):
        plan.forward.execute(arguments)
    if relu and not (np.isfinite(mean).all() and np.isfinite(var).all()):
        return None
    if training:
        count = x.size // x.shape[1]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += (momentum * mean.astype(np.float64)).astype(running_mean.dtype)
        if running_var is not None:
            unbiased = var.astype(np.float64) * (count / max(count - 1, 1))
            running_var *= 1 - momentum
            running_var += (momentum * unbiased).astype(running_var.dtype)
    saved = ("onednn", plan, src, mean, var, scale, shift is not None, weight, workspace)
    return y, saved


def backward(dy: np.ndarray, saved):
    """``(dx, dweight, dbias)`` in dy's shape and the forward's layout; dweight/dbias None
    without a weight/bias."""
    _, plan, src, mean, var, scale, has_shift, weight, workspace = saved
    diff_dst = in_layout(dy.astype(np.float32, copy=False), plan.channels_last)
    out, dx = empty_in_layout(plan.shape, plan.channels_last)
    channels = plan.shape[1]
    dscale = np.empty(channels, np.float32) if scale is not None else None
    dshift = np.empty(channels, np.float32) if has_shift else None
    arguments = plan.bind({
        L.ARG_SRC: src, L.ARG_MEAN: mean, L.ARG_VARIANCE: var, L.ARG_DIFF_DST: diff_dst,
        L.ARG_SCALE: scale, L.ARG_DIFF_SRC: out, L.ARG_DIFF_SCALE: dscale,
        L.ARG_DIFF_SHIFT: dshift})
    if workspace is not None:
        arguments[L.ARG_WORKSPACE] = plan.workspace.bind(workspace)
    with L.threads(None):
        plan.backward.execute(arguments)
    dweight = None if weight is None else dscale.astype(weight.dtype, copy=False)
    return dx, dweight, dshift
