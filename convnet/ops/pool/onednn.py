"""Max and average pooling by oneDNN's primitives, the backend 'auto' dispatch picks first
where the library is loaded.

oneDNN pools row-major (NCHW) and channels-last (NHWC) memory with its JIT kernels, so the
input is read where it lies: a channels-last array (the layout of convnet's oneDNN
convolution outputs) gives a channels-last result, anything else is made row-major. The
max-pooling workspace oneDNN writes (the winner's offset inside its window, one byte per
output) is exactly the ``winner`` array the other backends return, in the output's layout.

oneDNN's max ignores NaN where PyTorch propagates it, and starts from the lowest finite
float where PyTorch starts from -inf (a window of -inf gives -3.4e38), so an input holding a
NaN or a -inf is pooled by the compiled backend instead (one ``min`` over the input finds
them).

Same signature as every pooling backend: ``supports(spec, x)``,
``max_forward(x, spec) -> (y, winner)``, ``max_backward(dy, winner, spec) -> dx``, plus
``supports_average(spec, x, count_include_pad, divisor_override)``,
``avg_forward(x, spec, count_include_pad)`` and ``avg_backward(dy, spec, count_include_pad)``.

Example:
    >>> import numpy as np
    >>> from convnet.ops.pool import pool_spec
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> spec = pool_spec(x.shape, x.dtype, 2)
    >>> if supports(spec, x):
    ...     y, winner = max_forward(x, spec)
    ...     assert y[0, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]] and (winner == 3).all()
"""

from __future__ import annotations

import ctypes
import functools
import math

import numpy as np

from ..onednn import library as L
from ..onednn.memory import (
    CHANNELS_LAST_TAGS, Memory, activation_md, empty_in_layout, in_layout, is_channels_last,
)
from ..onednn.primitive import Primitive, user_scratchpad_attr
from . import compiled
from .kernels import winner_dtype
from .spec import PoolSpec

MAX_WINDOW_CELLS = 127     # winners fit the int8 of the other backends (oneDNN writes u8)


def supports(spec: PoolSpec, x: np.ndarray) -> bool:
    """float32, implicit padding, 1-3 spatial dims, a non-empty batch, windows of at most
    127 cells, and a case oneDNN accepts."""
    return (_common(spec, x) and math.prod(spec.kernel_size) <= MAX_WINDOW_CELLS
            and _plan(spec, L.POOLING_MAX, is_channels_last(x)) is not None)


def supports_average(spec: PoolSpec, x: np.ndarray, count_include_pad: bool,
                     divisor_override) -> bool:
    """As :func:`supports`, without a ``divisor_override``, and without ``ceil_mode``
    windows that reach past the padding when padding counts (PyTorch leaves those cells
    out of the divisor, oneDNN would count them)."""
    return (_common(spec, x) and divisor_override is None
            and not (count_include_pad and any(spec.overhang))
            and _plan(spec, _average_kind(count_include_pad), is_channels_last(x)) is not None)


def _common(spec: PoolSpec, x: np.ndarray) -> bool:
    return (L.available() and x.dtype == np.float32 and x.size > 0
            and spec.padding_mode is None and x.ndim in CHANNELS_LAST_TAGS)


def _average_kind(count_include_pad: bool) -> int:
    return L.POOLING_AVG_INCLUDE if count_include_pad else L.POOLING_AVG_EXCLUDE


@functools.lru_cache(maxsize=256)
def _plan(spec: PoolSpec, kind: int, channels_last: bool):
    try:
        return _Plan(spec, kind, channels_last)
    except L.OneDNNError:
        return None


