"""Locally connected (unshared) and tiled convolution on Tensors (seed 002 eqs. 9.9, 9.10).

Neither exists in torch; the arguments follow ``conv2d`` (stride, padding in every
form including the notes' ``'same'``, dilation, ``padding_mode``), only the weight
gains leading dims: one filter bank per output position (locally connected) or per
tile (tiled). See :mod:`convnet.ops.conv.local` for the maths.
"""

from __future__ import annotations

from ..ops.conv import local as local_ops
from ..tensor import record
from ._arrays import array_of, floating_input, requires_grad

__all__ = ["locally_connected1d", "locally_connected2d", "tiled_conv2d"]


def _apply(make_spec, forward, backward_kernel, spatial_dims, input, weight, bias, stride,
           padding, dilation, padding_mode):
    x = floating_input(input)
    w = array_of(weight, "weight")
    b = None if bias is None else array_of(bias, "bias")
    spec = make_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape, stride, padding,
                     dilation, padding_mode, spatial_dims=spatial_dims)
    y, saved = forward(x, w, b, spec)
    input_needs_grad = requires_grad(input)

    def backward(dy):
        return backward_kernel(dy, saved, spec, need_input_grad=input_needs_grad)

    return record(y, (input, weight, bias), backward)


def locally_connected1d(input, weight, bias=None, stride=1, padding=0, dilation=1, *,
                        padding_mode="zeros"):
    """1-D locally connected layer (unshared convolution): its own filter at every output position.

    ``y[n, o, p] = bias[o, p] + sum_{c, i} weight[p, o, c, i] * x_pad[n, c, p*stride + i*dilation]``

    Args:
        input: (N, C_in, L).
        weight: (L_out, C_out, C_in, k): ``weight[p]`` is the (C_out, C_in, k) filter
            bank used at output position ``p``.
        bias: (C_out, L_out) one per output unit, (C_out,) one per channel, or None.
        stride, dilation: int or 1-tuple.
        padding: int, (p,), ((before, after),), 'valid', 'same' (notes' rule:
            L_out = (L - 1) // stride + 1) or 'full'.
        padding_mode: 'zeros', 'reflect', 'replicate', 'circular' or 'symmetric'.

    Shape: L_out = (L + before + after - dilation * (k - 1) - 1) // stride + 1, as conv1d;
    ``weight.shape[0]`` must equal it.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> x = np.arange(5.).reshape(1, 1, 5)
        >>> w = np.stack([np.full((1, 1, 3), p + 1.) for p in range(3)])  # (3, 1, 1, 3)
        >>> F.locally_connected1d(x, w).data.ravel().tolist()
        [3.0, 12.0, 27.0]
    """
    return _apply(local_ops.local_spec, local_ops.forward_local, local_ops.backward_local, 1,
                  input, weight, bias, stride, padding, dilation, padding_mode)


def locally_connected2d(input, weight, bias=None, stride=1, padding=0, dilation=1, *,
                        padding_mode="zeros"):
    """2-D locally connected layer (unshared convolution), seed 002 eq. 9.9.

    ``y[n, o, y, x] = bias[o, y, x] + sum_{c, i, j} weight[y, x, o, c, i, j]
    * x_pad[n, c, y*s_h + i*d_h, x*s_w + j*d_w]``

    Args:
        input: (N, C_in, H, W).
        weight: (H_out, W_out, C_out, C_in, k_h, k_w): ``weight[y, x]`` is the OIHW
            filter bank used at output position ``(y, x)``.
        bias: (C_out, H_out, W_out) one per output unit (the notes' choice), (C_out,)
            one per channel, or None.
        stride, dilation: int or (s_h, s_w).
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), 'valid', 'same'
            (H_out = (H - 1) // stride + 1 for any stride) or 'full'.
        padding_mode: 'zeros', 'reflect', 'replicate', 'circular' or 'symmetric'.

    Shape: H_out = (H + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1, same for W, as
    conv2d; ``weight.shape[:2]`` must equal (H_out, W_out).

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> x = np.ones((2, 3, 8, 8))
        >>> w = np.ones((4, 4, 16, 3, 3, 3))       # 'same' at stride 2: 8x8 -> 4x4
        >>> y = F.locally_connected2d(x, w, np.zeros((16, 4, 4)), stride=2, padding='same')
        >>> y.shape, float(y.data[0, 0, 1, 1]), float(y.data[0, 0, 0, 0])
        ((2, 16, 4, 4), 27.0, 12.0)
    """
    return _apply(local_ops.local_spec, local_ops.forward_local, local_ops.backward_local, 2,
                  input, weight, bias, stride, padding, dilation, padding_mode)


def tiled_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, *,
                 padding_mode="zeros"):
    """2-D tiled convolution, seed 002 eq. 9.10: t_h x t_w kernel sets cycled over the output.

    ``y[n, o, y, x] = bias[o] + sum_{c, i, j} weight[y % t_h, x % t_w, o, c, i, j]
    * x_pad[n, c, y*s_h + i*d_h, x*s_w + j*d_w]``

    Args:
        input: (N, C_in, H, W).
        weight: (t_h, t_w, C_out, C_in, k_h, k_w); the tiles are its first two dims.
        bias: (C_out,) tied, (C_out, H_out, W_out) untied, or None.
        stride, dilation, padding, padding_mode: as :func:`conv2d`.

    Shape: H_out, W_out as conv2d. Tiles (1, 1) give conv2d; tiles equal to
    (H_out, W_out) give :func:`locally_connected2d`.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> x = np.ones((1, 1, 4, 4))
        >>> w = np.arange(1., 5.).reshape(2, 2, 1, 1, 1, 1)     # 2x2 tiles of 1x1 kernels
        >>> F.tiled_conv2d(x, w).data[0, 0].tolist()
        [[1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0], [1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0]]
    """
    return _apply(local_ops.tiled_spec, local_ops.forward_tiled, local_ops.backward_tiled, 2,
                  input, weight, bias, stride, padding, dilation, padding_mode)
