"""Convolution computed in channels-last memory (a fast backend of :mod:`convnet.ops.conv`).

Same maths as :mod:`convnet.ops.conv.reference`, other memory order. The padded input is held as
(N, H, W, C), so each window row is one contiguous run of ``k_w * C`` floats, and the
column matrix is (positions, filter elements) with the filter elements in (i, j, c)
order::

    cols  (N*H_out*W_out, k_h*k_w*C)      compiled copy, kernels.im2col
    Y     = cols @ Wm.T                    (positions, C_out): channels-last output
    dW    = dY.T @ cols                    (C_out, k_h*k_w*C) -> (C_out, C, k_h, k_w)
    dcols = dY @ Wm                        -> kernels.col2im -> dx

with ``Wm`` the weight as (C_out, k_h*k_w*C). The column matrix is never whole: it is
built a few images at a time (about :data:`CHUNK_BYTES`), each chunk multiplied while it
is still in cache, and the backward pass rebuilds it from the padded image it saved
(k_h * k_w times smaller), in one pass that also adds the chunk's share of dW and
scatters its share of dx. Memory of a step: the layers' inputs, not their column
matrices (LeNet on a batch of 128: 26 MiB instead of 42 MiB).

The output is returned as an (N, C_out, H_out, W_out) array whose memory is
channels-last (a transposed view, like PyTorch's ``channels_last`` memory format), so
the next convolution, ReLU or pooling reads it without a copy. 1-D convolutions run as
2-D ones of height 1.

Used for 1-D and 2-D convolutions with ``groups == 1`` and one floating dtype for input
and weight, when numba is importable (:func:`supported`); everything else takes the
reference (:mod:`convnet.ops.conv.reference`).

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 2, 2), np.float32)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, stride=2)
    >>> y, saved = forward(x, w, None, spec)
    >>> y.tolist()
    [[[[10.0, 18.0], [42.0, 50.0]]]]
"""

from __future__ import annotations

import numpy as np

from ..batch_threads import run_parts, split
from ..padding import fill_border, pad, pad_backward
from . import kernels
from .bias import add_bias, bias_gradient

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def supports(spec, x: np.ndarray, weight: np.ndarray) -> bool:
    """True when :func:`forward` can compute this convolution."""
    return (spec.groups == 1 and len(spec.kernel_size) in (1, 2)
            and x.dtype == weight.dtype and x.dtype in _FLOATS and x.size > 0)


def _as_2d(values: tuple[int, ...], fill: int) -> tuple[int, int]:
    return (fill,) * (2 - len(values)) + tuple(values)


def _geometry(spec, channels: int) -> tuple[int, ...]:
    """The kernels' geometry ints (see :mod:`convnet.ops.conv.kernels`)."""
    kh, kw = _as_2d(spec.kernel_size, 1)
    sh, sw = _as_2d(spec.stride, 1)
    dh, dw = _as_2d(spec.dilation, 1)
    out_h, out_w = _as_2d(spec.out_sizes, 1)
    if dw == 1:                       # a window row is one run of kw * C floats
        runs, run = 1, kw * channels
    else:
        runs, run = kw, channels
    return kh, runs, run, sh, sw * channels, dh, dw * channels, out_h, out_w


