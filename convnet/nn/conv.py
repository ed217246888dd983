"""Convolution layers: Conv1d, Conv2d, Conv3d, thin over :mod:`convnet.functional`.

Constructor signatures are PyTorch's; the extensions are ``padding`` forms
(pairs, ``'same'`` at any stride, ``'full'``), ``padding_mode='symmetric'`` and
an untied bias (``bias='untied'`` with ``input_size``: one bias per output unit,
seed 001) and ``algorithm='auto' | 'im2col' | 'fft'`` (how to compute it). The repr
uses the notes' notation, ``[128 | 3x3 s 2]``. ``net_input='product'`` makes the bias
multiply the convolution's output instead of adding to it (seed 001, E8.9).

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> layer = nn.Conv2d(3, 16, 3, stride=2, padding='same')
    >>> layer
    Conv2d([16 | 3x3 s 2], in_channels=3, padding='same')
    >>> layer(np.zeros((1, 3, 15, 15), dtype=np.float32)).shape
    (1, 16, 8, 8)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..ops.conv import check_algorithm, conv_spec
from ..ops.conv.spec import check_arguments
from ..ops.windows import to_tuple
from . import init
from .module import Module, Parameter


def notation(out_channels: int, kernel_size, stride) -> str:
    """The notes' layer notation, e.g. ``[128 | 3x3 s 2]`` (stride shown per dim if they differ)."""
    size = "x".join(map(str, kernel_size))
    step = str(stride[0]) if len(set(stride)) == 1 else "x".join(map(str, stride))
    return f"[{out_channels} | {size} s {step}]"


class _ConvNd(Module):
    spatial_dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias=True, padding_mode: str = "zeros",
                 input_size=None, dtype=None, rng=None, algorithm: str = "auto",
                 net_input: str = "sum"):
        dtype = parameter_dtype(dtype)
        super().__init__()
        if net_input not in ("sum", "product"):
            raise ValueError(f"net_input: expected 'sum' or 'product', got {net_input!r}")
        self.net_input = net_input
        self.algorithm = check_algorithm(algorithm)
        dims = self.spatial_dims
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if not isinstance(groups, (int, np.integer)) or groups < 1 or in_channels % groups \
                or out_channels % groups:
            raise ValueError(f"groups: must be a positive int dividing in_channels "
                             f"({in_channels}) and out_channels ({out_channels}), got {groups!r}")
        if bias not in (True, False, "untied"):
            raise ValueError(f"bias: expected True (tied), False or 'untied', got {bias!r}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise TypeError(f"dtype: expected a floating-point dtype (np.float32 or np.float64), "
                            f"got {np.dtype(dtype)}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), groups
        self.kernel_size = to_tuple(kernel_size, dims, "kernel_size")
        self.stride = to_tuple(stride, dims, "stride")
        self.dilation = to_tuple(dilation, dims, "dilation")
        self.padding = padding
        self.padding_mode = padding_mode
        weight_shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(weight_shape, dtype=dtype))
        if bias == "untied" and input_size is None:
            raise ValueError("input_size: an untied bias has one value per output unit, so the "
                             "layer needs the input's spatial size, e.g. input_size=(32, 32)")
        if input_size is not None:
            input_size = to_tuple(input_size, dims, "input_size")
        # padding, padding_mode, stride and dilation are checked now, not at the first call
        check_arguments(self.kernel_size, self.stride, padding, self.dilation, padding_mode)
        out_sizes = None
        if input_size is not None:  # the real input size: its output size shapes an untied bias
            out_sizes = conv_spec((1, in_channels) + input_size, dtype, weight_shape, None,
                                  self.stride, padding, self.dilation, groups,
                                  padding_mode).out_sizes
        bias_shape = {True: (out_channels,), False: None,
                      "untied": None if out_sizes is None else (out_channels,) + out_sizes}[bias]
        self.input_size = input_size
        self.bias = Parameter(np.empty(bias_shape, dtype=dtype)) if bias_shape else None
        if self.bias is None:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
        init.default_conv_linear_(self.weight, self.bias, rng=rng)
        if self.net_input == "product" and self.bias is not None:
            self.bias.data[...] = 1  # a product bias starts as the identity

    @property
    def bias_kind(self) -> str:
        if self.bias is None:
            return "none"
        return "untied" if self.bias.ndim > 1 else "tied"

    def forward(self, x):
        conv = (None, F.conv1d, F.conv2d, F.conv3d)[self.spatial_dims]
        bias = self.bias if self.net_input == "sum" else None
        output = conv(x, self.weight, bias, self.stride, self.padding, self.dilation,
                      self.groups, padding_mode=self.padding_mode, algorithm=self.algorithm)
        if self.net_input == "product" and self.bias is not None:
            output = F.product_net_input(output, self.bias)
        return output

    def extra_repr(self) -> str:
        parts = [notation(self.out_channels, self.kernel_size, self.stride),
                 f"in_channels={self.in_channels}"]
        if self.padding not in (0, (0,) * self.spatial_dims, "valid"):
            parts.append(f"padding={self.padding!r}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        if self.bias is None:
            parts.append("bias=False")
        elif self.bias_kind == "untied":
            parts.append("bias='untied'")
        if self.algorithm != "auto":
            parts.append(f"algorithm={self.algorithm!r}")
        if self.net_input != "sum":
            parts.append(f"net_input={self.net_input!r}")
        return ", ".join(parts)


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C_in, L); see :func:`convnet.functional.conv1d`.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Conv1d(2, 4, 3, padding='same')(np.zeros((1, 2, 10), np.float32)).shape
        (1, 4, 10)
    """

    spatial_dims = 1


class Conv2d(_ConvNd):
    """2-D convolution layer over (N, C_in, H, W), the notes' ``[n | size s stride]``.

    ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding``, ``dilation``,
    ``groups`` and ``padding_mode`` are those of :func:`convnet.functional.conv2d`.

    Args:
        bias: True (tied: one per filter), False, or 'untied' (one per output unit;
            needs ``input_size``).
        input_size: (H, W) of the input, required for an untied bias.
        dtype: float32 or float64 (default: ``convnet.get_default_dtype()``, float32 unless set).
        rng: Generator or seed for the initial weights (default: the library's).
        algorithm: 'auto' (default), 'im2col' or 'fft': how the convolution is computed
            (see :func:`convnet.functional.conv2d`).
        net_input: 'sum' (default, ``n = z + b``) or 'product' (``n = b * z``, seed 001
            E8.9; see :func:`convnet.functional.product_net_input`); a product bias
            starts at 1.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), with
    H_out = (H + top + bottom - dilation * (k - 1) - 1) // stride + 1.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.Conv2d(3, 10, 5, bias='untied', input_size=(32, 32))
        >>> layer.bias.shape
        (10, 28, 28)
    """

    spatial_dims = 2


class Conv3d(_ConvNd):
    """3-D convolution layer over (N, C_in, D, H, W); see :class:`Conv2d`.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Conv3d(1, 2, 3)(np.zeros((1, 1, 5, 5, 5), np.float32)).shape
        (1, 2, 3, 3, 3)
    """

    spatial_dims = 3
