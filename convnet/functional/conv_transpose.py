"""Transposed convolution on Tensors: ``conv_transpose1d``, ``2d`` and ``3d``.

PyTorch's names, argument order and semantics, plus the library's padding forms
(see :mod:`convnet.ops.conv.transpose` for the maths).
"""

from __future__ import annotations

from ..ops.conv import transpose as ops
from ..ops.conv import transpose_dispatch
from ..tensor import record
from ._arrays import array_of, floating_input, requires_grad

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def _conv_transpose(spatial_dims, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    x = floating_input(input)
    w = array_of(weight, "weight")
    b = None if bias is None else array_of(bias, "bias")
    spec = ops.conv_transpose_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape,
                                   stride, padding, output_padding, groups, dilation,
                                   spatial_dims=spatial_dims)
    y, saved = transpose_dispatch.forward(x, w, b, spec)
    need_input, need_weight = requires_grad(input), requires_grad(weight)

    def backward(dy):
        return transpose_dispatch.backward(dy, saved, spec, need_input_grad=need_input,
                            need_weight_grad=need_weight)

    return record(y, (input, weight, bias), backward)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution over (N, C_in, L): the adjoint of :func:`conv1d`.

    Args:
        input: (N, C_in, L).
        weight: (C_in, C_out / groups, k), PyTorch's layout (the conv weight it transposes).
        bias: (C_out,) tied, (C_out, L_out) untied, or None.
        stride, dilation: int or 1-tuple.
        padding: int p (crop p on both sides, as torch), (p,), ((before, after),),
            'valid' (0), 'same' (L_out = L * stride, the adjoint of conv1d 'same' at that
            stride) or 'full' (crop dilation * (k - 1) on both sides).
        output_padding: int or 1-tuple, zeros appended before cropping; smaller than
            the stride or the dilation; must be 0 with 'same'.
        groups: int dividing C_in.

    Shape: L_out = (L - 1) * stride - before - after + dilation * (k - 1) + output_padding + 1.

    Example (each sample spreads a copy of the kernel, 2 apart):
        >>> import convnet.functional as F
        >>> F.conv_transpose1d([[[1., 10.]]], [[[1., 2., 3.]]], stride=2).data.tolist()
        [[[1.0, 2.0, 13.0, 20.0, 30.0]]]
    """
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("up-convolution", "deconvolution") over (N, C_in, H, W).

    The forward pass is the input gradient of a convolution with the same weight; its
    input gradient is that convolution applied to the upstream gradient.

    Args:
        input: (N, C_in, H, W).
        weight: (C_in, C_out / groups, k_h, k_w).
        bias: (C_out,) tied, (C_out, H_out, W_out) untied, or None.
        stride, dilation, output_padding: int or (h, w).
        padding: int, (p_h, p_w), ((top, bottom), (left, right)) cropped from the full
            output, 'valid', 'same' (H_out = H * s_h: the exact adjoint of
            ``conv2d(padding='same', stride)`` on an (H * s_h, W * s_w) input) or 'full'.
        groups: int dividing C_in.

    Shape: H_out = (H - 1) * s_h - top - bottom + dilation_h * (k_h - 1) + output_padding_h + 1,
    same for W; with an int ``p``, ``top = bottom = p`` (PyTorch's formula).

    Example (the U-Net up-convolution: 2x2 stride 2 doubles the size):
        >>> import numpy as np, convnet.functional as F
        >>> x = np.zeros((1, 128, 28, 28))
        >>> F.conv_transpose2d(x, np.zeros((128, 64, 2, 2)), stride=2).shape
        (1, 64, 56, 56)
        >>> x, w = np.zeros((1, 8, 5, 5)), np.zeros((8, 4, 3, 3))
        >>> F.conv_transpose2d(x, w, stride=2, padding='same').shape
        (1, 4, 10, 10)
    """
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution over (N, C_in, D, H, W); arguments as :func:`conv_transpose2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.conv_transpose3d(np.zeros((1, 2, 3, 4, 5)), np.zeros((2, 6, 3, 3, 3)), stride=2,
        ...                    padding=1, output_padding=1).shape
        (1, 6, 6, 8, 10)
    """
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)
