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

from ..batch_threads import run_parts, single_threaded_blas, split
from ..layout import to_first, to_last
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
    when ``x`` is channels-last already, else a new C-contiguous array. A large copy is
    split by images between threads (NumPy's copy releases the GIL)."""
    moved = to_last(x)
    if out is None and moved.flags.c_contiguous:
        return moved
    target = np.empty(moved.shape, dtype=x.dtype) if out is None else out

    def part(lo, hi):
        target[lo:hi] = moved[lo:hi]
    run_parts(part, split(x.shape[0], x.size // COPY_SPLIT))
    return target


COPY_SPLIT = 4   # a copy is split from 4 * MIN_PART_VALUES values a thread (1M in all)


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
    fill_border(to_first(image), spec.padding)  # the zero border, any layout
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


CHUNK_BYTES = 2 << 20     # column-matrix bytes a thread builds and multiplies at a time
WIDE_COLUMNS = 64         # from this column-matrix width the weight gradient is (cols^T dY)^T


def _chunk(batch: int, bytes_per_image: int) -> int:
    """Images per chunk: about CHUNK_BYTES of column matrix, at least one image."""
    return min(batch, max(1, CHUNK_BYTES // max(bytes_per_image, 1)))


def _run(part, batch: int, values: int) -> list[tuple[int, int]]:
    """``part(lo, hi)`` over the images split between threads (each with a one-thread
    BLAS: products of a few images each, side by side, beat one product on all cores
    between single-threaded copies); returns the ranges."""
    ranges = split(batch, values)
    if len(ranges) > 1:
        with single_threaded_blas():
            run_parts(part, ranges)
    else:
        run_parts(part, ranges)
    return ranges


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec) -> tuple[np.ndarray, tuple]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight``; returns ``(y, saved)``, ``y``
    of shape (N, C_out, *out_sizes) in channels-last memory.

    The images are split between threads; each builds the column matrix of a few images
    at a time (:data:`CHUNK_BYTES`) and multiplies it while it is still in cache. The
    matrix is never whole, and the backward pass rebuilds it from the padded image it
    saves (k_h * k_w times smaller).
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
    im2col = kernels.im2col_for(kh, runs, run, n * rows * width)
    pixels = image.reshape(-1, c) if _columns_are_pixels(spec) else None
    tied = spec.bias == "tied" and bias.dtype == y.dtype   # added to each block in cache

    def part(lo, hi):
        if pixels is not None:                    # 1x1, stride 1: the image is the matrix
            block = y[lo * rows:hi * rows]
            np.matmul(pixels[lo * rows:hi * rows], matrix.T, out=block)
            if tied:
                add_to_rows(block, bias)
            return
        chunk = _chunk(hi - lo, rows * width * x.dtype.itemsize)
        cols = np.empty((chunk * rows, width), dtype=x.dtype)
        for start in range(lo, hi, chunk):        # a few chunks, never one per image
            stop = min(hi, start + chunk)
            block = cols[:(stop - start) * rows]
            im2col(flat[start:stop], *geometry, block)
            out = y[start * rows:stop * rows]
            np.matmul(block, matrix.T, out=out)
            if tied:
                add_to_rows(out, bias)
    _run(part, n, n * rows * width)
    if tied:
        bias = None
    y = to_first(y.reshape((n,) + spec.out_sizes + (out_channels,)))
    return add_bias(y, bias, spec), (image, matrix)


def backward(dy: np.ndarray, saved: tuple, spec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy``.

    One pass over chunks of images (split between threads as in :func:`forward`): rebuild
    the chunk's columns, add its share of ``dW = dY.T @ cols`` (one sum per thread), and
    scatter ``dcols = dY @ Wm`` into the input gradient.
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
    flat = image.reshape(n, height, -1)
    im2col = kernels.im2col_for(*geometry[:3], n * rows * width)
    if need_input_grad:
        grad = np.empty(image.shape, dtype=dtype)
        grad_flat = grad.reshape(n, height, -1)
    sums, bias_sums = {}, {}                      # per thread, keyed by its first image
    tied = spec.bias == "tied"
    if _columns_are_pixels(spec):                 # 1x1, stride 1: the image is the matrix
        pixels = image.reshape(-1, in_channels)

        def part(lo, hi):
            block, dy_part = pixels[lo * rows:hi * rows], dy_rows[lo * rows:hi * rows]
            sums[lo] = (block.T @ dy_part).T if width >= WIDE_COLUMNS else dy_part.T @ block
            if tied:
                bias_sums[lo] = column_sums(dy_part)
            if need_input_grad:
                np.matmul(dy_part, matrix, out=grad.reshape(-1, in_channels)[lo * rows:hi * rows])
        return _finish_backward(dy, part, n, rows, width, sums, bias_sums,
                                grad if need_input_grad else None, spec, in_channels)

    def part(lo, hi):
        dweight = sums[lo] = np.zeros((out_channels, width), dtype=dtype)
        if tied:
            bias_sums[lo] = np.zeros(out_channels, dtype=dy_rows.dtype)
        chunk = _chunk(hi - lo, rows * width * dtype.itemsize)
        cols = np.empty((chunk * rows, width), dtype=image.dtype)
        dcols = np.empty((chunk * rows, width), dtype=dtype) if need_input_grad else None
        for start in range(lo, hi, chunk):        # a few chunks, never one per image
            stop = min(hi, start + chunk)
            block = cols[:(stop - start) * rows]
            dy_part = dy_rows[start * rows:stop * rows]
            im2col(flat[start:stop], *geometry, block)
            if tied:
                bias_sums[lo] += column_sums(dy_part)
            # dW = dY^T cols: OpenBLAS runs the product faster as (cols^T dY)^T once the
            # column matrix is 64 or more wide (1.8x for 144 x 16), slower for narrow ones
            dweight += (block.T @ dy_part).T if width >= WIDE_COLUMNS else dy_part.T @ block
            if need_input_grad:
                dcols_block = dcols[:(stop - start) * rows]
                np.matmul(dy_part, matrix, out=dcols_block)
                kernels.col2im(dcols_block, *geometry, grad_flat[start:stop])
    return _finish_backward(dy, part, n, rows, width, sums, bias_sums,
                            grad if need_input_grad else None, spec, in_channels)


def _finish_backward(dy, part, n, rows, width, sums, bias_sums, grad, spec, in_channels):
    """Run the backward ``part`` over the threads, add the threads' weight (and tied bias)
    gradients in image order and shape the three gradients."""
    ranges = _run(part, n, n * rows * width)
    dweight = sums[ranges[0][0]]
    for lo, _ in ranges[1:]:
        dweight += sums[lo]
    dweight = dweight.reshape((dweight.shape[0],) + spec.kernel_size + (in_channels,))
    dweight = np.ascontiguousarray(np.moveaxis(dweight, -1, 1))
    if spec.bias == "tied":
        dbias = bias_sums[ranges[0][0]]
        for lo, _ in ranges[1:]:
            dbias += bias_sums[lo]
    else:
        dbias = bias_gradient(dy, spec)
    dx = None
    if grad is not None:
        padded = grad.reshape((n,) + spec.padded_shape[2:] + (in_channels,))
        dx = pad_backward(to_first(padded), spec.input_shape, spec.padding,
                          spec.padding_mode)
    return dx, dweight, dbias


def _columns_are_pixels(spec) -> bool:
    """A 1x1 kernel at stride 1: the column matrix is the (padded) channels-last image."""
    return all(k == 1 for k in spec.kernel_size) and all(s == 1 for s in spec.stride)
