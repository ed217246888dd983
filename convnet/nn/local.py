"""Locally connected and tiled convolution layers (seed 002), thin over :mod:`convnet.functional`.

- :class:`LocallyConnected1d`, :class:`LocallyConnected2d`: a separate filter at every
  output position (unshared convolution, eq. 9.9) and, by default, a bias per output
  unit. The weight depends on the output size, so the layer takes ``input_size``.
  Weight ``(out_h, out_w, C_out, C_in, k_h, k_w)`` (1-D: ``(out_l, C_out, C_in, k)``),
  bias ``(C_out, out_h, out_w)``.
- :class:`TiledConv2d`: ``t_h x t_w`` filter banks cycled over the output grid (eq. 9.10).
  Weight ``(t_h, t_w, C_out, C_in, k_h, k_w)``, bias ``(C_out,)``; any input size.

Both initialise weight and bias as ``Conv2d`` does: U(-b, b) with
``b = 1 / sqrt(C_in * k_h * k_w)``, the fan-in of one filter.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> layer = nn.LocallyConnected2d(3, 16, 3, input_size=(8, 8), padding='same')
    >>> layer
    LocallyConnected2d([16 | 3x3 s 1] unshared, in_channels=3, input_size=(8, 8), padding='same')
    >>> layer.weight.shape, layer.bias.shape
    ((8, 8, 16, 3, 3, 3), (16, 8, 8))
    >>> nn.TiledConv2d(3, 16, 3, tiles=2)(np.zeros((1, 3, 8, 8), np.float32)).shape
    (1, 16, 6, 6)
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..ops.conv.local import geometry
from ..ops.windows import to_tuple
from ..random import resolve_rng
from . import init
from .conv import notation
from .module import Module, Parameter

__all__ = ["LocallyConnected1d", "LocallyConnected2d", "TiledConv2d"]


class _UnsharedConvNd(Module):
    """Shared argument handling, init and repr of the locally connected and tiled layers."""

    spatial_dims = 2

    def _setup(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
               padding_mode, input_size, dtype):
        dims = self.spatial_dims
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = to_tuple(kernel_size, dims, "kernel_size")
        self.stride = to_tuple(stride, dims, "stride")
        self.dilation = to_tuple(dilation, dims, "dilation")
        self.padding = padding
        self.padding_mode = padding_mode
        # validates padding, padding_mode, stride and dilation now rather than at the first call
        sizes = input_size if input_size is not None else (1 << 20,) * dims
        return geometry((1, self.in_channels) + tuple(sizes), self.kernel_size, self.stride,
                        padding, self.dilation, padding_mode, dtype)[3]

    def reset_parameters(self, rng=None) -> None:
        """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = C_in * prod(kernel)."""
        rng = resolve_rng(rng)
        bound = 1 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        init.uniform_(self.weight, -bound, bound, rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng)

    def _kind(self) -> str:
        raise NotImplementedError

    def layer_notation(self) -> str:
        """The notes' notation plus the sharing, e.g. ``[16 | 3x3 s 1] unshared``."""
        return f"{notation(self.out_channels, self.kernel_size, self.stride)} {self._kind()}"

    def _repr_parts(self) -> list[str]:
        return [self.layer_notation(), f"in_channels={self.in_channels}"]

    def extra_repr(self) -> str:
        parts = self._repr_parts()
        if self.padding not in (0, (0,) * self.spatial_dims, "valid"):
            parts.append(f"padding={self.padding!r}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        if self.bias is None:
            parts.append("bias=False")
        return ", ".join(parts)


class _LocallyConnectedNd(_UnsharedConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, input_size, stride=1,
                 padding=0, dilation=1, bias=True, padding_mode: str = "zeros",
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        dims = self.spatial_dims
        if input_size is None:
            raise ValueError("input_size: a locally connected layer has one filter per output "
                             "position, so it needs the input's spatial size, e.g. "
                             f"input_size={(32,) * dims}")
        self.input_size = to_tuple(input_size, dims, "input_size")
        if bias not in (True, False, "tied"):
            raise ValueError(f"bias: expected True (one per output unit), 'tied' (one per "
                             f"output channel) or False, got {bias!r}")
        self.output_size = self._setup(in_channels, out_channels, kernel_size, stride, padding,
                                       dilation, padding_mode, self.input_size, dtype)
        self.weight = Parameter(np.empty(self.output_size + (self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype=dtype))
        bias_shape = {True: (self.out_channels,) + self.output_size, "tied": (self.out_channels,),
                      False: None}[bias]
        if bias_shape is None:
            self.register_parameter("bias", None)
        else:
            self.bias = Parameter(np.empty(bias_shape, dtype=dtype))
        self.reset_parameters(rng)

    def _kind(self) -> str:
        return "unshared"

    def _repr_parts(self) -> list[str]:
        size = self.input_size[0] if self.spatial_dims == 1 else self.input_size
        return super()._repr_parts() + [f"input_size={size}"]

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + ", bias='tied'" if self.bias is not None and self.bias.ndim == 1 else text

    def forward(self, x):
        spatial = tuple(x.shape[2:]) if hasattr(x, "shape") else None
        if spatial is not None and len(spatial) == self.spatial_dims \
                and spatial != self.input_size:
            raise ValueError(f"input: {type(self).__name__} was built for input_size "
                             f"{self.input_size}, got an input of spatial size {spatial}")
        op = F.locally_connected1d if self.spatial_dims == 1 else F.locally_connected2d
        return op(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                  padding_mode=self.padding_mode)


class LocallyConnected1d(_LocallyConnectedNd):
    """1-D locally connected layer over (N, C_in, L); see :func:`locally_connected1d`.

    Weight (L_out, C_out, C_in, k); bias (C_out, L_out) (True), (C_out,) ('tied') or None.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.LocallyConnected1d(2, 4, 3, input_size=10, stride=2)
        >>> layer.weight.shape, layer(np.zeros((5, 2, 10), np.float32)).shape
        ((4, 4, 2, 3), (5, 4, 4))
    """

    spatial_dims = 1


class LocallyConnected2d(_LocallyConnectedNd):
    """2-D locally connected layer (unshared convolution, seed 002 eq. 9.9).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, padding_mode:
            as :class:`Conv2d`.
        input_size: (H, W) of the inputs (an int for square ones); fixes the output size
            and so the number of filters.
        bias: True (one per output unit, the notes' choice), 'tied' (one per output
            channel) or False.
        dtype: float32 or float64 (default: ``convnet.get_default_dtype()``, float32 unless set).
        rng: Generator or seed for the initial weights (default: the library's).

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out as Conv2d. Parameters:
    weight (H_out, W_out, C_out, C_in, k_h, k_w), bias (C_out, H_out, W_out).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.LocallyConnected2d(3, 16, 5, input_size=(32, 32), stride=2, rng=0)
        >>> layer.weight.shape, layer(np.zeros((1, 3, 32, 32), np.float32)).shape
        ((14, 14, 16, 3, 5, 5), (1, 16, 14, 14))
    """

    spatial_dims = 2


class TiledConv2d(_UnsharedConvNd):
    """2-D tiled convolution (seed 002 eq. 9.10): ``tiles`` filter banks cycled over the output.

    Output position (y, x) uses the bank (y mod t_h, x mod t_w). ``tiles=1`` is Conv2d.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, padding_mode:
            as :class:`Conv2d`.
        tiles: t or (t_h, t_w), each >= 1.
        bias: True (one per output channel, shared by all tiles) or False.
        dtype: float32 or float64 (default: ``convnet.get_default_dtype()``, float32 unless set).
        rng: Generator or seed for the initial weights (default: the library's).

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out as Conv2d. Parameters:
    weight (t_h, t_w, C_out, C_in, k_h, k_w), bias (C_out,).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.TiledConv2d(3, 8, 3, tiles=(2, 3), padding='same')
        >>> layer
        TiledConv2d([8 | 3x3 s 1] tiled 2x3, in_channels=3, padding='same')
        >>> layer.weight.shape, layer(np.zeros((1, 3, 7, 7), np.float32)).shape
        ((2, 3, 8, 3, 3, 3), (1, 8, 7, 7))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, tiles=2, stride=1,
                 padding=0, dilation=1, bias=True, padding_mode: str = "zeros",
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        self.tiles = to_tuple(tiles, 2, "tiles")
        if bias not in (True, False):
            raise ValueError(f"bias: expected True (one per output channel) or False, got {bias!r}")
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation,
                    padding_mode, None, dtype)
        self.weight = Parameter(np.empty(self.tiles + (self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def _kind(self) -> str:
        return "tiled " + "x".join(map(str, self.tiles))

    def forward(self, x):
        return F.tiled_conv2d(x, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, padding_mode=self.padding_mode)
