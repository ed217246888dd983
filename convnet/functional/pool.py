"""Pooling on Tensors: max, average, Lp (seed 002's L2 norm pooling), adaptive, maxout.

Names and arguments are PyTorch's; the extensions are keyword arguments:
``padding`` also takes (before, after) pairs and ``'same'`` (the notes' rule,
``out = (in - 1) // stride + 1``), and ``padding_mode`` pads with real values
(``'reflect'``, ``'replicate'``, ``'circular'``, ``'symmetric'``, or ``'zeros'``)
instead of the implicit ``-inf`` of max pooling and zeros of average pooling.

Output size per spatial dim (``ke = dilation * (k - 1) + 1``)::

    out = floor((in + before + after - ke) / stride) + 1     (ceil with ceil_mode)

Example (seed 001 Fig 8.8: a 15x15 map, 3x3 windows, stride 3):
    >>> import numpy as np, convnet.functional as F
    >>> F.max_pool2d(np.random.rand(1, 1, 15, 15), 3, stride=3).shape
    (1, 1, 5, 5)
"""

from __future__ import annotations

import numpy as np

from ..ops.onednn.memory import is_channels_last
from ..ops.pool import adaptive as adaptive_ops
from ..ops import pool as pool_ops
from ..tensor import Tensor, record
from ._arrays import floating_input

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "maxout",
]


def _max_pool(dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              padding_mode):
    x = floating_input(input)
    spec = pool_ops.pool_spec(x.shape, x.dtype, kernel_size, stride, padding, dilation,
                              ceil_mode, padding_mode, spatial_dims=dims)
    y, winner = pool_ops.max_forward(x, spec)
    out = record(y, (input,), lambda dy: (pool_ops.max_backward(dy, winner, spec),))
    return (out, pool_ops.max_indices(winner, spec)) if return_indices else out


def _avg_pool(dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, padding_mode):
    x = floating_input(input)
    spec = pool_ops.pool_spec(x.shape, x.dtype, kernel_size, stride, padding, 1, ceil_mode,
                              padding_mode, spatial_dims=dims)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override == 0:
            raise ValueError(f"divisor_override: expected a non-zero int, got {divisor_override!r}")
    y, divisor = pool_ops.avg_forward(x, spec, count_include_pad, divisor_override)
    return record(y, (input,), lambda dy: (pool_ops.avg_backward(dy, spec, divisor,
                                                                 count_include_pad),))


