"""Locally connected (unshared) and tiled convolution, forward and backward (seed 002).

Both have the connectivity of a convolution (same windows, stride, dilation, padding
forms and modes, same output size) but fewer weights are shared.

Locally connected, seed 002 eq. 9.9: a separate filter at every output position::

    y[n, o, p] = bias + sum_{c, i} w[p, o, c, i] * x_pad[n, c, p * stride + i * dilation]

with ``p`` the output position (``(y, x)`` in 2-D). Weight layout:
``(*out_sizes, C_out, C_in, *kernel_size)``, i.e. ``(out_h, out_w, C_out, C_in, k_h, k_w)``
in 2-D and ``(out_l, C_out, C_in, k)`` in 1-D: ``weight[y, x]`` is an ordinary OIHW
convolution weight, the one used at output position ``(y, x)``.

Computed as one batched matrix product with the position as the batch dimension: the
windows in position-major im2col layout ``cols`` of shape (L, C_in * prod(k), N), with
``L = prod(out_sizes)``, and ``y = W @ cols``, i.e. (L, C_out, CKK) @ (L, CKK, N).
Backward (the same three products as a convolution, one per position)::

    dW   = dy @ cols^T     (L, C_out, N) @ (L, N, CKK)
    dcol = W^T @ dy        (L, CKK, C_out) @ (L, C_out, N)  -> col2im
    db   = dy summed over the batch (untied) or over batch and positions (tied)

Tiled, seed 002 eq. 9.10: ``t_h x t_w`` sets of kernels cycled over the output grid;
output ``(y, x)`` uses the set ``(y mod t_h, x mod t_w)``::

    y[n, o, y, x] = bias + sum_{c, i, j} w[y % t_h, x % t_w, o, c, i, j]
                                         * x_pad[n, c, y * s_h + i * d_h, x * s_w + j * d_w]

Weight layout ``(t_h, t_w, C_out, C_in, k_h, k_w)`` (tiles read from the weight's shape).
The outputs of tile ``(a, b)`` are the strided slice ``[a::t_h, b::t_w]`` of the output
grid, and their windows are the im2col of ``x_pad[..., a*s_h:, b*s_w:]`` with stride
``(s_h*t_h, s_w*t_w)``: the matching columns of the full im2col. So a tiled convolution
is ``t_h * t_w`` ordinary convolution products, one per tile; the backward assembles
the column gradient of every tile into one im2col-shaped array and calls col2im once.
With ``t = 1`` this is a convolution; with ``t`` equal to the output size it is locally
connected. Tiles beyond the output size are never used (their gradient is zero).

Kernels take a :class:`LocalSpec` made once at the public boundary by
:func:`local_spec` or :func:`tiled_spec`, which validate every argument.

Example (1-D, three positions, each with its own filter):
    >>> import numpy as np
    >>> x = np.arange(5.).reshape(1, 1, 5)
    >>> w = np.array([[1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]).reshape(3, 1, 1, 3)
    >>> spec = local_spec(x.shape, x.dtype, w.shape)
    >>> forward_local(x, w, None, spec)[0]
    array([[[0., 2., 4.]]])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .bias import add_bias, bias_gradient, bias_kind
from .spec import conv_spec
from ..padding import Pairs, pad, pad_backward
from ..windows import col2im, im2col, window_view


@dataclass(frozen=True)
class LocalSpec:
    """Validated hyperparameters and shapes of one locally connected or tiled call."""

    input_shape: tuple[int, ...]      # (N, C_in, *spatial)
    weight_shape: tuple[int, ...]     # (*out_sizes or *tiles, C_out, C_in, *kernel_size)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs                    # one (before, after) pair per spatial dim
    padding_mode: str
    out_sizes: tuple[int, ...]
    bias: str                         # 'none', 'tied' or 'untied'
    tiles: tuple[int, ...] | None     # None for locally connected

    @property
    def spatial_dims(self) -> int:
        return len(self.input_shape) - 2

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[-self.spatial_dims:]

    @property
    def out_channels(self) -> int:
        return self.weight_shape[self.spatial_dims]

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return self.input_shape[:2] + tuple(
            n + b + a for n, (b, a) in zip(self.input_shape[2:], self.padding))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0], self.out_channels) + self.out_sizes


def _spatial_names(ndim: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}.get(ndim, "...")


def _check_shapes(input_shape, input_dtype, weight_shape, ndim: int, leading: str) -> None:
    """Checks before the geometry: dtype, ranks and channels, with this op's wording."""
    if not np.issubdtype(np.dtype(input_dtype), np.floating):
        raise TypeError(f"input: expected a floating-point array (float32 or float64), "
                        f"got dtype {np.dtype(input_dtype)}")
    if len(input_shape) != ndim + 2:
        raise ValueError(f"input: expected {ndim + 2} dims (N, C, {_spatial_names(ndim)}), "
                         f"got shape {input_shape}")
    if len(weight_shape) != 2 * ndim + 2:
        raise ValueError(f"weight: expected {2 * ndim + 2} dims ({leading}, out_channels, "
                         f"in_channels, *kernel_size), got shape {weight_shape}")
    if weight_shape[ndim + 1] != input_shape[1]:
        raise ValueError(f"in_channels: input has {input_shape[1]} channels but weight expects "
                         f"{weight_shape[ndim + 1]} (weight.shape[{ndim + 1}])")


