"""Dropout, batch normalisation and upsampling layers.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> bn = nn.BatchNorm2d(8)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..random import resolve_rng
from .module import Module, Parameter


class Dropout(Module):
    """Zero each input with probability ``p`` while training, scaling the rest by 1/(1-p).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> layer = nn.Dropout(0.5).eval()
        >>> layer(np.ones(4)).data
        array([1., 1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: dropout probability has to be between 0 and 1, got {p!r}")
        self.p = p
        # a seed becomes one generator now, so every call draws a fresh mask from it
        self.rng = None if rng is None else resolve_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    expected_dims: tuple[int, ...] = (2, 3, 4)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"num_features: expected a positive int (the channels), got "
                             f"{num_features!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps: expected a positive number, got {eps!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        ndim = getattr(x, "ndim", np.ndim(x))
        if ndim not in self.expected_dims:
            raise ValueError(f"input: {type(self).__name__} expects {' or '.join(map(str, self.expected_dims))}"
                             f"-d input, got {ndim} dims")
        momentum = self._momentum_counting_this_batch()
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
        # as PyTorch: batch statistics when training or when no running statistics are kept
        use_batch_statistics = self.training or self.running_mean is None
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_statistics, momentum, self.eps)

    def _momentum_counting_this_batch(self) -> float:
        """The weight of this call's batch statistics in the running ones (``momentum``;
        with ``momentum=None``, as PyTorch, the cumulative average: 1 / batches so far, this
        one included). ``num_batches_tracked`` is left for the caller to advance."""
        if self.momentum is not None:
            return self.momentum
        if self.training and self.track_running_stats:
            return 1.0 / (float(self.num_batches_tracked) + 1.0)
        return 0.0

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1 and the batch count 0, in place (as PyTorch); with
        ``momentum=None`` the next batches then give their plain cumulative average, e.g. to
        re-estimate the statistics of a trained network on training images."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """:meth:`reset_running_stats`, and weight 1, bias 0 (in place)."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.BatchNorm1d(3)(np.random.rand(8, 3)).shape
        (8, 3)
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.BatchNorm2d(3)(np.random.rand(4, 3, 5, 5)).shape
        (4, 3, 5, 5)
    """

    expected_dims = (4,)


class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` with 'nearest' or 'bilinear' interpolation.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Upsample(scale_factor=2)(np.zeros((1, 1, 3, 3), np.float32)).shape
        (1, 1, 6, 6)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = (
            size, scale_factor, mode, align_corners)

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size!r}" if self.size is not None else f"scale_factor={self.scale_factor!r}"
        return f"{what}, mode={self.mode!r}"