def channels_last(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x`` (N, C, *spatial) as a channels-last (N, *spatial, C) array: written into
    ``out`` when given (any strides, e.g. the interior of a padded image), else a view
    when ``x`` is channels-last already, else a new C-contiguous array."""
    moved = np.moveaxis(x, 1, -1)
    if out is None and moved.flags.c_contiguous:
        return moved
    plane_bytes = x[0, 0].nbytes
    if x.flags.c_contiguous and x.shape[1] > 1 and plane_bytes % 4096 == 0:
        target = out if out is not None and out.flags.c_contiguous else np.empty(
            moved.shape, dtype=x.dtype)
        kernels.to_channels_last(x.reshape(x.shape[0], x.shape[1], -1),
                                      target.reshape(x.shape[0], -1, x.shape[1]))
        if out is None or out is target:
            return target
        moved = target
    if out is None:
        return np.ascontiguousarray(moved)
    out[...] = moved
    return out


def padded_channels_last(x: np.ndarray, spec) -> np.ndarray:
    """``x`` (N, C, *spatial) padded as ``spec`` says, as a C-contiguous (N, H_p, W_p, C)
    array (1-D: H_p = 1). No copy when ``x`` is already channels-last and unpadded."""
    n, c = x.shape[:2]
    padded = tuple(size + b + a for size, (b, a) in zip(x.shape[2:], spec.padding))
    shape = (n,) + _as_2d(padded, 1) + (c,)
    if not any(b or a for b, a in spec.padding):
        return channels_last(x).reshape(shape)
    if spec.padding_mode != "zeros":
        return channels_last(pad(x, spec.padding, spec.padding_mode)).reshape(shape)
    image = np.empty(shape[:1] + tuple(padded) + (c,), dtype=x.dtype)
    fill_border(np.moveaxis(image, -1, 1), spec.padding)  # the zero border, any layout
    inner = tuple(slice(b, b + size) for size, (b, _) in zip(x.shape[2:], spec.padding))
    channels_last(x, out=image[(slice(None),) + inner])
    return image.reshape(shape)


def _row_block(m: int, c: int) -> int:
    """Rows taken together so that an (M, C) array is read as (M/k, k*C): long inner loops."""
    return next((k for k in (64, 32, 16, 8, 4, 2) if m % k == 0 and k * c <= 1024), 1)


def column_sums(rows: np.ndarray) -> np.ndarray:
    """``rows.sum(axis=0)`` for a C-contiguous (M, C) array, much faster for few columns.

    NumPy sums axis 0 one row at a time (a C-long inner loop per row); reading the rows in
    blocks of k (an (M/k, k*C) view) gives long inner loops, then k partial sums are
    added. The partial sums also make the float32 result more accurate, not less.
    """
    m, c = rows.shape
    k = _row_block(m, c)
    return rows.reshape(m // k, k * c).sum(axis=0).reshape(k, c).sum(axis=0)


def add_to_rows(rows: np.ndarray, vector: np.ndarray) -> None:
    """``rows += vector`` in place for a C-contiguous (M, C) array, in row blocks."""
    m, c = rows.shape
    k = _row_block(m, c)
    block = rows.reshape(m // k, k * c)
    block += np.tile(vector, k)


def weight_matrix(weight: np.ndarray) -> np.ndarray:
    """(C_out, C, *k) -> (C_out, prod(k) * C), filter elements in (i, j, c) order."""
    return np.ascontiguousarray(np.moveaxis(weight, 1, -1)).reshape(weight.shape[0], -1)


CHUNK_BYTES = 4 << 20     # column-matrix rows built and used this many bytes at a time
WIDE_COLUMNS = 64         # from this column-matrix width the weight gradient is (cols^T dY)^T


def _parallel(kernel, source, geometry, target, rows: int, columns_first: bool = False):
    """``kernel(source, *geometry, target)`` with the images split between threads
    (:mod:`..batch_threads`); the column matrix (``target``, or ``source`` when
    ``columns_first``) has ``rows`` rows an image."""
    cols = source if columns_first else target
    images = cols.shape[0] // rows

    def part(lo, hi):
        block = slice(lo * rows, hi * rows)
        if columns_first:
            kernel(source[block], *geometry, target[lo:hi])
        else:
            kernel(source[lo:hi], *geometry, target[block])
    run_parts(part, split(images, cols.size))


def _chunk(batch: int, bytes_per_image: int) -> int:
    """Images per chunk: about CHUNK_BYTES of column matrix, at least one image."""
    return min(batch, max(1, CHUNK_BYTES // max(bytes_per_image, 1)))


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec) -> tuple[np.ndarray, tuple]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight``; returns ``(y, saved)``, ``y``
    of shape (N, C_out, *out_sizes) in channels-last memory.

    The column matrix is built a few images at a time (:data:`CHUNK_BYTES`) and each
    chunk multiplied while it is still in cache; it is never whole, and the backward
    pass rebuilds it from the padded image it saves (k_h * k_w times smaller).
    """
    n, c = x.shape[:2]
    out_channels = weight.shape[0]
    image = padded_channels_last(x, spec)
    geometry = _geometry(spec, c)
    kh, runs, run, *_ , out_h, out_w = geometry
    rows, width = out_h * out_w, kh * runs * run
    flat = image.reshape(n, image.shape[1], -1)
    matrix = weight_matrix(weight)
    y = np.empty((n * rows, out_channels), dtype=x.dtype)        # (positions, C_out)
    chunk = _chunk(n, rows * width * x.dtype.itemsize)
    cols = np.empty((chunk * rows, width), dtype=x.dtype)
    im2col = kernels.im2col_for(kh, runs, run, n * rows * width)
    for start in range(0, n, chunk):              # a few chunks, never one per image
        stop = min(n, start + chunk)
        part = cols[:(stop - start) * rows]
        _parallel(im2col, flat[start:stop], geometry, part, rows)
        np.matmul(part, matrix.T, out=y[start * rows:stop * rows])
    if spec.bias == "tied" and bias.dtype == y.dtype:
        add_to_rows(y, bias)
        bias = None
    y = np.moveaxis(y.reshape((n,) + spec.out_sizes + (out_channels,)), -1, 1)
    return add_bias(y, bias, spec), (image, matrix)


def backward(dy: np.ndarray, saved: tuple, spec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy``.

    One pass over chunks of images: rebuild the chunk's columns, add its share of
    ``dW = dY.T @ cols``, and scatter ``dcols = dY @ Wm`` into the input gradient.
    """
    image, matrix = saved
    n, height = image.shape[:2]
    out_channels, width = matrix.shape
    in_channels = image.shape[-1]
    geometry = _geometry(spec, in_channels)
    # (N, C_out, *out) -> (positions, C_out): free when dy is channels-last already
    dy_rows = channels_last(dy).reshape(-1, out_channels)
    rows = dy_rows.shape[0] // n
    dtype = np.result_type(dy_rows, matrix)
    dweight = np.zeros((out_channels, width), dtype=dtype)
    chunk = _chunk(n, rows * width * dtype.itemsize)
    cols = np.empty((chunk * rows, width), dtype=image.dtype)
    flat = image.reshape(n, height, -1)
    im2col = kernels.im2col_for(*geometry[:3], n * rows * width)
    if need_input_grad:
        dcols = np.empty((chunk * rows, width), dtype=dtype)
        grad = np.empty(image.shape, dtype=dtype)
        grad_flat = grad.reshape(n, height, -1)
    for start in range(0, n, chunk):              # a few chunks, never one per image
        stop = min(n, start + chunk)
        part = cols[:(stop - start) * rows]
        dy_part = dy_rows[start * rows:stop * rows]
        _parallel(im2col, flat[start:stop], geometry, part, rows)
        # dW = dY^T cols: OpenBLAS runs the product faster as (cols^T dY)^T once the column
        # matrix is 64 or more wide (1.8x for 144 x 16), slower for narrow first layers
        dweight += (part.T @ dy_part).T if width >= WIDE_COLUMNS else dy_part.T @ part
        if need_input_grad:
            dcols_part = dcols[:(stop - start) * rows]
            np.matmul(dy_part, matrix, out=dcols_part)
            _parallel(kernels.col2im, dcols_part, geometry, grad_flat[start:stop], rows,
                      columns_first=True)
    dweight = dweight.reshape((out_channels,) + spec.kernel_size + (in_channels,))
    dweight = np.ascontiguousarray(np.moveaxis(dweight, -1, 1))
    dbias = column_sums(dy_rows) if spec.bias == "tied" else bias_gradient(dy, spec)
    dx = None
    if need_input_grad:
        padded = grad.reshape((n,) + spec.padded_shape[2:] + (in_channels,))
        dx = pad_backward(np.moveaxis(padded, -1, 1), spec.input_shape, spec.padding,
                          spec.padding_mode)
    return dx, dweight, dbias
