"""Differentiable operations on Tensors, named and shaped like ``torch.nn.functional``.

Each function validates its arguments once, runs a pure-NumPy kernel from
:mod:`convnet.ops` and records the matching backward kernel on the autograd tape.
Inputs may be Tensors or NumPy arrays.

Example:
    >>> import numpy as np, convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    >>> w = convnet.tensor(np.ones((2, 1, 3, 3)))
    >>> F.conv2d(x, w, padding='same').shape
    (1, 2, 4, 4)
"""

from __future__ import annotations

import numpy as np

from .ops import conv as conv_ops
from .tensor import Tensor, as_array, record


def _array(value, name: str):
    if isinstance(value, Tensor):
        return value.data
    try:
        return as_array(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected a Tensor or array, got {type(value).__name__}") from error


def _conv(spatial_dims, input, weight, bias, stride, padding, dilation, groups, padding_mode):
    x = input.data if isinstance(input, Tensor) else _checked_input(input)
    w = _array(weight, "weight")
    b = None if bias is None else _array(bias, "bias")
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape,
                              stride, padding, dilation, groups, padding_mode,
                              spatial_dims=spatial_dims)
    y, saved = conv_ops.forward(x, w, b, spec)
    input_needs_grad = isinstance(input, Tensor) and input.requires_grad

    def backward(dy):
        dx, dw, db = conv_ops.backward(dy, saved, spec, need_input_grad=input_needs_grad)
        return dx, dw, db

    return record(y, (input, weight, bias), backward)


def _checked_input(value):
    """An ndarray input must already be floating point (as torch); lists become float32."""
    if isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.floating):
        raise TypeError(f"input: expected a floating-point array (float32 or float64), "
                        f"got dtype {value.dtype}; convert it with .astype(np.float32)")
    return _array(value, "input")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros"):
    """1-D convolution (cross-correlation) over (N, C_in, L) inputs.

    Args:
        input: (N, C_in, L).
        weight: (C_out, C_in / groups, k).
        bias: (C_out,) tied, or (C_out, L_out) untied (one per output unit), or None.
        stride, dilation: int or 1-tuple.
        padding: int, (p,), ((before, after),), 'valid', 'same' (notes' rule:
            L_out = (L - 1) // stride + 1) or 'full'.
        padding_mode: 'zeros', 'reflect', 'replicate', 'circular' or 'symmetric'.

    Shape: L_out = (L + before + after - dilation * (k - 1) - 1) // stride + 1.

    Example (seed 000's high-pass filter):
        >>> import convnet.functional as F
        >>> m = [[[0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]]]
        >>> F.conv1d(m, [[[-1, 2, -1]]]).data.ravel().tolist()
        [0.0, 0.0, 2.0, -4.0, 2.0, 0.0, 0.0, -5.0, 10.0, -5.0, 0.0, 5.0, -10.0]
    """
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros"):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) inputs, the notes' conv layer.

    Args:
        input: (N, C_in, H, W).
        weight: (C_out, C_in / groups, k_h, k_w).
        bias: (C_out,) tied, or (C_out, H_out, W_out) untied, or None.
        stride, dilation: int or (s_h, s_w).
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), 'valid',
            'same' (H_out = (H - 1) // stride + 1 for any stride, filter centred on
            the top-left pixel) or 'full'.
        padding_mode: 'zeros', 'reflect', 'replicate', 'circular' or 'symmetric'.

    Shape: H_out = (H + top + bottom - dilation * (k_h - 1) - 1) // s_h + 1, same for W.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.conv2d(np.zeros((2, 3, 15, 15)), np.zeros((1, 3, 3, 3)), stride=2, padding=1).shape
        (2, 1, 8, 8)
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros"):
    """3-D convolution (cross-correlation) over (N, C_in, D, H, W) inputs.

    Arguments as :func:`conv2d`, with three spatial dims.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.conv3d(np.zeros((1, 2, 5, 6, 7)), np.zeros((4, 2, 3, 3, 3)), padding='same').shape
        (1, 4, 5, 6, 7)
    """
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, padding_mode)
