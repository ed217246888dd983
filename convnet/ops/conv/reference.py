"""Convolution (cross-correlation, as in every deep-learning framework) in 1, 2 or 3 dims.

Forward, for output channel ``o`` in group ``g`` and output position ``p``::

    y[n, o, p] = bias + sum_{c, i} w[o, c, i] * x_pad[n, g * C_g + c, p * stride + i * dilation]

computed as one matrix product per group on the im2col matrix (``y = W @ cols``).
Backward, with ``dy`` shaped like ``y`` (seed 001 eqs. for dW and dA, seed 003)::

    dW   = dy @ cols.T            (every window where a weight was used)
    dcol = W.T @ dy  -> col2im    (a transposed convolution of dy with W)
    db   = dy summed over batch and positions (tied) or over the batch (untied)

This module is the reference: the notes' maths in plain NumPy, for any dims, groups, dtypes
and padding modes. The fast backends (:mod:`.channels_last`, :mod:`.fft`) compute the same
function and are checked against this one by the shared backend test; :mod:`.dispatch`
chooses among them. Every backend is ``supports(spec, x, weight)``, ``forward(x, weight,
bias, spec) -> (y, saved)`` and ``backward(dy, saved, spec, need_input_grad) -> (dx, dweight,
dbias)``.

Example:
    >>> import numpy as np
    >>> x = np.arange(5.).reshape(1, 1, 5)
    >>> w = np.array([1., 1., 1.]).reshape(1, 1, 3)
    >>> from convnet.ops.conv import conv_spec
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, stride=2, padding='same')
    >>> forward(x, w, None, spec)[0]
    array([[[1., 6., 7.]]])
"""

from __future__ import annotations

import numpy as np

from ..padding import pad, pad_backward
from ..windows import col2im, im2col
from .bias import add_bias, bias_gradient


def supports(spec, x: np.ndarray, weight: np.ndarray) -> bool:
    """The reference computes every convolution."""
    return True


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec) -> tuple[np.ndarray, tuple | None]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight``; returns ``(y, saved)``.

    ``y`` has shape (N, C_out, *out_sizes); ``saved`` is what :func:`backward` needs.
    """
    if x.size == 0 or weight.size == 0:                     # an empty batch or no channels
        y = np.zeros(spec.output_shape, dtype=np.result_type(x, weight))
        return add_bias(y, bias, spec), None
    groups = spec.groups
    batch = x.shape[0]
    out_channels = weight.shape[0]
    x_padded = pad(x, spec.padding, spec.padding_mode)
    cols = im2col(x_padded, spec.kernel_size, spec.stride, spec.dilation, spec.out_sizes)
    cols = cols.reshape(groups, -1, cols.shape[1])
    weight_matrix = weight.reshape(groups, out_channels // groups, -1)
    y = np.empty((groups, out_channels // groups, cols.shape[2]),
                 dtype=np.result_type(weight_matrix, cols))
    for group in range(groups):                             # one BLAS product per group
        np.matmul(weight_matrix[group], cols[group], out=y[group])
    y = y.reshape((out_channels, batch) + spec.out_sizes)
    y = np.moveaxis(y, 0, 1)                                # (N, C_out, *out), no copy
    return add_bias(y, bias, spec), (cols, weight_matrix)


def backward(dy: np.ndarray, saved: tuple | None, spec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy``."""
    if saved is None:                                       # the empty convolution
        dx = np.zeros(spec.input_shape, dtype=dy.dtype) if need_input_grad else None
        return dx, np.zeros(spec.weight_shape, dtype=dy.dtype), bias_gradient(dy, spec)
    cols, weight_matrix = saved
    groups = spec.groups
    out_channels = spec.weight_shape[0]
    # (N, C_out, *out) -> (G, C_out/G, N * L): free when dy is channel-major already
    dy_matrix = np.moveaxis(dy, 1, 0).reshape(groups, out_channels // groups, -1)
    # 2-D products with transposed operands go to BLAS with a transpose flag; NumPy's
    # stacked (3-D) matmul does not, and is several times slower for them
    dweight = np.stack([dy_matrix[g] @ cols[g].T for g in range(groups)])
    dweight = dweight.reshape(spec.weight_shape)

    dbias = bias_gradient(dy, spec)

    dx = None
    if need_input_grad:
        dcols = np.empty((groups, cols.shape[1], cols.shape[2]), dtype=dy_matrix.dtype)
        for group in range(groups):
            np.matmul(weight_matrix[group].T, dy_matrix[group], out=dcols[group])
        dcols = dcols.reshape(-1, dcols.shape[-1])
        dx_padded = col2im(dcols, spec.padded_shape, spec.kernel_size, spec.stride,
                           spec.dilation, spec.out_sizes)
        dx = pad_backward(dx_padded, spec.input_shape, spec.padding, spec.padding_mode)
    return dx, dweight, dbias
