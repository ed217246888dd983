"""Normalisation layers beyond batch norm, named and constructed as ``torch.nn``'s:
LayerNorm, GroupNorm, InstanceNorm1d/2d/3d, LocalResponseNorm, RMSNorm.

Example:
    >>> import convnet, convnet.nn as nn
    >>> list(nn.GroupNorm(2, 4).state_dict())
    ['weight', 'bias']
    >>> nn.InstanceNorm2d(3)(convnet.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from .module import Module, Parameter

__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LocalResponseNorm", "RMSNorm"]


def _dtype(dtype):
    return parameter_dtype(dtype)


class LayerNorm(Module):
    """Normalise the trailing ``normalized_shape`` dims of each sample; learnable scale and shift.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.LayerNorm(4)(convnet.randn(2, 4)).shape
        (2, 4)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, _dtype(dtype)))
            if bias:
                self.bias = Parameter(np.zeros(shape, _dtype(dtype)))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(Module):
    """Divide the trailing dims by their root mean square; learnable scale.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.RMSNorm(4)(convnet.randn(2, 4)).shape
        (2, 4)
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, _dtype(dtype)))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


class GroupNorm(Module):
    """Normalise each group of ``num_channels / num_groups`` channels of each sample.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.GroupNorm(2, 4)(convnet.randn(2, 4, 3, 3)).shape
        (2, 4, 3, 3)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)
        if affine:
            self.weight = Parameter(np.ones(num_channels, _dtype(dtype)))
            self.bias = Parameter(np.zeros(num_channels, _dtype(dtype)))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    spatial_dims = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, _dtype(dtype)))
            self.bias = Parameter(np.zeros(num_features, _dtype(dtype)))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, _dtype(dtype)))
            self.register_buffer("running_var", np.ones(num_features, _dtype(dtype)))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        expected = self.spatial_dims + 2
        if x.ndim not in (expected, expected - 1):
            raise ValueError(f"expected {expected - 1}D or {expected}D input (got {x.ndim}D "
                             f"input)")
        unbatched = x.ndim == expected - 1
        if unbatched:
            x = x.unsqueeze(0)
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              use_input_stats, self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L). Example: ``nn.InstanceNorm1d(8)(x)``."""
    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) (style transfer). Example: ``nn.InstanceNorm2d(8, affine=True)``."""
    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W). Example: ``nn.InstanceNorm3d(8)(x)``."""
    spatial_dims = 3


class LocalResponseNorm(Module):
    """AlexNet's normalisation across ``size`` neighbouring channels.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.LocalResponseNorm(3)(convnet.ones(1, 4, 2, 2)).shape
        (1, 4, 2, 2)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
