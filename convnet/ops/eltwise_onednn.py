"""Element-wise activations by oneDNN's eltwise primitive: SiLU (EfficientNet), GELU (exact and
tanh form), hardswish and hardsigmoid (MobileNetV3), sigmoid (squeeze-and-excitation gates),
each one JIT pass forward and one backward, where the NumPy forms make a temporary array per
operation of the formula (sigmoid: 20x slower). ReLU stays with its compiled kernel (a
memory-bound pass either way, and oneDNN's ReLU is a ``max`` that turns NaN into 0), tanh
with NumPy's (as fast as oneDNN's).

Where oneDNN and PyTorch disagree the NumPy forms run: oneDNN's hardsigmoid maps NaN to 1 and
its hardswish gradient at NaN is 1 (PyTorch: NaN), so an input holding a NaN goes to NumPy
for those two (one ``min`` over the input finds it); its Mish gradient overflows to inf for
inputs above ~40 (PyTorch: 1), so Mish is not taken at all.

An element-wise function does not care how its values are laid out, so any dense array
(row-major, channels-last, or another permutation of its axes) is handed to oneDNN as one
flat vector, and the result comes back in the input's memory order (channels-last stays
channels-last). The backward pass computes the derivative from the input (oneDNN's
``*_src`` backward algorithms), as the NumPy forms do.

Functions: ``supports(x)``, ``forward(x, name) -> y``, ``backward(dy, x, name) -> dx``, with
``name`` a key of :data:`ALGORITHMS`.

Example:
    >>> import numpy as np
    >>> x = np.linspace(-4, 4, 4096, dtype=np.float32)
    >>> if supports(x, 'silu'):
    ...     y = forward(x, 'silu')
    ...     assert np.allclose(y, x / (1 + np.exp(-x)), atol=1e-6)
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from .layout import aligned_empty_like
from .onednn import library as L
from .onednn.memory import Memory, plain_md
from .onednn.primitive import Primitive, user_scratchpad_attr

# name -> (oneDNN 3 algorithm kind, alpha, beta), in oneDNN's definitions:
# swish x / (1 + exp(-alpha x)); hardswish x * max(0, min(1, alpha x + beta));
# hardsigmoid max(0, min(1, alpha x + beta))
ALGORITHMS = {
    "silu": (44, 1.0, 0.0),
    "gelu": (49, 0.0, 0.0),             # x Phi(x), the error-function form
    "gelu_tanh": (43, 0.0, 0.0),
    "hardswish": (52, 1 / 6, 0.5),
    "hardsigmoid": (40, 1 / 6, 0.5),
    "sigmoid": (41, 0.0, 0.0),          # oneDNN's logistic
}

MIN_SIZE = 1024       # below this NumPy is quicker than a primitive call


def _flat(array: np.ndarray) -> np.ndarray | None:
    """``array``'s values as a 1-D view in memory order, or None when it is not dense."""
    if array.flags.c_contiguous:
        return array.reshape(-1)
    order = np.argsort(array.strides)[::-1]                 # outermost axis first
    permuted = array.transpose(order)
    return permuted.reshape(-1) if permuted.flags.c_contiguous else None


NAN_TO_NUMPY = ("hardswish", "hardsigmoid")


def supports(x: np.ndarray, name: str) -> bool:
    """float32, at least :data:`MIN_SIZE` values, dense memory, oneDNN loaded and on, and
    no NaN for the functions of :data:`NAN_TO_NUMPY`."""
    return (x.dtype == np.float32 and x.size >= MIN_SIZE and L.available()
            and _flat(x) is not None
            and (name not in NAN_TO_NUMPY or not np.isnan(np.min(x))))


@functools.lru_cache(maxsize=256)
def _plan(size: int, name: str):
    return _Plan(size, name)


class _Plan:
    """Forward and backward primitives of one algorithm over ``size`` values."""

    def __init__(self, size: int, name: str):
        lib, engine = L.lib(), L.engine()
        algorithm, alpha, beta = ALGORITHMS[name]
        md = plain_md((size,), np.float32)
        what = f"eltwise {name} over {size} values"
        forward_pd = L.handle()
        L.check(lib.dnnl_eltwise_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, algorithm, md, md, alpha,
            beta, user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        backward_pd = L.handle()
        L.check(lib.dnnl_eltwise_backward_primitive_desc_create(
            ctypes.byref(backward_pd), engine, algorithm, md, md, md, alpha, beta, forward_pd,
            user_scratchpad_attr()), f"{what} backward")
        self.backward = Primitive(backward_pd, f"{what} backward")
        self.memory = {key: Memory(md) for key in (L.ARG_SRC, L.ARG_DST, L.ARG_DIFF_SRC,
                                                   L.ARG_DIFF_DST)}
        self.threads = L.threads_for(size * 16)

    def run(self, primitive: Primitive, arrays: dict) -> None:
        with L.threads(self.threads):
            primitive.execute({key: self.memory[key].bind(array)
                               for key, array in arrays.items()})


def forward(x: np.ndarray, name: str) -> np.ndarray:
    """``name``'s activation of ``x`` (a :func:`supports` case), in x's memory order."""
    y = aligned_empty_like(x)                # x's memory order
    plan = _plan(x.size, name)
    plan.run(plan.forward, {L.ARG_SRC: _flat(x), L.ARG_DST: _flat(y)})
    return y


def backward(dy: np.ndarray, x: np.ndarray, name: str) -> np.ndarray:
    """The input gradient ``dy * f'(x)``, in x's memory order."""
    if dy.dtype != np.float32 or dy.strides != x.strides:
        same = aligned_empty_like(x)
        same[...] = dy
        dy = same
    dx = aligned_empty_like(x)
    plan = _plan(x.size, name)
    plan.run(plan.backward, {L.ARG_SRC: _flat(x), L.ARG_DIFF_DST: _flat(dy),
                             L.ARG_DIFF_SRC: _flat(dx)})
    return dx