def geometry(input_shape, kernel_size, stride=1, padding=0, dilation=1, padding_mode="zeros",
             input_dtype=np.float32):
    """Validate window arguments as a convolution does: (stride, dilation, pairs, out_sizes).

    ``input_shape`` is (N, C, *spatial). The output size is the convolution's:
    ``out = (in + before + after - dilation * (k - 1) - 1) // stride + 1``.

    Example:
        >>> geometry((1, 3, 32, 32), (3, 3), stride=2, padding='same')[3]
        (16, 16)
    """
    input_shape, kernel_size = tuple(input_shape), tuple(kernel_size)
    spec = conv_spec(input_shape, input_dtype, (1, input_shape[1]) + kernel_size, None, stride,
                     padding, dilation, 1, padding_mode, spatial_dims=len(kernel_size))
    return spec.stride, spec.dilation, spec.padding, spec.out_sizes


def local_spec(input_shape, input_dtype, weight_shape, bias_shape=None, stride=1, padding=0,
               dilation=1, padding_mode="zeros", spatial_dims=None) -> LocalSpec:
    """Validate a locally connected call; weight is (*out_sizes, C_out, C_in, *kernel_size).

    Raises ValueError/TypeError naming the argument; in particular ``weight`` when its
    leading (position) dims differ from the output size the input, kernel, stride,
    padding and dilation give.
    """
    input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)
    ndim = (len(weight_shape) - 2) // 2 if spatial_dims is None else spatial_dims
    _check_shapes(input_shape, input_dtype, weight_shape, ndim, "*out_sizes")
    stride, dilation, pairs, out_sizes = geometry(input_shape, weight_shape[-ndim:], stride,
                                                  padding, dilation, padding_mode, input_dtype)
    if weight_shape[:ndim] != out_sizes:
        raise ValueError(f"weight: has one filter per output position for an output of "
                         f"{weight_shape[:ndim]}, but input {input_shape[2:]} with kernel "
                         f"{weight_shape[-ndim:]}, stride {stride}, dilation {dilation} and "
                         f"padding {pairs} gives an output of {out_sizes}; expected weight shape "
                         f"{out_sizes + weight_shape[ndim:]}")
    bias = bias_kind(bias_shape, weight_shape[ndim], out_sizes)
    return LocalSpec(input_shape, weight_shape, stride, dilation, pairs, padding_mode, out_sizes,
                     bias, None)


