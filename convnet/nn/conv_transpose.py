"""Transposed convolution layers: ConvTranspose1d, ConvTranspose2d, ConvTranspose3d.

Constructor signatures, parameter shapes, ``state_dict`` keys and default init are
PyTorch's: weight (in_channels, out_channels / groups, *kernel_size), bias
(out_channels,), both U(-b, b) with ``b = 1 / sqrt(weight.shape[1] * prod(kernel_size))``
(torch's ``kaiming_uniform_(a=sqrt(5))`` with its fan_in of this weight layout).
Extensions: the library's padding forms (pairs cropped from the full output,
``'valid'``, ``'same'`` with ``out = in * stride``, ``'full'``) and an untied bias
(``bias='untied'`` with ``input_size``). ``padding_mode`` is ``'zeros'`` only, as in
PyTorch. ``forward(x, output_size=None)`` picks the output padding that gives
``output_size``, as PyTorch's does.

The repr writes the notes' notation of the layer with a transpose mark,
``[out_channels | kernel s stride]ᵀ``: a ``[64 | 2x2 s 2]ᵀ`` layer is the transpose
of a ``[128 | 2x2 s 2]`` convolution from 64 to 128 channels, and multiplies the
spatial size by 2.

Example (the U-Net up-convolution, seed 002):
    >>> import numpy as np, convnet.nn as nn
    >>> up = nn.ConvTranspose2d(128, 64, 2, stride=2)
    >>> up
    ConvTranspose2d([64 | 2x2 s 2]ᵀ, in_channels=128)
    >>> up(np.zeros((1, 128, 28, 28), dtype=np.float32)).shape
    (1, 64, 56, 56)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..ops.conv.transpose import conv_transpose_spec
from ..ops.windows import to_tuple
from . import init
from .conv import notation
from .module import Module, Parameter

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvTransposeNd(Module):
    spatial_dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias=True, dilation=1,
                 padding_mode: str = "zeros", input_size=None, dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        dims = self.spatial_dims
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
                or in_channels % groups or out_channels % groups:
            raise ValueError(f"groups: must be a positive int dividing in_channels "
                             f"({in_channels}) and out_channels ({out_channels}), got {groups!r}")
        if padding_mode != "zeros":
            raise ValueError(f"padding_mode: transposed convolution supports only 'zeros' (as "
                             f"PyTorch), got {padding_mode!r}")
        if bias not in (True, False, "untied"):
            raise ValueError(f"bias: expected True (tied), False or 'untied', got {bias!r}")
        if bias == "untied" and input_size is None:
            raise ValueError("input_size: an untied bias has one value per output unit, so the "
                             "layer needs the input's spatial size, e.g. input_size=(16, 16)")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = int(groups)
        self.kernel_size = to_tuple(kernel_size, dims, "kernel_size")
        self.stride = to_tuple(stride, dims, "stride")
        self.dilation = to_tuple(dilation, dims, "dilation")
        self.output_padding = to_tuple(output_padding, dims, "output_padding", minimum=0)
        self.padding = padding
        self.padding_mode = padding_mode
        self.input_size = None if input_size is None else to_tuple(input_size, dims, "input_size")
        weight_shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        # validates padding, output_padding, stride and dilation now rather than at the first call
        spec = conv_transpose_spec((1, self.in_channels) + (self.input_size or (1 << 10,) * dims),
                                   dtype, weight_shape, None, self.stride, padding,
                                   self.output_padding, self.groups, self.dilation)
        self.weight = Parameter(np.empty(weight_shape, dtype=dtype))
        bias_shape = {True: (self.out_channels,), False: None,
                      "untied": (self.out_channels,) + spec.out_sizes}[bias]
        self.bias = Parameter(np.empty(bias_shape, dtype=dtype)) if bias_shape else None
        if self.bias is None:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default init; fan_in = weight.shape[1] * prod(kernel_size) = C_out/g * k."""
        init.default_conv_linear_(self.weight, self.bias, rng=rng)

    def _output_padding(self, x, output_size) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        dims = self.spatial_dims
        output_size = tuple(output_size)
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        output_size = to_tuple(output_size, dims, "output_size")
        in_shape = tuple(getattr(x, "shape", np.shape(x)))
        natural = conv_transpose_spec(in_shape, np.float64, self.weight.shape, None, self.stride,
                                      self.padding, 0, self.groups, self.dilation,
                                      spatial_dims=dims).out_sizes
        extra = tuple(want - have for want, have in zip(output_size, natural))
        if any(e < 0 or (e >= s and e >= d) for e, s, d in zip(extra, self.stride, self.dilation)):
            smallest = natural
            largest = tuple(n + max(s, d) - 1
                            for n, s, d in zip(natural, self.stride, self.dilation))
            raise ValueError(f"output_size: {output_size} is not reachable from input of shape "
                             f"{in_shape}; expected sizes between {smallest} and {largest}")
        return extra

    def forward(self, x, output_size=None):
        op = (None, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.spatial_dims]
        return op(x, self.weight, self.bias, self.stride, self.padding,
                  self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self) -> str:
        parts = [notation(self.out_channels, self.kernel_size, self.stride) + "ᵀ",
                 f"in_channels={self.in_channels}"]
        if self.padding not in (0, (0,) * self.spatial_dims, "valid"):
            parts.append(f"padding={self.padding!r}")
        if any(self.output_padding):
            parts.append(f"output_padding={self.output_padding}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        elif self.bias.ndim > 1:
            parts.append("bias='untied'")
        return ", ".join(parts)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer over (N, C_in, L); see ``F.conv_transpose1d``.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.ConvTranspose1d(2, 4, 3, stride=2, padding=1, output_padding=1)(
        ...     np.zeros((1, 2, 10), np.float32)).shape
        (1, 4, 20)
    """

    spatial_dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer over (N, C_in, H, W), PyTorch's ``nn.ConvTranspose2d``.

    ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding``,
    ``output_padding``, ``groups`` and ``dilation`` are those of
    :func:`convnet.functional.conv_transpose2d`.

    Args:
        bias: True (tied: one per output channel), False, or 'untied' (one per output
            unit; needs ``input_size``).
        padding_mode: 'zeros' only (as PyTorch).
        input_size: (H, W) of the input, required for an untied bias.
        dtype: float32 or float64 (default: ``convnet.get_default_dtype()``, float32 unless set).
        rng: Generator or seed for the initial weights (default: the library's).

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), with
    H_out = (H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        >>> layer
        ConvTranspose2d([8 | 4x4 s 2]ᵀ, in_channels=16, padding=1)
        >>> layer.weight.shape
        (16, 8, 4, 4)
        >>> layer(np.zeros((1, 16, 7, 7), np.float32)).shape
        (1, 8, 14, 14)
        >>> layer(np.zeros((1, 16, 7, 7), np.float32), output_size=(15, 15)).shape
        (1, 8, 15, 15)
    """

    spatial_dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution layer over (N, C_in, D, H, W); see :class:`ConvTranspose2d`.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.ConvTranspose3d(2, 2, 2, stride=2)(np.zeros((1, 2, 2, 3, 4), np.float32)).shape
        (1, 2, 4, 6, 8)
    """

    spatial_dims = 3