class _Plan:
    """The forward and backward primitives of one pooling spec, kind and layout."""

    def __init__(self, spec: PoolSpec, kind: int, channels_last: bool):
        lib, engine = L.lib(), L.engine()
        self.channels_last = channels_last
        src_md = activation_md(spec.input_shape, np.float32, channels_last)
        dst_md = activation_md(spec.output_shape, np.float32, channels_last)
        window = (L.dims(spec.stride), L.dims(spec.kernel_size),
                  L.dims(d - 1 for d in spec.dilation),
                  L.dims(before for before, _ in spec.full_padding),
                  L.dims(after for _, after in spec.full_padding))
        what = f"pooling {spec.input_shape} -> {spec.output_shape}"
        forward_pd = L.handle()
        L.check(lib.dnnl_pooling_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, kind, src_md, dst_md,
            *window, user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_pooling_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, kind, src_md, dst_md, *window, forward_pd,
            user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        self.src, self.dst = Memory(src_md), Memory(dst_md)
        self.diff_src, self.diff_dst = Memory(src_md), Memory(dst_md)
        workspace = self.forward.md("workspace")
        self.workspace = Memory(workspace) if workspace else None
        self.threads = L.threads_for(math.prod(spec.output_shape) * math.prod(spec.kernel_size))

    def memory_order(self, array: np.ndarray) -> np.ndarray:
        """``array`` (N, C, *spatial) as the contiguous buffer this plan's layout reads."""
        return in_layout(array, self.channels_last)

    def empty(self, shape, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """``(buffer, the same memory viewed as (N, C, *spatial))`` in this plan's layout."""
        return empty_in_layout(shape, self.channels_last, dtype)


def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, *out) and the winners' window offsets, in ``x``'s layout."""
    if not np.min(x) > -np.inf:      # a NaN or a -inf: see the module's docstring
        return compiled.max_forward(x, spec)
    plan = _plan(spec, L.POOLING_MAX, is_channels_last(x))
    source = plan.memory_order(x)
    out, y = plan.empty(spec.output_shape)
    workspace, winner = plan.empty(spec.output_shape, np.uint8)
    with L.threads(plan.threads):
        plan.forward.execute({L.ARG_SRC: plan.src.bind(source), L.ARG_DST: plan.dst.bind(out),
                              L.ARG_WORKSPACE: plan.workspace.bind(workspace)})
    return y, winner.view(winner_dtype(spec.kernel_size))


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Each output's gradient to its window's winner; ``winner`` from any backend."""
    plan = None
    if _common(spec, dy) and math.prod(spec.kernel_size) <= MAX_WINDOW_CELLS:
        plan = _plan(spec, L.POOLING_MAX, is_channels_last(winner))
    if plan is None:
        return compiled.max_backward(dy, winner, spec)
    workspace = plan.memory_order(winner).view(np.uint8)
    return _backward(plan, plan.memory_order(dy), spec, workspace)


def avg_forward(x: np.ndarray, spec: PoolSpec, count_include_pad: bool) -> np.ndarray:
    """Window means (N, C, *out) in ``x``'s layout."""
    plan = _plan(spec, _average_kind(count_include_pad), is_channels_last(x))
    source = plan.memory_order(x)
    out, y = plan.empty(spec.output_shape)
    with L.threads(plan.threads):
        plan.forward.execute({L.ARG_SRC: plan.src.bind(source), L.ARG_DST: plan.dst.bind(out)})
    return y


def avg_backward(dy: np.ndarray, spec: PoolSpec, count_include_pad: bool) -> np.ndarray:
    """Each output's gradient spread evenly over its window, in ``dy``'s layout."""
    plan = _plan(spec, _average_kind(count_include_pad), is_channels_last(dy))
    return _backward(plan, plan.memory_order(dy.astype(np.float32, copy=False)), spec, None)


def _backward(plan: _Plan, diff_dst: np.ndarray, spec: PoolSpec, workspace) -> np.ndarray:
    out, dx = plan.empty(spec.input_shape)
    arguments = {L.ARG_DIFF_DST: plan.diff_dst.bind(diff_dst),
                 L.ARG_DIFF_SRC: plan.diff_src.bind(out)}
    if workspace is not None:
        arguments[L.ARG_WORKSPACE] = plan.workspace.bind(workspace)
    with L.threads(plan.threads):
        plan.backward.execute(arguments)
    return dx
