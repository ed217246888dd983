"""Nearest-neighbour upsampling by whole factors (U-Net's 'repeat' up-sampling) with oneDNN's
resampling primitive, forward and backward, on row-major or channels-last memory kept as it
lies. For a whole factor ``f`` PyTorch's nearest reads input ``o // f`` for output ``o``,
which is what oneDNN's nearest reads too; every other resampling (fractional factors,
linear) stays with the NumPy kernels of :mod:`.resample`.

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


def _whole_factor(axis) -> bool:
    out_size = len(axis.index0)
    factor = out_size // axis.in_size if axis.in_size else 0
    return (axis.index1 is None and factor >= 1 and factor * axis.in_size == out_size
            and np.array_equal(axis.index0, np.arange(out_size) // factor))


def supports(x: np.ndarray, axes) -> bool:
    """float32 (N, C, *spatial) with 1-3 spatial axes, each a whole-factor nearest map, a
    non-empty batch, oneDNN loaded and on, and JIT kernels for the case. ``x`` may be the
    input or the output gradient (only its dtype, batch, channels and layout are read)."""
    if not (L.available() and x.dtype == np.float32 and x.ndim in CHANNELS_LAST_TAGS
            and len(axes) == x.ndim - 2 and x.size > 0 and all(map(_whole_factor, axes))):
        return False
    return _fast(_shapes(x.shape, axes), is_channels_last(x))


def _shapes(shape, axes) -> tuple:
    lead = tuple(shape[:2])
    return (lead + tuple(a.in_size for a in axes), lead + tuple(len(a.index0) for a in axes))


@functools.lru_cache(maxsize=128)
def _fast(shapes: tuple, channels_last: bool) -> bool:
    try:
        plan = _plan(shapes, channels_last)
    except L.OneDNNError:
        return False
    return not any(implementation_name(p.pd).startswith("ref")
                   for p in (plan.forward, plan.backward))


@functools.lru_cache(maxsize=128)
def _plan(shapes: tuple, channels_last: bool):
    return _Plan(shapes, channels_last)


class _Plan:
    def __init__(self, shapes, channels_last):
        lib, engine = L.lib(), L.engine()
        (self.src_shape, self.dst_shape), self.channels_last = shapes, channels_last
        src = activation_md(self.src_shape, np.float32, channels_last)
        dst = activation_md(self.dst_shape, np.float32, channels_last)
        what = f"nearest resampling {self.src_shape} -> {self.dst_shape}"
        forward_pd = L.handle()
        L.check(lib.dnnl_resampling_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, RESAMPLING_NEAREST, None,
            src, dst, user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_resampling_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, RESAMPLING_NEAREST, None, src, dst, forward_pd,
            user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        self.src, self.dst = Memory(src), Memory(dst)


def forward(x: np.ndarray, axes) -> np.ndarray:
    """``x`` upsampled, in x's layout (channels-last stays channels-last)."""
    channels_last = is_channels_last(x)
    plan = _plan(_shapes(x.shape, axes), channels_last)
    out, y = empty_in_layout(plan.dst_shape, channels_last)
    with L.threads(None):
        plan.forward.execute({L.ARG_SRC: plan.src.bind(in_layout(x, channels_last)),
                              L.ARG_DST: plan.dst.bind(out)})
    return y


def backward(dy: np.ndarray, axes) -> np.ndarray:
    """Each input's gradient: the sum over its block of outputs, in dy's layout."""
    channels_last = is_channels_last(dy)
    plan = _plan(_shapes(dy.shape, axes), channels_last)
    out, dx = empty_in_layout(plan.src_shape, channels_last)
    with L.threads(None):
        plan.backward.execute({
            L.ARG_DIFF_DST: plan.dst.bind(in_layout(dy.astype(np.float32, copy=False),
                                                    channels_last)),
            L.ARG_DIFF_SRC: plan.src.bind(out)})
    return dx
