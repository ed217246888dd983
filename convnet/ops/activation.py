"""Activation functions as NumPy forward/backward pairs (no Tensor, no state).

Every ``*_forward`` returns ``(y, saved)``; the matching ``*_backward(dy, saved)``
returns the gradient with respect to the input, shaped and typed like it.

==================  =====================================  ==================================
name                forward                                backward (``dy`` upstream)
==================  =====================================  ==================================
``relu``            ``max(x, 0)``                          ``dy`` where not ``x <= 0``, else 0
``leaky_relu``      ``x if x > 0 else slope * x``          ``dy if x > 0 else slope * dy``
``sigmoid``         ``1 / (1 + exp(-x))``                  ``dy * y * (1 - y)``
``tanh``            ``tanh(x)``                            ``dy * (1 - y**2)``
``softmax``         ``exp(x - m) / sum exp(x - m)``        ``y * (dy - sum(dy * y))``
``log_softmax``     ``x - m - log sum exp(x - m)``         ``dy - exp(y) * sum(dy)``
==================  =====================================  ==================================

``m`` is the maximum along the softmax dimension: subtracting it changes nothing
mathematically and keeps ``exp`` from overflowing (the notes' softmax layer, made stable).

Example:
    >>> import numpy as np
    >>> y, saved = softmax_forward(np.array([[1000., 1000.]]), dim=1)
    >>> y
    array([[0.5, 0.5]])
    >>> softmax_backward(np.array([[1., 0.]]), saved)
    array([[ 0.25, -0.25]])
"""

from __future__ import annotations

import numpy as np

from .elementwise_kernels import relu_and_mask, select_or_zero


def relu_forward(x: np.ndarray):
    """``max(x, 0)``; the gradient passes where ``x > 0`` or ``x`` is NaN, and is 0 at 0 (as
    torch, whose rule is "0 where x <= 0")."""
    y, passes = relu_and_mask(x)  # one compiled pass; not "x > 0": NaN passes, as in torch
    return y, passes


def relu_backward(dy: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """``dy`` where the input was positive (or NaN), else 0 (exactly; compiled, branch-free)."""
    return select_or_zero(dy, passes)


def leaky_relu_forward(x: np.ndarray, negative_slope: float):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    positive = x > 0
    slope = x.dtype.type(negative_slope)
    return np.where(positive, x, x * slope), (positive, slope)


def leaky_relu_backward(dy: np.ndarray, saved) -> np.ndarray:
    positive, slope = saved
    return np.where(positive, dy, dy * slope)


def sigmoid_forward(x: np.ndarray):
    """Logistic function, computed from ``exp(-|x|)`` so it never overflows; by oneDNN's
    eltwise primitive where it takes ``x`` (:mod:`.eltwise_onednn`)."""
    from . import eltwise_onednn
    if eltwise_onednn.supports(x, "sigmoid"):
        y = eltwise_onednn.forward(x, "sigmoid")
        return y, y
    small = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    y = np.where(x >= 0, one / (one + small), small / (one + small))
    return y, y


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy * y * (1 - y)


def tanh_forward(x: np.ndarray):
    y = np.tanh(x)
    return y, y


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy * (1 - y * y)


def _shifted(x: np.ndarray, dim: int) -> np.ndarray:
    peak = np.max(x, axis=dim, keepdims=True)
    # an all -inf row would give -inf - -inf = nan; shift it by 0 instead (torch gives nan too
    # for softmax of all -inf, which the division below reproduces). A +inf or NaN peak is
    # kept: inf - inf makes the whole row NaN, as in torch.
    return x - np.where(peak == -np.inf, np.zeros((), dtype=x.dtype), peak)


def _onednn(x: np.ndarray, dim: int):
    """:mod:`.softmax_onednn` where it takes ``x``, else None."""
    from . import softmax_onednn
    return softmax_onednn if softmax_onednn.supports(x, dim) else None


def softmax_forward(x: np.ndarray, dim: int):
    """``exp(x) / sum(exp(x))`` along ``dim``, with the maximum subtracted first (oneDNN's
    primitive for float32 where it loads, :mod:`.softmax_onednn`)."""
    fast = _onednn(x, dim)
    if fast is not None:
        y = fast.forward(x, dim, log=False)
        return y, (y, dim)
    exps = np.exp(_shifted(x, dim))
    y = exps / np.sum(exps, axis=dim, keepdims=True)
    return y, (y, dim)


def softmax_backward(dy: np.ndarray, saved) -> np.ndarray:
    y, dim = saved
    fast = _onednn(y, dim)
    if fast is not None:
        return fast.backward(dy, y, dim, log=False)
    return y * (dy - np.sum(dy * y, axis=dim, keepdims=True))


def log_softmax_forward(x: np.ndarray, dim: int):
    """``x - log(sum(exp(x)))`` along ``dim``, computed as ``s - log(sum(exp(s)))``, ``s = x - max``."""
    fast = _onednn(x, dim)
    if fast is not None:
        y = fast.forward(x, dim, log=True)
        return y, (y, dim)
    shifted = _shifted(x, dim)
    y = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
    return y, (y, dim)


def log_softmax_backward(dy: np.ndarray, saved) -> np.ndarray:
    y, dim = saved
    fast = _onednn(y, dim)
    if fast is not None:
        return fast.backward(dy, y, dim, log=True)
    return dy - np.exp(y) * np.sum(dy, axis=dim, keepdims=True)