def tiled_spec(input_shape, input_dtype, weight_shape, bias_shape=None, stride=1, padding=0,
               dilation=1, padding_mode="zeros", spatial_dims=None) -> LocalSpec:
    """Validate a tiled convolution call; weight is (*tiles, C_out, C_in, *kernel_size)."""
    input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)
    ndim = (len(weight_shape) - 2) // 2 if spatial_dims is None else spatial_dims
    _check_shapes(input_shape, input_dtype, weight_shape, ndim, "*tiles")
    tiles = weight_shape[:ndim]
    if any(t < 1 for t in tiles):
        raise ValueError(f"weight: the leading dims are the tiles (t_h, t_w) and must be >= 1, "
                         f"got tiles {tiles} from weight shape {weight_shape}")
    stride, dilation, pairs, out_sizes = geometry(input_shape, weight_shape[-ndim:], stride,
                                                  padding, dilation, padding_mode, input_dtype)
    bias = bias_kind(bias_shape, weight_shape[ndim], out_sizes)
    return LocalSpec(input_shape, weight_shape, stride, dilation, pairs, padding_mode, out_sizes,
                     bias, tiles)


# ---------------------------------------------------------------- locally connected
def position_columns(x_padded: np.ndarray, spec: LocalSpec) -> np.ndarray:
    """im2col in position-major layout: (L, C_in * prod(kernel), N).

    ``cols[p, (c, i), n]`` is the input value that filter element ``(c, i)`` of the
    filter at output position ``p`` multiplies for batch item ``n`` (row order CHW as
    :func:`convnet.ops.windows.im2col`).
    """
    ndim = spec.spatial_dims
    batch, channels = x_padded.shape[:2]
    view = window_view(x_padded, spec.kernel_size, spec.stride, spec.dilation, spec.out_sizes)
    # (N, C, *k, *out) -> (*out, C, *k, N)
    order = tuple(range(2 + ndim, 2 + 2 * ndim)) + (1,) + tuple(range(2, 2 + ndim)) + (0,)
    cols = np.empty(spec.out_sizes + (channels,) + spec.kernel_size + (batch,),
                    dtype=x_padded.dtype)
    np.copyto(cols, view.transpose(order))
    return cols.reshape(math.prod(spec.out_sizes), -1, batch)


def forward_local(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                  spec: LocalSpec) -> tuple[np.ndarray, tuple]:
    """Locally connected forward, (N, C_in, *spatial) -> (N, C_out, *out_sizes): (y, saved)."""
    ndim = spec.spatial_dims
    positions = math.prod(spec.out_sizes)
    cols = position_columns(pad(x, spec.padding, spec.padding_mode), spec)
    weight_matrices = weight.reshape(positions, spec.out_channels, -1)       # (L, C_out, CKK)
    y = np.matmul(weight_matrices, cols)                                    # (L, C_out, N)
    y = y.reshape(spec.out_sizes + y.shape[1:])
    y = y.transpose((ndim + 1, ndim) + tuple(range(ndim)))                  # (N, C_out, *out)
    return add_bias(y, bias, spec), (cols, weight_matrices)


