"""Convolution (cross-correlation, as in every deep-learning framework) in 1, 2 or 3 dims.

Forward, for output channel ``o`` in group ``g`` and output position ``p``::

    y[n, o, p] = bias + sum_{c, i} w[o, c, i] * x_pad[n, g * C_g + c, p * stride + i * dilation]

computed as one matrix product per group on the im2col matrix (``y = W @ cols``).
Backward, with ``dy`` shaped like ``y`` (seed 001 eqs. for dW and dA, seed 003)::

    dW   = dy @ cols.T            (every window where a weight was used)
    dcol = W.T @ dy  -> col2im    (a transposed convolution of dy with W)
    db   = dy summed over batch and positions (tied) or over the batch (untied)

The kernels take a :class:`ConvSpec` made once at the public boundary by
:func:`conv_spec`, which validates every argument.

Example:
    >>> import numpy as np
    >>> x = np.arange(5.).reshape(1, 1, 5)
    >>> w = np.array([1., 1., 1.]).reshape(1, 1, 3)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, stride=2, padding='same')
    >>> forward(x, w, None, spec)[0]
    array([[[1., 6., 7.]]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from . import conv_channels_last
from .conv_bias import add_bias, bias_gradient, bias_kind
from .padding import PADDING_MODES, Pairs, check_padding_fits, pad, pad_backward
from .windows import col2im, im2col, output_size, resolve_padding, to_tuple


@dataclass(frozen=True)
class ConvSpec:
    """Validated hyperparameters and shapes of one convolution call."""

    input_shape: tuple[int, ...]      # (N, C_in, *spatial)
    weight_shape: tuple[int, ...]     # (C_out, C_in / groups, *kernel_size)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs                    # one (before, after) pair per spatial dim
    padding_mode: str
    groups: int
    out_sizes: tuple[int, ...]
    bias: str                         # 'none', 'tied' or 'untied'

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return self.input_shape[:2] + tuple(
            n + b + a for n, (b, a) in zip(self.input_shape[2:], self.padding))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0], self.weight_shape[0]) + self.out_sizes


def check_operands(input_shape, input_dtype, weight_shape, groups, spatial_dims,
                   operation: str, weight_layout: str) -> tuple[int, int]:
    """Checks shared by every convolution-like op: floating input, dims, positive groups.

    Returns (number of spatial dims, groups as an int).
    """
    ndim = len(weight_shape) - 2 if spatial_dims is None else spatial_dims
    if not np.issubdtype(np.dtype(input_dtype), np.floating):
        raise TypeError(f"input: expected a floating-point array (float32 or float64), "
                        f"got dtype {np.dtype(input_dtype)}")
    if len(input_shape) != ndim + 2:
        raise ValueError(f"input: expected {ndim + 2} dims (N, C, {_spatial_names(ndim)}) for a "
                         f"{ndim}-d {operation}, got shape {input_shape}")
    if len(weight_shape) != ndim + 2:
        raise ValueError(f"weight: expected {ndim + 2} dims ({weight_layout}, *kernel_size), "
                         f"got shape {weight_shape}")
    if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    return ndim, int(groups)


MAX_PADDING = 2**24  # per spatial dim: beyond it a padding is a mistake, not a request


def conv_spec(input_shape, input_dtype, weight_shape, bias_shape=None, stride=1, padding=0,
              dilation=1, groups=1, padding_mode="zeros", spatial_dims=None) -> ConvSpec:
    """Validate a convolution's arguments and resolve its padding and output size.

    Raises ValueError/TypeError naming the argument, the value and what was expected.
    """
    input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)
    ndim, groups = check_operands(input_shape, input_dtype, weight_shape, groups, spatial_dims,
                                  "convolution", "out_channels, in_channels/groups")
    in_channels, out_channels = input_shape[1], weight_shape[0]
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups: must divide in_channels ({in_channels}) and out_channels "
                         f"({out_channels}), got groups={groups}")
    if weight_shape[1] * groups != in_channels:
        raise ValueError(f"in_channels: input has {in_channels} channels but weight expects "
                         f"{weight_shape[1] * groups} (weight.shape[1]={weight_shape[1]} x "
                         f"groups={groups})")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected one of {', '.join(map(repr, PADDING_MODES))}, "
                         f"got {padding_mode!r}")
    kernel_size = weight_shape[2:]
    if any(k < 1 for k in kernel_size):
        raise ValueError(f"kernel_size: every kernel dim must be >= 1, got {kernel_size}")
    stride = to_tuple(stride, ndim, "stride")
    dilation = to_tuple(dilation, ndim, "dilation")
    in_sizes = input_shape[2:]
    pairs = resolve_padding(padding, in_sizes, kernel_size, stride, dilation)
    check_padding_fits(pairs, in_sizes, padding_mode)
    if any(before + after > MAX_PADDING for before, after in pairs):
        raise ValueError(f"padding: {padding!r:.40} adds {max(b + a for b, a in pairs):,} "
                         f"values to a spatial dim, more than the {MAX_PADDING:,} a convolution "
                         f"may add")
    out_sizes = []
    for dim, (n, k, s, d, (b, a)) in enumerate(zip(in_sizes, kernel_size, stride, dilation, pairs)):
        size = output_size(n, k, s, d, b, a)
        if size < 1:
            raise ValueError(f"kernel_size: kernel {kernel_size} (dilation {dilation}) is larger "
                             f"than the padded input {tuple(i + p + q for i, (p, q) in zip(in_sizes, pairs))} "
                             f"in spatial dim {dim}")
        out_sizes.append(size)
    out_sizes = tuple(out_sizes)
    bias = bias_kind(bias_shape, out_channels, out_sizes)
    return ConvSpec(input_shape, weight_shape, stride, dilation, pairs, padding_mode, groups,
                    out_sizes, bias)


def _spatial_names(ndim: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}.get(ndim, "...")


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec: ConvSpec, channels_last: bool = True) -> tuple[np.ndarray, tuple]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight``; returns ``(y, saved)``.

    ``y`` has shape (N, C_out, *out_sizes); ``saved`` is what :func:`backward` needs.
    1-D and 2-D convolutions without groups run in channels-last memory
    (:mod:`convnet.ops.conv_channels_last`); ``channels_last=False`` forces the
    layout-preserving path below (same results to float rounding).
    """
    if x.size == 0 or weight.size == 0:                     # an empty batch or no channels
        y = np.zeros(spec.output_shape, dtype=np.result_type(x, weight))
        return add_bias(y, bias, spec), ("empty", None)
    if channels_last and conv_channels_last.supported(x, weight, spec):
        y, saved = conv_channels_last.forward(x, weight, bias, spec)
        return y, ("channels_last", saved)
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
    return add_bias(y, bias, spec), ("channels_first", (cols, weight_matrix))


def backward(dy: np.ndarray, saved: tuple, spec: ConvSpec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy``."""
    layout, saved = saved
    if layout == "empty":
        dx = np.zeros(spec.input_shape, dtype=dy.dtype) if need_input_grad else None
        return dx, np.zeros(spec.weight_shape, dtype=dy.dtype), bias_gradient(dy, spec)
    if layout == "channels_last":
        return conv_channels_last.backward(dy, saved, spec, need_input_grad)
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


def multiply_adds(spec: ConvSpec) -> int:
    """Multiply-accumulate count of the forward pass (for summaries and benchmarks)."""
    return (math.prod(spec.output_shape) * spec.weight_shape[1] * math.prod(spec.kernel_size))
