"""Softmax and log-softmax by oneDNN's softmax primitive (its ``accurate`` algorithm: the
maximum subtracted first), forward and backward, along the dimension that is innermost in
memory (the last of a row-major array, the channels of a channels-last one: oneDNN has JIT
kernels only there); the result keeps the input's layout. Cross-entropy's log-softmax over
the classes of a segmentation output (N, C, H, W) is where it counts: NumPy makes five
passes and four temporaries for it.

Functions: ``supports(x, dim)``, ``forward(x, dim, log) -> y`` and
``backward(dy, y, dim, log) -> dx`` (from the output, as the NumPy forms).

Example:
    >>> import numpy as np
    >>> x = np.zeros((2, 4), np.float32)
    >>> if supports(x, 1):
    ...     assert np.allclose(forward(x, 1, log=False), 0.25)
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from .layout import aligned_empty, to_first, to_last
from .onednn import library as L
from .onednn.memory import Memory, activation_md, is_channels_last, plain_md
from .onednn.primitive import Primitive, implementation_name, user_scratchpad_attr

SOFTMAX_ACCURATE, SOFTMAX_LOG = 0x30000, 0x30001
MIN_SIZE = 1024       # below this NumPy is quicker than a primitive call


def _layout(x: np.ndarray) -> str | None:
    if x.flags.c_contiguous:
        return "plain"
    if is_channels_last(x):
        return "channels-last"
    return None


def supports(x: np.ndarray, dim: int) -> bool:
    """float32, 1-6 dimensions, at least :data:`MIN_SIZE` values, row-major or
    channels-last memory, JIT kernels for it (see :func:`_fast`), oneDNN loaded and on, and
    neither NaN nor +inf in ``x``: oneDNN
    skips a NaN when it takes the maximum, and turns a row holding +inf into NaN at the
    +inf only, where PyTorch makes the whole row NaN (one ``max`` over ``x`` finds them)."""
    if not (x.dtype == np.float32 and 1 <= x.ndim <= 6 and x.size >= MIN_SIZE
            and L.available() and _layout(x) is not None):
        return False
    return _fast(x.shape, _layout(x), dim) and np.max(x) < np.inf


@functools.lru_cache(maxsize=256)
def _fast(shape: tuple, layout: str, dim: int) -> bool:
    """Whether oneDNN has JIT kernels for this case: a softmax along a dimension that is not
    the innermost in memory runs its reference kernel, slower than NumPy."""
    try:
        plans = [_plan(shape, layout, dim, log) for log in (False, True)]
    except L.OneDNNError:
        return False
    return not any(implementation_name(primitive.pd).startswith("ref")
                   for plan in plans for primitive in (plan.forward, plan.backward))


@functools.lru_cache(maxsize=256)
def _plan(shape: tuple, layout: str, dim: int, log: bool):
    return _Plan(shape, layout, dim, log)


class _Plan:
    def __init__(self, shape, layout, dim, log):
        lib, engine = L.lib(), L.engine()
        algorithm = SOFTMAX_LOG if log else SOFTMAX_ACCURATE
        md = (activation_md(shape, np.float32, True) if layout == "channels-last"
              else plain_md(shape, np.float32))
        what = f"{'log-' if log else ''}softmax {shape} along {dim}"
        forward_pd = L.handle()
        L.check(lib.dnnl_softmax_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, algorithm, md, md, dim,
            user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_softmax_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, algorithm, md, md, md, dim, forward_pd,
            user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        self.memory = {key: Memory(md) for key in (L.ARG_SRC, L.ARG_DST, L.ARG_DIFF_SRC,
                                                   L.ARG_DIFF_DST)}
        self.layout = layout

    def run(self, primitive: Primitive, arrays: dict) -> None:
        with L.threads(None):
            primitive.execute({key: self.memory[key].bind(self.buffer(array))
                               for key, array in arrays.items()})

    def buffer(self, array: np.ndarray) -> np.ndarray:
        """The contiguous memory behind ``array`` in this plan's layout."""
        return to_last(array) if self.layout == "channels-last" else array


def _like(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "channels-last":
        return to_first(aligned_empty(x.shape[:1] + x.shape[2:] + x.shape[1:2]))
    return aligned_empty(x.shape)


def forward(x: np.ndarray, dim: int, log: bool) -> np.ndarray:
    """(Log-)softmax of ``x`` along ``dim`` (0 <= dim < x.ndim), in x's layout."""
    layout = _layout(x)
    plan = _plan(x.shape, layout, dim, log)
    y = _like(x, layout)
    plan.run(plan.forward, {L.ARG_SRC: x, L.ARG_DST: y})
    return y


def backward(dy: np.ndarray, y: np.ndarray, dim: int, log: bool) -> np.ndarray:
    """The input gradient from the output ``y`` (a :func:`forward` result) and ``dy``."""
    layout = _layout(y)
    if dy.dtype != np.float32 or _layout(dy) != layout:
        same = _like(y, layout)
        same[...] = dy
        dy = same
    plan = _plan(y.shape, layout, dim, log)
    dx = _like(y, layout)
    plan.run(plan.backward, {L.ARG_DST: y, L.ARG_DIFF_DST: dy, L.ARG_DIFF_SRC: dx})
    return dx