def backward_local(dy: np.ndarray, saved: tuple, spec: LocalSpec, need_input_grad: bool = True
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward_local` for upstream ``dy``."""
    cols, weight_matrices = saved
    ndim = spec.spatial_dims
    positions, _, batch = cols.shape
    # one small copy makes both products below plain BLAS calls
    dy_positions = np.ascontiguousarray(
        dy.reshape(batch, spec.out_channels, positions).transpose(2, 1, 0))  # (L, C_out, N)
    dweight = np.matmul(dy_positions, cols.transpose(0, 2, 1)).reshape(spec.weight_shape)
    dx = None
    if need_input_grad:
        dcols = np.matmul(weight_matrices.transpose(0, 2, 1), dy_positions)  # (L, CKK, N)
        # a view in col2im's block layout (C, *k, N, *out): col2im's reshape keeps it a
        # view, so its strided adds read dcols in place instead of after a transposing copy
        blocks = dcols.reshape(spec.out_sizes + (spec.input_shape[1],) + spec.kernel_size
                               + (batch,))
        blocks = blocks.transpose(tuple(range(ndim, 2 * ndim + 1)) + (2 * ndim + 1,)
                                  + tuple(range(ndim)))
        dx_padded = col2im(blocks, spec.padded_shape, spec.kernel_size, spec.stride,
                           spec.dilation, spec.out_sizes)
        dx = pad_backward(dx_padded, spec.input_shape, spec.padding, spec.padding_mode)
    return dx, dweight, bias_gradient(dy, spec)


# ---------------------------------------------------------------- tiled
def _tile_geometry(spec: LocalSpec):
    """For each tile: (tile index, output slices, padded-input offsets, output sizes, stride)."""
    tiled_stride = tuple(s * t for s, t in zip(spec.stride, spec.tiles))
    for tile in itertools.product(*(range(t) for t in spec.tiles)):
        sizes = tuple(len(range(a, n, t)) for a, n, t in zip(tile, spec.out_sizes, spec.tiles))
        if 0 in sizes:
            continue  # more tiles than output positions: this kernel set is never used
        out_slices = tuple(slice(a, None, t) for a, t in zip(tile, spec.tiles))
        in_slices = tuple(slice(a * s, None) for a, s in zip(tile, spec.stride))
        yield tile, out_slices, in_slices, sizes, tiled_stride


def forward_tiled(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                  spec: LocalSpec) -> tuple[np.ndarray, tuple]:
    """Tiled convolution forward, (N, C_in, *spatial) -> (N, C_out, *out_sizes): (y, saved)."""
    batch = x.shape[0]
    out_channels = spec.out_channels
    x_padded = pad(x, spec.padding, spec.padding_mode)
    y = np.empty((out_channels, batch) + spec.out_sizes, dtype=np.result_type(x, weight))
    tile_columns = []
    for tile, out_slices, in_slices, sizes, tiled_stride in _tile_geometry(spec):
        # the columns of the full im2col that belong to this tile's output positions
        cols = im2col(x_padded[(Ellipsis,) + in_slices], spec.kernel_size, tiled_stride,
                      spec.dilation, sizes)                                 # (CKK, N * P)
        weight_matrix = weight[tile].reshape(out_channels, -1)              # (C_out, CKK)
        y[(slice(None), slice(None)) + out_slices] = (weight_matrix @ cols).reshape(
            (out_channels, batch) + sizes)
        tile_columns.append(cols)
    y = np.moveaxis(y, 0, 1)                                                # (N, C_out, *out)
    return add_bias(y, bias, spec), (tile_columns, weight)


def backward_tiled(dy: np.ndarray, saved: tuple, spec: LocalSpec, need_input_grad: bool = True
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward_tiled` for upstream ``dy``."""
    tile_columns, weight = saved
    batch, out_channels = dy.shape[:2]
    dy_channels_first = np.moveaxis(dy, 1, 0)                               # (C_out, N, *out)
    dweight = np.zeros(spec.weight_shape, dtype=np.result_type(dy, weight))
    cols_rows = tile_columns[0].shape[0]
    dcols = np.empty((cols_rows, batch) + spec.out_sizes, dtype=dweight.dtype) \
        if need_input_grad else None
    for cols, (tile, out_slices, _, sizes, _) in zip(tile_columns, _tile_geometry(spec)):
        index = (slice(None), slice(None)) + out_slices
        dy_tile = dy_channels_first[index].reshape(out_channels, -1)        # (C_out, N * P)
        dweight[tile] = (dy_tile @ cols.T).reshape(spec.weight_shape[len(tile):])
        if need_input_grad:
            weight_matrix = weight[tile].reshape(out_channels, -1)
            dcols[index] = (weight_matrix.T @ dy_tile).reshape((cols_rows, batch) + sizes)
    dx = None
    if need_input_grad:
        dx_padded = col2im(dcols.reshape(cols_rows, -1), spec.padded_shape, spec.kernel_size,
                           spec.stride, spec.dilation, spec.out_sizes)
        dx = pad_backward(dx_padded, spec.input_shape, spec.padding, spec.padding_mode)
    return dx, dweight, bias_gradient(dy, spec)


def multiply_adds(spec: LocalSpec) -> int:
    """Multiply-accumulate count of the forward pass: that of the same-shaped convolution."""
    return math.prod(spec.output_shape) * spec.input_shape[1] * math.prod(spec.kernel_size)
