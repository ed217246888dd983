"""Trainable sum pooling: the subsampling of the original LeNet networks (seed 001, Eq. 8.22).

Each output is the *sum* of its window times one trainable weight per feature map, plus
an optional bias per feature map::

    z[n, c, i, j] = weight[c] * sum_{k, l} x[n, c, s(i-1)+k, s(j-1)+l] + bias[c]

It is average pooling with the divisor replaced by a learned factor, so it is built from
:func:`~convnet.functional.avg_pool2d` (``divisor_override=1`` gives the window sum) and
its gradients come from autograd: ``dx = weight`` spread over each window (P8.3) and
``dweight[c] = sum dz * (window sum)`` (P8.4).

Example:
    >>> import numpy as np, convnet.functional as F
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.weighted_sum_pool2d(x, np.array([0.5]), np.array([1.0])).data[0, 0]
    array([[ 6., 10.],
           [22., 26.]])
"""

from __future__ import annotations

from ..tensor import Tensor, tensor
from ._arrays import array_of, floating_input
from .pool import avg_pool2d

__all__ = ["weighted_sum_pool2d"]


def _per_channel(value, name: str, channels: int):
    """``value`` of shape (C,) as a Tensor shaped (1, C, 1, 1) for broadcasting."""
    array = array_of(value, name)
    if array.shape != (channels,):
        raise ValueError(f"{name}: expected shape ({channels},), one value per input channel, "
                         f"got {array.shape}")
    value = value if isinstance(value, Tensor) else tensor(array)
    return value.reshape(1, channels, 1, 1)


def weighted_sum_pool2d(input, weight, bias=None, kernel_size=2, stride=None, padding=0,
                        ceil_mode=False, *, padding_mode=None):
    """Window sum times a per-channel weight, plus a per-channel bias (Eq. 8.22).

    Args:
        input: (N, C, H, W).
        weight: (C,), one factor per feature map.
        bias: (C,) or None.
        kernel_size, stride, padding, ceil_mode, padding_mode: as
            :func:`~convnet.functional.avg_pool2d` (stride defaults to the window; padding
            takes ints, pairs, ``'same'``, ``'valid'``, ``'full'``; implicit padding adds
            zeros to the sums).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H + top + bottom - k) // s + 1.

    Example:
        >>> import numpy as np, convnet, convnet.functional as F
        >>> x = convnet.tensor(np.ones((1, 2, 4, 4)), requires_grad=True)
        >>> w = convnet.tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = F.weighted_sum_pool2d(x, w)
        >>> y.data[0, :, 0, 0]
        array([4., 8.])
        >>> y.sum().backward()
        >>> x.grad[0, :, 0, 0], w.grad
        (array([1., 2.]), array([16., 16.]))
    """
    array = floating_input(input)
    if array.ndim != 4:
        raise ValueError(f"input: expected (N, C, H, W), got shape {array.shape}")
    channels = array.shape[1]
    window_sums = avg_pool2d(input, kernel_size, stride, padding, ceil_mode,
                             count_include_pad=True, divisor_override=1,
                             padding_mode=padding_mode)
    output = window_sums * _per_channel(weight, "weight", channels)
    if bias is not None:
        output = output + _per_channel(bias, "bias", channels)
    return output
