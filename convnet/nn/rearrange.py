"""Layers that rearrange values without weights, named as ``torch.nn``'s: PixelShuffle,
PixelUnshuffle, ChannelShuffle, Unfold, Fold, Unflatten; and the channel-dropout layers
Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout.

Example:
    >>> import convnet, convnet.nn as nn
    >>> nn.PixelShuffle(2)(convnet.zeros(1, 8, 3, 3)).shape
    (1, 2, 6, 6)
    >>> nn.Unfold(kernel_size=3, padding=1)(convnet.zeros(1, 2, 4, 4)).shape
    (1, 18, 16)
    >>> nn.Unflatten(1, (2, 5))(convnet.zeros(3, 10)).shape
    (3, 2, 5)
"""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Unfold", "Fold", "Unflatten",
           "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r). Example: ``nn.PixelShuffle(3)(x)``."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(N, C, H r, W r) -> (N, C r^2, H, W). Example: ``nn.PixelUnshuffle(2)(x)``."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups. Example: ``nn.ChannelShuffle(2)(x)``."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Unfold(Module):
    """Sliding windows as columns (im2col). Example: ``nn.Unfold(2, stride=2)(x)``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (
            kernel_size, dilation, padding, stride)

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns summed back into an image (col2im). Example: ``nn.Fold((4, 4), 2, stride=2)(x)``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``. Example: ``nn.Unflatten(1, (16, 4, 4))``."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _ChannelDropout(Module):
    function = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return type(self).function(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_ChannelDropout):
    """Zero whole channels of (N, C, L). Example: ``nn.Dropout1d(0.2)(x)``."""
    function = staticmethod(F.dropout1d)


class Dropout2d(_ChannelDropout):
    """Zero whole feature maps of (N, C, H, W). Example: ``nn.Dropout2d(0.2)(x)``."""
    function = staticmethod(F.dropout2d)


class Dropout3d(_ChannelDropout):
    """Zero whole volumes of (N, C, D, H, W). Example: ``nn.Dropout3d(0.2)(x)``."""
    function = staticmethod(F.dropout3d)


class AlphaDropout(_ChannelDropout):
    """Dropout for SELU networks. Example: ``nn.AlphaDropout(0.1)(x)``."""
    function = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_ChannelDropout):
    """Channel-wise alpha dropout. Example: ``nn.FeatureAlphaDropout(0.1)(x)``."""
    function = staticmethod(F.feature_alpha_dropout)
