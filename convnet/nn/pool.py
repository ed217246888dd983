"""Pooling layers, thin over :mod:`convnet.functional.pool` (PyTorch's names and arguments).

Extensions as keyword arguments: ``padding='same'`` or (before, after) pairs and
``padding_mode`` (pad with real values instead of -inf / zeros). The repr uses the
notes' notation: ``MaxPool2d([3x3 s 2], padding='same')``.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> nn.MaxPool2d(3, 2, padding='same')(np.zeros((1, 8, 32, 32), np.float32)).shape
    (1, 8, 16, 16)
"""

from __future__ import annotations

from .. import functional as F
from ..ops.windows import to_tuple
from .module import Module


def _window_text(kernel_size, stride, dims: int) -> str:
    kernel = to_tuple(kernel_size, dims, "kernel_size")
    step = kernel if stride is None else to_tuple(stride, dims, "stride")
    step_text = str(step[0]) if len(set(step)) == 1 else "x".join(map(str, step))
    return f"[{'x'.join(map(str, kernel))} s {step_text}]"


def _describe(module, **defaults) -> str:
    """The notes' window notation, then every option that differs from its default."""
    parts = [_window_text(module.kernel_size, module.stride, module.dims)]
    parts += [f"{name}={getattr(module, name)!r}" for name, default in defaults.items()
              if getattr(module, name) != default]
    return ", ".join(parts)


class _MaxPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False, *, padding_mode=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode, self.padding_mode = return_indices, ceil_mode, padding_mode
        _window_text(kernel_size, stride, self.dims)  # validates now

    def forward(self, x):
        pool = (None, F.max_pool1d, F.max_pool2d, F.max_pool3d)[self.dims]
        return pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                    self.return_indices, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return _describe(self, padding=0, dilation=1, ceil_mode=False, padding_mode=None)


class MaxPool1d(_MaxPoolNd):
    """Max pooling over (N, C, L). Example: ``nn.MaxPool1d(2)``."""
    dims = 1


class MaxPool2d(_MaxPoolNd):
    """Max pooling over (N, C, H, W); see :func:`convnet.functional.max_pool2d`.

    Example:
        >>> import convnet.nn as nn
        >>> nn.MaxPool2d(3, 2, padding='same')
        MaxPool2d([3x3 s 2], padding='same')
    """
    dims = 2


class MaxPool3d(_MaxPoolNd):
    """Max pooling over (N, C, D, H, W). Example: ``nn.MaxPool3d(2)``."""
    dims = 3


class _AvgPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None, *, padding_mode=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override, self.padding_mode = divisor_override, padding_mode
        _window_text(kernel_size, stride, self.dims)

    def forward(self, x):
        pool = (None, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[self.dims]
        return pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad, self.divisor_override, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return _describe(self, padding=0, count_include_pad=True, padding_mode=None)


class AvgPool1d(_AvgPoolNd):
    """Average pooling over (N, C, L). Example: ``nn.AvgPool1d(2)``."""
    dims = 1


class AvgPool2d(_AvgPoolNd):
    """Average pooling over (N, C, H, W); see :func:`convnet.functional.avg_pool2d`.

    Example:
        >>> import convnet.nn as nn
        >>> nn.AvgPool2d(2)
        AvgPool2d([2x2 s 2])
    """
    dims = 2


class AvgPool3d(_AvgPoolNd):
    """Average pooling over (N, C, D, H, W). Example: ``nn.AvgPool3d(2)``."""
    dims = 3


class _LPPoolNd(Module):
    dims = 2

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
                 padding_mode=None):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode, self.padding, self.padding_mode = ceil_mode, padding, padding_mode
        _window_text(kernel_size, stride, self.dims)

    def forward(self, x):
        pool = (None, F.lp_pool1d, F.lp_pool2d, F.lp_pool3d)[self.dims]
        return pool(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode,
                    padding=self.padding, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, {_window_text(self.kernel_size, self.stride, self.dims)}"


class LPPool1d(_LPPoolNd):
    """Lp pooling over (N, C, L). Example: ``nn.LPPool1d(2, 3)``."""
    dims = 1


class LPPool2d(_LPPoolNd):
    """Lp pooling over (N, C, H, W) (``norm_type=2``: seed 002's L2 pooling).

    Example:
        >>> import convnet.nn as nn
        >>> nn.LPPool2d(2, 2)
        LPPool2d(norm_type=2, [2x2 s 2])
    """
    dims = 2


class LPPool3d(_LPPoolNd):
    """Lp pooling over (N, C, D, H, W). Example: ``nn.LPPool3d(2, 2)``."""
    dims = 3


class _AdaptivePool(Module):
    dims = 2
    kind = "max"

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        if self.kind == "max":
            pool = (None, F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)
            return pool[self.dims](x, self.output_size, self.return_indices)
        pool = (None, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)
        return pool[self.dims](x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"


class AdaptiveMaxPool1d(_AdaptivePool):
    """Max pooling to a fixed length. Example: ``nn.AdaptiveMaxPool1d(4)``."""
    dims, kind = 1, "max"


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max pooling to a fixed size (``2``: seed 002's one summary per quadrant).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.AdaptiveMaxPool2d(2)(np.zeros((1, 3, 9, 7), np.float32)).shape
        (1, 3, 2, 2)
    """
    dims, kind = 2, "max"


class AdaptiveMaxPool3d(_AdaptivePool):
    """Max pooling to a fixed (D, H, W). Example: ``nn.AdaptiveMaxPool3d(2)``."""
    dims, kind = 3, "max"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling to a fixed length. Example: ``nn.AdaptiveAvgPool1d(4)``."""
    dims, kind = 1, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to a fixed size (``1``: global average pooling).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.AdaptiveAvgPool2d(1)(np.zeros((2, 5, 7, 7), np.float32)).shape
        (2, 5, 1, 1)
    """
    dims, kind = 2, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average pooling to a fixed (D, H, W). Example: ``nn.AdaptiveAvgPool3d(1)``."""
    dims, kind = 3, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)


class Maxout(Module):
    """Max over consecutive groups of ``pool_size`` channels (seed 002).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Maxout(2)(np.zeros((1, 6, 4, 4), np.float32)).shape
        (1, 3, 4, 4)
    """

    def __init__(self, pool_size: int):
        super().__init__()
        self.pool_size = pool_size

    def forward(self, x):
        return F.maxout(x, self.pool_size)

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}"
