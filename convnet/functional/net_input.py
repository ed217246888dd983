"""The product net input (seed 001, E8.9): ``n = b * z`` instead of ``n = z + b``.

A layer is a weight function (here a convolution, giving ``z``), a net input function
and a transfer function. With the product net input the bias scales the weight
function's output instead of shifting it, and the two backpropagation paths are::

    dz = b * dn                      (dN -> dLZ: the bias, broadcast over the map)
    db = sum over positions (dn * z) (dN -> db: one sum per feature map)

Example:
    >>> import numpy as np, convnet.functional as F
    >>> z = np.ones((1, 2, 2, 2))
    >>> F.product_net_input(z, np.array([3.0, -1.0])).data[0, :, 0, 0]
    array([ 3., -1.])
"""

from __future__ import annotations

from ..tensor import Tensor, tensor
from ._arrays import array_of, floating_input
from .conv import conv2d

__all__ = ["product_net_input", "conv2d_product_bias"]


def product_net_input(weighted, bias):
    """Multiply each feature map of ``weighted`` by its bias.

    Args:
        weighted: (N, C, *spatial), the weight function's output.
        bias: (C,) tied (one per feature map) or (C, *spatial) untied (one per unit).

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.product_net_input(np.ones((1, 1, 2)), np.array([[2.0, 5.0]])).data
        array([[[2., 5.]]])
    """
    z = weighted if isinstance(weighted, Tensor) else tensor(floating_input(weighted, "weighted"))
    b_array = array_of(bias, "bias")
    channels, spatial = z.shape[1], z.shape[2:]
    if b_array.shape == (channels,):
        shape = (1, channels) + (1,) * len(spatial)
    elif b_array.shape == (channels,) + tuple(spatial):
        shape = (1,) + b_array.shape
    else:
        raise ValueError(f"bias: expected shape ({channels},) (tied) or "
                         f"{(channels,) + tuple(spatial)} (untied), got {b_array.shape}")
    b = bias if isinstance(bias, Tensor) else tensor(b_array)
    return z * b.reshape(*shape)


def conv2d_product_bias(input, weight, bias, stride=1, padding=0, dilation=1, groups=1, *,
                        padding_mode="zeros"):
    """:func:`~convnet.functional.conv2d` whose bias multiplies instead of adds.

    Shape: as :func:`~convnet.functional.conv2d`; ``bias`` is (C_out,) or
    (C_out, H_out, W_out).

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))
        >>> F.conv2d_product_bias(x, w, np.array([0.5])).data.ravel()
        array([4.5])
    """
    weighted = conv2d(input, weight, None, stride, padding, dilation, groups,
                      padding_mode=padding_mode)
    return product_net_input(weighted, bias)
