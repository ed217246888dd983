"""Trainable sum pooling and LeCun's scaled tanh: the layers of the original LeNet.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> nn.Sequential(nn.WeightedSumPool2d(6, 2), nn.ScaledTanh())(
    ...     np.zeros((1, 6, 28, 28), np.float32)).shape
    (1, 6, 14, 14)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from .module import Module, Parameter
from .pool import _window_text

__all__ = ["WeightedSumPool2d", "ScaledTanh"]


class WeightedSumPool2d(Module):
    """Window sum times one trainable weight per channel, plus a bias (seed 001, Eq. 8.22).

    Args:
        channels: C, the number of feature maps (one weight and one bias each).
        kernel_size, stride, padding, ceil_mode, padding_mode: as
            :func:`convnet.functional.weighted_sum_pool2d` (stride defaults to the window).
        bias: whether to add a trainable bias per channel.
        dtype: float32 or float64 (default: ``convnet.get_default_dtype()``, float32 unless set).

    The weight starts at 1 / window area (plain average pooling), the bias at 0.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H + top + bottom - k) // s + 1.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.WeightedSumPool2d(6, 2)
        >>> layer
        WeightedSumPool2d([2x2 s 2], channels=6)
        >>> layer.weight.shape, float(layer.weight.data[0])
        ((6,), 0.25)
    """

    def __init__(self, channels: int, kernel_size, stride=None, bias: bool = True, padding=0,
                 ceil_mode: bool = False, *, padding_mode=None, dtype=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels: expected a positive int, got {channels!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias: expected True or False, got {bias!r}")
        _window_text(kernel_size, stride, 2)  # validates now
        sizes = (kernel_size,) * 2 if isinstance(kernel_size, (int, np.integer)) else kernel_size
        area = int(np.prod(sizes))
        self.channels, self.kernel_size, self.stride = int(channels), kernel_size, stride
        self.padding, self.ceil_mode, self.padding_mode = padding, ceil_mode, padding_mode
        self.weight = Parameter(np.full(channels, 1.0 / area, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.weighted_sum_pool2d(x, self.weight, self.bias, self.kernel_size, self.stride,
                                     self.padding, self.ceil_mode, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        parts = [_window_text(self.kernel_size, self.stride, 2), f"channels={self.channels}"]
        for name, default in (("padding", 0), ("ceil_mode", False), ("padding_mode", None)):
            if getattr(self, name) != default:
                parts.append(f"{name}={getattr(self, name)!r}")
        if self.bias is None:
            parts.append("bias=False")
        return ", ".join(parts)


class ScaledTanh(Module):
    """``amplitude * tanh(slope * x)``, LeCun's squashing function (default 1.7159, 2/3).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.ScaledTanh()(np.array([0.0, 100.0])).data.round(4)
        array([0.    , 1.7159])
    """

    def __init__(self, amplitude: float = F.LECUN_AMPLITUDE, slope: float = F.LECUN_SLOPE):
        super().__init__()
        self.amplitude, self.slope = float(amplitude), float(slope)

    def forward(self, x):
        return F.scaled_tanh(x, self.amplitude, self.slope)

    def extra_repr(self) -> str:
        if (self.amplitude, self.slope) == (F.LECUN_AMPLITUDE, F.LECUN_SLOPE):
            return ""
        return f"amplitude={self.amplitude}, slope={self.slope}"
