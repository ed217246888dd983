"""Piecewise-linear activations (torch's names): relu6, hardtanh, hardsigmoid, hardswish,
threshold and prelu (a learnable slope per channel).

At a kink the derivative is torch's choice: ``hardtanh``/``relu6`` pass the gradient only
strictly inside ``(min_val, max_val)``, ``hardswish`` uses ``x / 3 + 0.5`` strictly inside
``(-3, 3)`` (0 at -3, 1 at 3, as PyTorch 2).

Example:
    >>> import convnet, convnet.functional as F
    >>> F.relu6(convnet.tensor([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    >>> F.hardswish(convnet.tensor([-4.0, 1.0, 4.0])).tolist()
    [-0.0, 0.6666666865348816, 4.0]
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, record
from ..tensor_math import _unary
from ..tensor_ops import unbroadcast

__all__ = ["relu6", "hardtanh", "hardsigmoid", "hardswish", "threshold", "prelu"]


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``x`` clipped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _unary(lambda x: np.clip(x, min_val, max_val),
                  lambda x, y: ((x > min_val) & (x < max_val)).astype(x.dtype))(input)


def relu6(input, inplace: bool = False):
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0)


hardsigmoid_function = _unary(lambda x: np.clip(x / 6 + 0.5, 0, 1),
                              lambda x, y: ((x > -3) & (x < 3)) / np.asarray(6, x.dtype),
                              onednn="hardsigmoid")
hardswish_function = _unary(
    lambda x: x * np.clip(x + 3, 0, 6) / 6,
    lambda x, y: np.where(x <= -3, 0, np.where(x >= 3, 1, x / 3 + 0.5)), onednn="hardswish")


def hardsigmoid(input, inplace: bool = False):
    """``relu6(x + 3) / 6``."""
    return hardsigmoid_function(input)


def hardswish(input, inplace: bool = False):
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    return hardswish_function(input)


def threshold(input, threshold: float, value: float, inplace: bool = False):
    """``x`` where ``x > threshold``, else ``value``."""
    return _unary(lambda x: np.where(x > threshold, x, value),
                  lambda x, y: (x > threshold).astype(x.dtype))(input)


def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)``, ``weight`` one slope or one per channel (dim 1)."""
    x = input.data if isinstance(input, Tensor) else np.asarray(input)
    a = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if a.ndim != 1 or (a.size != 1 and (x.ndim < 2 or a.size != x.shape[1])):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {a.size} and channel size = "
                           f"{x.shape[1] if x.ndim >= 2 else 1}.")
    slope = a.reshape((1, -1) + (1,) * (x.ndim - 2)) if a.size > 1 else a.reshape(())
    out = np.where(x > 0, x, slope * x).astype(x.dtype)

    def backward(g):
        grad_x = np.where(x > 0, g, slope * g).astype(x.dtype)
        grad_a = unbroadcast(np.where(x > 0, 0, g * x), slope.shape).reshape(a.shape)
        return grad_x, grad_a.astype(a.dtype)
    return record(out, (input, weight), backward)
