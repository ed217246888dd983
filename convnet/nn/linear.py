"""Fully connected layer, flattening and identity.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))(
    ...     np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight (out_features, in_features), as PyTorch.

    Shape: (*, in_features) -> (*, out_features). Initialised as PyTorch:
    U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias.

    Example:
        >>> import convnet.nn as nn
        >>> layer = nn.Linear(784, 100)
        >>> layer.weight.shape, layer.bias.shape
        ((100, 784), (100,))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        init.default_conv_linear_(self.weight, self.bias, rng=rng)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` (default: all but the batch), in C, H, W order.

    ``order='F'`` stacks columns instead: the notes' vec() (seed 001 eq. 8.26).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Flatten()(np.zeros((2, 16, 13, 13), np.float32)).shape
        (2, 2704)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1, order: str = "C"):
        super().__init__()
        self.start_dim, self.end_dim, self.order = start_dim, end_dim, order

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim, order=self.order)

    def extra_repr(self) -> str:
        text = f"start_dim={self.start_dim}, end_dim={self.end_dim}"
        return text + (f", order={self.order!r}" if self.order != "C" else "")


class Identity(Module):
    """Returns its input unchanged (a placeholder layer).

    Example:
        >>> import convnet.nn as nn
        >>> nn.Identity()(3.0)
        3.0
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
