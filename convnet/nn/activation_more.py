"""Activation layers beyond the classic ones, named and constructed as ``torch.nn``'s: each
calls one function of :mod:`convnet.functional` (``PReLU`` owns its slopes).

Example:
    >>> import convnet, convnet.nn as nn
    >>> nn.Sequential(nn.Linear(2, 2), nn.GELU(approximate='tanh'), nn.Hardswish())
    Sequential(
      (0): Linear(in_features=2, out_features=2, bias=True)
      (1): GELU(approximate='tanh')
      (2): Hardswish()
    )
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .module import Module, Parameter

__all__ = ["SiLU", "GELU", "ReLU6", "Hardswish", "Hardsigmoid", "Hardtanh", "ELU", "CELU",
           "SELU", "PReLU", "Mish", "Softplus", "Softsign", "LogSigmoid", "Threshold",
           "Softmax2d"]


class _Pointwise(Module):
    """An activation without options: ``forward`` is ``function(x)``."""

    function = None

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, x):
        return type(self).function(x)


class SiLU(_Pointwise):
    """``x * sigmoid(x)``. Example: ``nn.SiLU()(x)``."""
    function = staticmethod(F.silu)


class Mish(_Pointwise):
    """``x * tanh(softplus(x))``. Example: ``nn.Mish()(x)``."""
    function = staticmethod(F.mish)


class Hardswish(_Pointwise):
    """``x * relu6(x + 3) / 6``. Example: ``nn.Hardswish()(x)``."""
    function = staticmethod(F.hardswish)


class Hardsigmoid(_Pointwise):
    """``relu6(x + 3) / 6``. Example: ``nn.Hardsigmoid()(x)``."""
    function = staticmethod(F.hardsigmoid)


class ReLU6(_Pointwise):
    """``min(max(0, x), 6)``. Example: ``nn.ReLU6()(x)``."""
    function = staticmethod(F.relu6)


class SELU(_Pointwise):
    """Self-normalising ELU. Example: ``nn.SELU()(x)``."""
    function = staticmethod(F.selu)


class Softsign(Module):
    """``x / (1 + |x|)``. Example: ``nn.Softsign()(x)``."""

    def forward(self, x):
        return F.softsign(x)


class LogSigmoid(Module):
    """``log(sigmoid(x))``. Example: ``nn.LogSigmoid()(x)``."""

    def forward(self, x):
        return F.logsigmoid(x)


class GELU(Module):
    """``x * Phi(x)`` (``approximate='tanh'``: the tanh form).

    Example:
        >>> import convnet, convnet.nn as nn
        >>> round(nn.GELU()(convnet.tensor([1.0])).item(), 4)
        0.8413
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Hardtanh(Module):
    """Clip to ``[min_val, max_val]``. Example: ``nn.Hardtanh(-2, 2)(x)``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ELU(Module):
    """``x`` above 0, ``alpha (exp(x) - 1)`` below. Example: ``nn.ELU(alpha=0.5)(x)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(ELU):
    """Continuously differentiable ELU. Example: ``nn.CELU(alpha=2.0)(x)``."""

    def forward(self, x):
        return F.celu(x, self.alpha)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``. Example: ``nn.Softplus(beta=2)(x)``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    """``x`` above ``threshold``, else ``value``. Example: ``nn.Threshold(0.1, 20)(x)``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class PReLU(Module):
    """``max(0, x) + a * min(0, x)`` with learnable slopes ``a`` (one, or one per channel).

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.PReLU(num_parameters=3).weight.shape
        (3,)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype=dtype or np.float32))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W). Example: ``nn.Softmax2d()(x)``."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, -3)
