"""Smooth activations, each its formula and its derivative side by side (torch's names).

==============  ===================================================  =========================
name            f(x)                                                 f'(x)
==============  ===================================================  =========================
silu            x sigmoid(x)                                         s (1 + x (1 - s))
gelu            x Phi(x) ('none') or the tanh approximation          Phi + x phi
mish            x tanh(softplus(x))                                  see ``_mish_derivative``
softplus        log(1 + exp(beta x)) / beta (x where beta x > threshold)  sigmoid(beta x)
elu / celu      x, or alpha (exp(x / alpha') - 1) below 0            1, or y + alpha below 0
selu            scale * elu(x, 1.6732632423543772)                   scale * elu'
logsigmoid      -softplus(-x)                                        1 - sigmoid(x)
softsign        x / (1 + |x|)                                        1 / (1 + |x|)^2
==============  ===================================================  =========================

Example:
    >>> import convnet, convnet.functional as F
    >>> x = convnet.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> F.silu(x).sum().backward()
    >>> [round(v, 4) for v in x.grad.tolist()]
    [0.0723, 0.5, 1.0908]
"""

from __future__ import annotations

import math

import numpy as np
from numba import vectorize

from ..tensor_math import _unary

__all__ = ["silu", "gelu", "mish", "softplus", "elu", "celu", "selu", "logsigmoid", "softsign"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softplus(x):
    return np.logaddexp(0, x).astype(x.dtype)


@vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erf(x):  # pragma: no cover - compiled
    return math.erf(x)


def _normal_cdf(x):
    return 0.5 * (1 + _erf(x / np.asarray(math.sqrt(2), x.dtype)))


def silu(input, inplace: bool = False):
    """``x * sigmoid(x)`` (swish)."""
    return _silu(input)


_silu = _unary(lambda x: x * _sigmoid(x),
               lambda x, y: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), onednn="silu")

_TANH_C = math.sqrt(2 / math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_TANH_C * (x + 0.044715 * x ** 3)))


def _gelu_tanh_derivative(x, y):
    inner = _TANH_C * (x + 0.044715 * x ** 3)
    t = np.tanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _TANH_C * (1 + 3 * 0.044715 * x * x)


def _gelu_erf(x):
    """``x * Phi(x)``; in float32 NaN at +inf, as PyTorch's float32 kernel and oneDNN's give
    (PyTorch's float64 gives inf)."""
    y = x * _normal_cdf(x)
    if x.dtype == np.float32 and np.isposinf(x).any():
        return np.where(np.isposinf(x), np.float32(np.nan), y)
    return y


_gelu_exact = _unary(_gelu_erf,
                     lambda x, y: _normal_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
                     onednn="gelu")
_gelu_approximate = _unary(_gelu_tanh, _gelu_tanh_derivative, onednn="gelu_tanh")


def gelu(input, approximate: str = "none"):
    """``x * Phi(x)`` with Phi the standard normal CDF, or its tanh approximation."""
    if approximate == "none":
        return _gelu_exact(input)
    if approximate == "tanh":
        return _gelu_approximate(input)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")


def _mish_derivative(x, y):
    soft = np.logaddexp(0, x)
    t = np.tanh(soft)
    return t + x * (1 - t * t) * _sigmoid(x)


_mish = _unary(lambda x: x * np.tanh(np.logaddexp(0, x)), _mish_derivative)


def mish(input, inplace: bool = False):
    """``x * tanh(softplus(x))``."""
    return _mish(input)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""
    function = _unary(
        lambda x: np.where(x * beta > threshold, x, np.logaddexp(0, x * beta) / beta),
        lambda x, y: np.where(x * beta > threshold, 1, _sigmoid(x * beta)))
    return function(input)


def _elu_pair(alpha: float, scale: float = 1.0, divisor: float = 1.0):
    return _unary(
        lambda x: scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / divisor)),
        lambda x, y: np.where(x > 0, scale, scale * alpha / divisor * np.exp(np.minimum(x, 0) / divisor)))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` above 0, ``alpha (exp(x) - 1)`` below."""
    return _elu_pair(alpha)(input)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha must not be 0 in celu")
    return _elu_pair(alpha, divisor=alpha)(input)


def selu(input, inplace: bool = False):
    """``scale * elu(x, alpha)`` with the self-normalising constants."""
    return _elu_pair(SELU_ALPHA, SELU_SCALE)(input)


_logsigmoid = _unary(lambda x: -np.logaddexp(0, -x), lambda x, y: 1 - _sigmoid(x))
_softsign = _unary(lambda x: x / (1 + np.abs(x)), lambda x, y: 1 / (1 + np.abs(x)) ** 2)


def logsigmoid(input):
    """``log(sigmoid(x)) = -softplus(-x)``, computed without overflow for large ``|x|``.

    Example:
        >>> import numpy as np
        >>> logsigmoid(np.array([-1000.0, 0.0])).data.round(4).tolist()
        [-1000.0, -0.6931]
    """
    return _logsigmoid(input)


def softsign(input):
    """``x / (1 + |x|)``, a sigmoid-shaped curve between -1 and 1.

    Example:
        >>> import numpy as np
        >>> softsign(np.array([-3.0, 1.0])).data.tolist()
        [-0.75, 0.5]
    """
    return _softsign(input)
