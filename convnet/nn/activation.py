"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> nn.ReLU()(np.array([-1.0, 2.0])).data
    array([0., 2.])
"""

from __future__ import annotations

from .. import functional as F
from .module import Module


class ReLU(Module):
    """max(0, x). Example: ``nn.ReLU()(x)``."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.LeakyReLU(0.1)(np.array([-1.0, 2.0])).data
        array([-0.1,  2. ])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """The logistic function 1 / (1 + exp(-x)). Example: ``nn.Sigmoid()(x)``."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent. Example: ``nn.Tanh()(x)``."""

    def forward(self, x):
        return F.tanh(x)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Softmax(dim=1)(np.zeros((1, 4))).data
        array([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably. Example: ``nn.LogSoftmax(dim=1)``."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
