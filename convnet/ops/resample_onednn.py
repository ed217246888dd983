"""Nearest-neighbour upsampling by whole factors (U-Net's 'repeat' up-sampling) and
(bi/tri)linear resampling with ``align_corners=False`` by oneDNN's resampling primitive,
forward and backward, on row-major or channels-last memory kept as it lies.

For a whole factor ``f`` PyTorch's nearest reads input ``o // f`` for output ``o``, which
is what oneDNN's nearest reads too. PyTorch's linear map without aligned corners reads
``src = (o + 0.5) * in / out - 0.5`` clamped to the input, oneDNN's too (the weights may
differ in the last bit: the two round the product in a different order); that holds
when the scale is ``in / out`` (an output size, or a scale factor whose inverse is
exactly that). Every other resampling (fractional nearest factors, aligned corners, a
scale factor of another ratio) stays with the NumPy kernels of :mod:`.resample`.

Functions: ``supports(x, axes)``, ``forward(x, axes)``, ``backward(dy, axes)``, with
``axes`` the :class:`.resample.AxisMap` of each spatial axis.

Example:
    >>> import numpy as np
    >>> from convnet.ops.resample import nearest_axis
    >>> x = np.arange(2048, dtype=np.float32).reshape(2, 4, 16, 16)
    >>> axes = tuple(nearest_axis(16, 32, None, np.float32) for _ in range(2))
    >>> if supports(x, axes):
    ...     assert (forward(x, axes) == x.repeat(2, axis=2).repeat(2, axis=3)).all()
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from .onednn import library as L
from .onednn.memory import (
    CHANNELS_LAST_TAGS, Memory, activation_md, empty_in_layout, in_layout, is_channels_last,
)
from .onednn.primitive import Primitive, implementation_name, user_scratchpad_attr

RESAMPLING_NEAREST = 0x2FFF0
RESAMPLING_LINEAR = 0x2FFF1


def _whole_factor(axis) -> bool:
    out_size = len(axis.index0)
    factor = out_size // axis.in_size if axis.in_size else 0
    return (axis.index1 is None and factor >= 1 and factor * axis.in_size == out_size
            and np.array_equal(axis.index0, np.arange(out_size) // factor))


def _algorithm(axes) -> int | None:
    """oneDNN's algorithm for these axis maps, or None when it has none."""
    if all(map(_whole_factor, axes)):
        return RESAMPLING_NEAREST
    if all(axis.index1 is not None and axis.half_pixel for axis in axes):
        return RESAMPLING_LINEAR
    return None


def supports(x: np.ndarray, axes) -> bool:
    """float32 (N, C, *spatial) with 1-3 spatial axes, all whole-factor nearest maps or all
    half-pixel linear ones (and then no NaN or inf in ``x``), a non-empty batch, oneDNN
    loaded and on, and JIT kernels for the case. ``x`` may be the input or the output
    gradient (its dtype, batch, channels, layout and, for linear maps, values are read)."""
    if not (L.available() and x.dtype == np.float32 and x.ndim in CHANNELS_LAST_TAGS
            and len(axes) == x.ndim - 2 and x.size > 0):
        return False
    algorithm = _algorithm(axes)
    if algorithm == RESAMPLING_LINEAR and not _all_finite(x):
        return False
    return algorithm is not None and _fast(_shapes(x.shape, axes), is_channels_last(x),
                                           algorithm)


def _all_finite(x: np.ndarray) -> bool:
    """No NaN or inf in ``x`` (a finite sum proves it). PyTorch multiplies a neighbour of
    weight 0 too, so a NaN or inf spreads one sample further than in oneDNN, which reads a
    position that falls on a sample as that sample alone: such inputs go to NumPy."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(x.sum(dtype=np.float32)))


def _shapes(shape, axes) -> tuple:
    lead = tuple(shape[:2])
    return (lead + tuple(a.in_size for a in axes), lead + tuple(len(a.index0) for a in axes))


@functools.lru_cache(maxsize=128)
def _fast(shapes: tuple, channels_last: bool, algorithm: int) -> bool:
    try:
        plan = _plan(shapes, channels_last, algorithm)
    except L.OneDNNError:
        return False
    return not any(implementation_name(p.pd).startswith("ref")
                   for p in (plan.forward, plan.backward))


@functools.lru_cache(maxsize=128)
def _plan(shapes: tuple, channels_last: bool, algorithm: int):
    return _Plan(shapes, channels_last, algorithm)


class _Plan:
    def __init__(self, shapes, channels_last, algorithm):
        lib, engine = L.lib(), L.engine()
        (self.src_shape, self.dst_shape), self.channels_last = shapes, channels_last
        src = activation_md(self.src_shape, np.float32, channels_last)
        dst = activation_md(self.dst_shape, np.float32, channels_last)
        name = "nearest" if algorithm == RESAMPLING_NEAREST else "linear"
        what = f"{name} resampling {self.src_shape} -> {self.dst_shape}"
        forward_pd = L.handle()
        L.check(lib.dnnl_resampling_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, algorithm, None,
            src, dst, user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_resampling_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, algorithm, None, src, dst, forward_pd,
            user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        self.src, self.dst = Memory(src), Memory(dst)


def forward(x: np.ndarray, axes) -> np.ndarray:
    """``x`` upsampled, in x's layout (channels-last stays channels-last)."""
    channels_last = is_channels_last(x)
    plan = _plan(_shapes(x.shape, axes), channels_last, _algorithm(axes))
    out, y = empty_in_layout(plan.dst_shape, channels_last)
    with L.threads(None):
        plan.forward.execute({L.ARG_SRC: plan.src.bind(in_layout(x, channels_last)),
                              L.ARG_DST: plan.dst.bind(out)})
    return y


def backward(dy: np.ndarray, axes) -> np.ndarray:
    """Each input's gradient (the weighted sum of the outputs that read it), in dy's
    layout."""
    channels_last = is_channels_last(dy)
    plan = _plan(_shapes(dy.shape, axes), channels_last, _algorithm(axes))
    out, dx = empty_in_layout(plan.src_shape, channels_last)
    with L.threads(None):
        plan.backward.execute({
            L.ARG_DIFF_DST: plan.dst.bind(in_layout(dy.astype(np.float32, copy=False),
                                                    channels_last)),
            L.ARG_DIFF_SRC: plan.src.bind(out)})
    return dx