def _lp_pool(dims, input, norm_type, kernel_size, stride, ceil_mode, padding, padding_mode):
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or norm_type <= 0:
        raise ValueError(f"norm_type: expected a positive number, got {norm_type!r}")
    if not isinstance(input, Tensor):
        input = Tensor(floating_input(input))
    area = int(np.prod(np.broadcast_to(kernel_size, (dims,))))
    # PyTorch's definition: (mean of x**p over the window, times the window area) ** (1/p)
    means = _avg_pool(dims, input ** norm_type, kernel_size, stride, padding, ceil_mode, True,
                      None, padding_mode)
    return (means * area) ** (1.0 / norm_type)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, padding_mode=None):
    """Max pooling over (N, C, L); see :func:`max_pool2d`.

    Example:
        >>> import convnet.functional as F
        >>> F.max_pool1d([[[1., 3., 2., 5., 4.]]], 2).data
        array([[[3., 5.]]], dtype=float32)
    """
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, padding_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, padding_mode=None):
    """Max pooling over (N, C, H, W): each output is the maximum of its window.

    Args:
        kernel_size, stride (default: kernel_size), dilation: int or (h, w).
        padding: int, (h, w), ((top, bottom), (left, right)), 'valid' or 'same'.
            Implicit padding is ``-inf``, never zero (seed 000).
        ceil_mode: count a last window that hangs past the end (PyTorch's rule).
        return_indices: also return each maximum's flat index in its H*W plane.
        padding_mode: pad with real values first ('reflect', 'replicate',
            'circular', 'symmetric', 'zeros'); default None = ``-inf``.

    Backward: each output's gradient goes to its window's maximum (the first one
    in row-major order on ties); overlapping windows accumulate.

    Example (the notes' homework max pool: size 3, stride 2, 'same'):
        >>> import numpy as np, convnet.functional as F
        >>> F.max_pool2d(np.random.rand(1, 16, 32, 64), 3, 2, padding='same').shape
        (1, 16, 16, 32)
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, padding_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, padding_mode=None):
    """Max pooling over (N, C, D, H, W); see :func:`max_pool2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.max_pool3d(np.random.rand(1, 2, 4, 4, 4), 2).shape
        (1, 2, 2, 2, 2)
    """
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, padding_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, padding_mode=None):
    """Average pooling over (N, C, L); see :func:`avg_pool2d`.

    Example:
        >>> import convnet.functional as F
        >>> F.avg_pool1d([[[1., 3., 2., 6.]]], 2).data
        array([[[2., 4.]]], dtype=float32)
    """
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, padding_mode)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, padding_mode=None):
    """Average pooling over (N, C, H, W): each output is the mean of its window.

    Args:
        padding: as :func:`max_pool2d`; implicit padding is zeros.
        count_include_pad: whether those zeros count in the divisor (cells a
            ``ceil_mode`` window reaches past the padding never do).
        divisor_override: divide every window sum by this instead.
        padding_mode: pad with real values first; every padded cell then counts.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.avg_pool2d(np.ones((1, 1, 3, 3)), 2, padding=1, count_include_pad=False).data[0, 0]
        array([[1., 1.],
               [1., 1.]])
    """
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, padding_mode)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, padding_mode=None):
    """Average pooling over (N, C, D, H, W); see :func:`avg_pool2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.avg_pool3d(np.ones((1, 1, 4, 4, 4)), 2).shape
        (1, 1, 2, 2, 2)
    """
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, padding_mode)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              padding_mode=None):
    """Power-average pooling over (N, C, L); see :func:`lp_pool2d`.

    Example:
        >>> import convnet.functional as F
        >>> F.lp_pool1d([[[3., 4.]]], 2, 2).data
        array([[[5.]]], dtype=float32)
    """
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode, padding, padding_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              padding_mode=None):
    """Lp pooling over (N, C, H, W): ``(sum over the window of x ** p) ** (1 / p)``.

    ``norm_type=2`` is seed 002's L2-norm pooling. As PyTorch, no absolute value is
    taken (odd ``p`` with negative inputs can give NaN), and ``padding`` /
    ``padding_mode`` are convnet's extensions.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.lp_pool2d(np.full((1, 1, 2, 2), 2.0), 2, 2).data
        array([[[[4.]]]])
    """
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode, padding, padding_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              padding_mode=None):
    """Lp pooling over (N, C, D, H, W); see :func:`lp_pool2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.lp_pool3d(np.ones((1, 1, 2, 2, 2)), 1, 2).data.ravel()
        array([8.])
    """
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode, padding, padding_mode)


def _adaptive_sizes(x: np.ndarray, output_size, dims: int) -> tuple[int, ...]:
    if x.ndim != dims + 2:
        raise ValueError(f"input: expected {dims + 2} dims (N, C and {dims} spatial), "
                         f"got shape {x.shape}")
    sizes = (output_size,) * dims if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(sizes) != dims:
        raise ValueError(f"output_size: expected an int or {dims} values, got {output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[2:]))
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"output_size: every size must be an int >= 1, got {output_size!r}")
    return tuple(int(s) for s in sizes)


def _adaptive_max(dims, input, output_size, return_indices):
    x = floating_input(input)
    sizes = _adaptive_sizes(x, output_size, dims)
    y, indices = adaptive_ops.adaptive_max_forward(x, sizes)
    out = record(y, (input,),
                 lambda dy: (adaptive_ops.adaptive_max_backward(dy, indices, x.shape),))
    return (out, indices) if return_indices else out


def _adaptive_avg(dims, input, output_size):
    x = floating_input(input)
    sizes = _adaptive_sizes(x, output_size, dims)
    y = adaptive_ops.adaptive_avg_forward(x, sizes)
    shape, channels_last = x.shape, is_channels_last(x)   # the backward pass holds no array
    return record(y, (input,), lambda dy: (
        adaptive_ops.adaptive_avg_backward(dy, shape, sizes, channels_last),))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed length; see :func:`adaptive_max_pool2d`.

    Example:
        >>> import convnet.functional as F
        >>> F.adaptive_max_pool1d([[[1., 5., 2., 4., 3.]]], 2).data
        array([[[5., 4.]]], dtype=float32)
    """
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (H_out, W_out) for any input size (PyTorch's windows).

    ``output_size``: int or (h, w); ``None`` keeps that input size. ``output_size=2``
    is seed 002's one summary per quadrant; ``1`` is global max pooling.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.adaptive_max_pool2d(np.random.rand(1, 3, 17, 9), 2).shape
        (1, 3, 2, 2)
    """
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed (D, H, W); see :func:`adaptive_max_pool2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.adaptive_max_pool3d(np.random.rand(1, 1, 5, 6, 7), (2, None, 3)).shape
        (1, 1, 2, 6, 3)
    """
    return _adaptive_max(3, input, output_size, return_indices)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed length; see :func:`adaptive_avg_pool2d`.

    Example:
        >>> import convnet.functional as F
        >>> F.adaptive_avg_pool1d([[[1., 3., 5., 7.]]], 2).data
        array([[[2., 6.]]], dtype=float32)
    """
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (H_out, W_out); ``1`` is global average pooling.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.adaptive_avg_pool2d(np.ones((2, 3, 7, 5)), 1).shape
        (2, 3, 1, 1)
    """
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed (D, H, W); see :func:`adaptive_avg_pool2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.adaptive_avg_pool3d(np.ones((1, 1, 4, 4, 4)), 2).shape
        (1, 1, 2, 2, 2)
    """
    return _adaptive_avg(3, input, output_size)


def maxout(input, pool_size):
    """Pooling over channels (seed 002): max over consecutive groups of ``pool_size`` channels.

    Shape: (N, C, *spatial) -> (N, C // pool_size, *spatial); output channel j is the
    maximum of input channels j*k ... j*k + k - 1.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.maxout(np.arange(8.).reshape(1, 4, 2), 2).data
        array([[[2., 3.],
                [6., 7.]]])
    """
    x = floating_input(input)
    if isinstance(pool_size, bool) or not isinstance(pool_size, (int, np.integer)) or pool_size < 1:
        raise ValueError(f"pool_size: expected a positive int, got {pool_size!r}")
    if x.ndim < 2 or x.shape[1] % pool_size:
        raise ValueError(f"pool_size: {pool_size} must divide the channel count, got input "
                         f"shape {x.shape}")
    y, winner = adaptive_ops.maxout_forward(x, int(pool_size))
    return record(y, (input,),
                  lambda dy: (adaptive_ops.maxout_backward(dy, winner, x.shape),))
