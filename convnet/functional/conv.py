"""Convolution on Tensors: ``conv1d``, ``conv2d``, ``conv3d`` (torch names and semantics).

Extension beyond torch: the keyword ``algorithm`` picks how the convolution is computed,
``'im2col'`` (a matrix product on the column matrix, :mod:`convnet.ops.conv.reference`),
``'fft'`` (real FFTs, :mod:`convnet.ops.conv.fft`; fast for large kernels) or ``'auto'``
(the default: the smaller estimated time, :mod:`convnet.ops.conv.dispatch`).
Results agree to float tolerance whichever is used; the backward pass uses the
forward's algorithm.
"""

from __future__ import annotations

from ..ops.conv import dispatch
from ..ops.conv.spec import conv_spec
from ..tensor import record
from ._arrays import floating_input, requires_grad

__all__ = ["conv1d", "conv2d", "conv3d"]


def _conv(spatial_dims, input, weight, bias, stride, padding, dilation, groups, padding_mode,
          algorithm):
    dispatch.check_algorithm(algorithm)
    x = floating_input(input)
    w = floating_input(weight, "weight")
    b = None if bias is None else floating_input(bias, "bias")
    spec = conv_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape, stride, padding,
                     dilation, groups, padding_mode, spatial_dims=spatial_dims)
    y, saved = dispatch.forward(x, w, b, spec, algorithm)
    input_needs_grad = requires_grad(input)

    def backward(dy):
        return dispatch.backward(dy, saved, spec, need_input_grad=input_needs_grad)

    return record(y, (input, weight, bias), backward)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto"):
    """1-D convolution (cross-correlation) over (N, C_in, L) inputs.

    Args:
        input: (N, C_in, L).
        weight: (C_out, C_in / groups, k).
        bias: (C_out,) tied, or (C_out, L_out) untied (one per output unit), or None.
        stride, dilation: int or 1-tuple.
        padding: int, (p,), ((before, after),), 'valid', 'same' (notes' rule:
            L_out = (L - 1) // stride + 1) or 'full'.
        padding_mode: 'zeros', 'reflect', 'replicate', 'circular' or 'symmetric'.
        algorithm: 'auto' (default), 'im2col' or 'fft' (see the module docstring).

    Shape: L_out = (L + before + after - dilation * (k - 1) - 1) // stride + 1.

    Example (seed 000's high-pass filter):
        >>> import convnet.functional as F
        >>> m = [[[0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]]]
        >>> F.conv1d(m, [[[-1, 2, -1]]]).data.ravel().tolist()
        [0.0, 0.0, 2.0, -4.0, 2.0, 0.0, 0.0, -5.0, 10.0, -5.0, 0.0, 5.0, -10.0]
    """
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 algorithm)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto"):
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
        algorithm: 'auto' (default: im2col for small kernels, FFT for large ones),
            'im2col' or 'fft'. An explicit choice always wins.

    Shape: H_out = (H + top + bottom - dilation * (k_h - 1) - 1) // s_h + 1, same for W.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.conv2d(np.zeros((2, 3, 15, 15)), np.zeros((1, 3, 3, 3)), stride=2, padding=1).shape
        (2, 1, 8, 8)
        >>> image = np.random.default_rng(0).random((1, 1, 128, 128), dtype=np.float32)
        >>> blur = np.full((1, 1, 31, 31), 1 / 961, np.float32)
        >>> by_fft = F.conv2d(image, blur, padding='same', algorithm='fft').data
        >>> by_im2col = F.conv2d(image, blur, padding='same', algorithm='im2col').data
        >>> bool(np.allclose(by_fft, by_im2col, atol=1e-5)), by_fft.dtype
        (True, dtype('float32'))
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 algorithm)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto"):
    """3-D convolution (cross-correlation) over (N, C_in, D, H, W) inputs.

    Arguments as :func:`conv2d` (``algorithm`` included), with three spatial dims.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.conv3d(np.zeros((1, 2, 5, 6, 7)), np.zeros((4, 2, 3, 3, 3)), padding='same').shape
        (1, 4, 5, 6, 7)
    """
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 algorithm)
