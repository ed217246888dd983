"""Compiled 2-D max pooling (numba) that keeps the input's memory layout.

The general kernels of :mod:`.kernels` walk one (n, c) plane at a time,
which suits channel-major (NCHW) memory. A convolution's output is channels-last
(:mod:`convnet.ops.conv.channels_last`), where one plane is scattered over memory with a
stride of C values; these kernels then walk output positions and take the maximum of
whole contiguous channel vectors at once, and write the output, the winners and the
input gradient channels-last too, so the next convolution reads them without a copy.

Semantics are those of :mod:`.reference`: window cells outside the
input are skipped (padding with -inf), the first maximum in row-major window order wins,
a NaN wins over numbers, ``winner`` holds the flat window offset. Winners are int8 for
windows of up to 127 cells (int16 / int32 above): a quarter of the memory of int64.

Example:
    >>> import numpy as np
    >>> x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    >>> out, winner = max_forward(np.moveaxis(np.moveaxis(x, 1, -1).copy(), -1, 1),
    ...                           (2, 2), (2, 2), (1, 1), (0, 0), (2, 2))
    >>> out[0, 1].tolist(), int(winner[0, 0, 0, 0]), np.moveaxis(out, 1, -1).flags.c_contiguous
    ([[21.0, 23.0], [29.0, 31.0]], 3, True)
"""

from __future__ import annotations

import numpy as np

from numba import njit

from ..batch_threads import run_parts, split
from .kernels import winner_dtype


def is_channels_last(x: np.ndarray) -> bool:
    """True when ``x`` (N, C, H, W) has the channel as its fastest-varying axis."""
    return x.shape[1] > 1 and abs(x.strides[1]) < min(abs(x.strides[2]), abs(x.strides[3]))


def _forward_channels_last_py(x, kh, kw, sh, sw, dh, dw, ph, pw, a0, a1, b0, b1, out, winner):
    """x (N, H, W, C), out and winner (N, H_out, W_out, C), any strides. Outputs with
    a0 <= a < a1 and b0 <= b < b1 (done by a specialised kernel) are skipped."""
    batch, height, width, channels = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for row in range(batch * out_h):
        n = row // out_h
        a = row % out_h
        inner_row = a0 <= a < a1
        for b in range(out_w):
            if inner_row and b0 <= b < b1:
                continue
            best = out[n, a, b]
            win = winner[n, a, b]
            for c in range(channels):
                best[c] = -np.inf
                win[c] = -1
            index = 0
            for i in range(kh):
                y = a * sh - ph + i * dh
                for j in range(kw):
                    xx = b * sw - pw + j * dw
                    if 0 <= y < height and 0 <= xx < width:
                        values = x[n, y, xx]
                        for c in range(channels):
                            value = values[c]
                            if win[c] < 0 or value > best[c] or value != value:
                                best[c] = value
                                win[c] = index
                    index += 1


def _backward_channels_last_py(dy, winner, kw, sh, sw, dh, dw, ph, pw, grad):
    """dy and winner (N, H_out, W_out, C), grad (N, H, W, C) zeroed; any strides."""
    batch, out_h, out_w, channels = dy.shape
    for n in range(batch):
        for a in range(out_h):
            for b in range(out_w):
                for c in range(channels):
                    index = winner[n, a, b, c]
                    i = index // kw
                    j = index % kw
                    grad[n, a * sh - ph + i * dh, b * sw - pw + j * dw, c] += dy[n, a, b, c]


def _first_inside(start, dilation, size, kernel):
    """(lo, hi): the window cells ``lo <= i < hi`` with ``0 <= start + i*dilation < size``."""
    lo = 0 if start >= 0 else (-start + dilation - 1) // dilation
    hi = 0 if start >= size else min(kernel, (size - start + dilation - 1) // dilation)
    return lo, max(lo, hi)


def _forward_planes_py(x, kh, kw, sh, sw, dh, dw, ph, pw, a0, a1, b0, b1, out, winner):
    """x, out, winner (N, C, H, W) with any strides; one (n, c) plane per task, the
    window clipped to the input once per output. Outputs with a0 <= a < a1 and
    b0 <= b < b1 (windows wholly inside, done by a specialised kernel) are skipped."""
    batch, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for plane in range(batch * channels):
        n = plane // channels
        ch = plane % channels
        source = x[n, ch]
        for a in range(out_h):
            top = a * sh - ph
            i_lo, i_hi = _first_inside(top, dh, height, kh)
            inner_row = a0 <= a < a1
            for b in range(out_w):
                if inner_row and b0 <= b < b1:
                    continue
                left = b * sw - pw
                j_lo, j_hi = _first_inside(left, dw, width, kw)
                best = -np.inf
                best_index = -1
                for i in range(i_lo, i_hi):
                    row = source[top + i * dh]
                    for j in range(j_lo, j_hi):
                        value = row[left + j * dw]
                        if best_index < 0 or value > best or value != value:
                            best = value
                            best_index = i * kw + j
                out[n, ch, a, b] = best
                winner[n, ch, a, b] = best_index


_INTERIOR_KERNELS = {}
SPECIALISE_MIN_OUTPUTS = 1 << 13   # fewer inside windows: the general kernel (a compile,
                                   # about 0.5 s, would cost more than it saves)


def _interior_kernel(kh: int, kw: int, sh: int, sw: int):
    """A forward kernel for windows wholly inside the input, compiled for one kernel size
    and stride: with the loop bounds and stride known to the compiler it unrolls the
    window (about 10x faster than the general kernel). It takes the whole arrays and the
    offsets of the first inside window (input row ``top``, column ``left``; output
    ``a0``, ``b0``) and computes ``out_h`` x ``out_w`` outputs."""
    key = (kh, kw, sh, sw)
    if key not in _INTERIOR_KERNELS:
        def kernel(x, out, winner, top, left, a0, b0, out_h, out_w):
            batch, channels = out.shape[0], out.shape[1]
            for plane in range(batch * channels):
                n = plane // channels
                ch = plane % channels
                source = x[n, ch]
                for a in range(out_h):
                    y = top + a * sh
                    best_row = out[n, ch, a0 + a]
                    win_row = winner[n, ch, a0 + a]
                    for b in range(out_w):
                        x0 = left + b * sw
                        best = source[y, x0]
                        best_index = 0
                        for i in range(kh):
                            for j in range(kw):
                                value = source[y + i, x0 + j]
                                if value > best or value != value:
                                    best = value
                                    best_index = i * kw + j
                        best_row[b0 + b] = best
                        win_row[b0 + b] = best_index
        _INTERIOR_KERNELS[key] = njit(cache=True, nogil=True)(kernel)
    return _INTERIOR_KERNELS[key]


_LAST_KERNELS = {}


def _interior_kernel_last(kh: int, kw: int, sh: int, sw: int):
    """:func:`_interior_kernel` for channels-last memory: the window's cells outside, the
    contiguous channels inside, each update a branch-free select (the same winner rule:
    a larger value, or a NaN, takes over). The arrays are whole and C-contiguous, so numba
    compiles the channel loop without strides (a slice from the first inside window is
    not, and was several times slower: docs/performance.md)."""
    key = (kh, kw, sh, sw)
    if key not in _LAST_KERNELS:
        def kernel(x, out, winner, top, left, a0, b0, out_h, out_w):
            # x (N, H, W, C); out, winner (N, A, B, C)
            batch, channels = out.shape[0], out.shape[3]
            for row in range(batch * out_h):
                n = row // out_h
                a = row % out_h
                y = top + a * sh
                for b in range(out_w):
                    x0 = left + b * sw
                    best = out[n, a0 + a, b0 + b]
                    win = winner[n, a0 + a, b0 + b]
                    first = x[n, y, x0]
                    for c in range(channels):
                        best[c] = first[c]
                        win[c] = 0
                    for i in range(kh):
                        for j in range(kw):
                            if i + j == 0:
                                continue
                            values = x[n, y + i, x0 + j]
                            index = i * kw + j
                            for c in range(channels):
                                value = values[c]
                                take = value > best[c] or value != value
                                best[c] = value if take else best[c]
                                win[c] = index if take else win[c]
        _LAST_KERNELS[key] = njit(cache=True, nogil=True)(kernel)
    return _LAST_KERNELS[key]


def _inside_range(out_size: int, size: int, kernel: int, stride: int, dilation: int,
                  before: int) -> tuple[int, int]:
    """Outputs ``lo <= o < hi`` whose window lies wholly inside an input of ``size``."""
    lo = -(-before // stride)
    hi = min(out_size, (size - 1 - (kernel - 1) * dilation + before) // stride + 1)
    return lo, max(lo, hi)


def _specialised_inside(shape, kernel_size, stride, dilation, before, out_sizes):
    """``(a0, a1, b0, b1)``: the outputs whose windows lie wholly inside an input of
    ``shape`` (N, C, H, W), when a kernel compiled for their size and stride pays off
    (undilated windows of up to 25 cells, at least SPECIALISE_MIN_OUTPUTS of them); else None."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = kernel_size, stride, dilation, before
    a0, a1 = _inside_range(out_sizes[0], shape[2], kh, sh, dh, ph)
    b0, b1 = _inside_range(out_sizes[1], shape[3], kw, sw, dw, pw)
    count = (a1 - a0) * (b1 - b0) * shape[0] * shape[1]
    if dh == dw == 1 and kh * kw <= 25 and count >= SPECIALISE_MIN_OUTPUTS:
        return a0, a1, b0, b1
    return None


def _backward_planes_py(dy, winner, kw, sh, sw, dh, dw, ph, pw, grad):
    """dy, winner (N, C, H_out, W_out), grad (N, C, H, W) overwritten: each output's
    gradient added at its window's winner (windows may overlap), one plane at a time."""
    batch, channels, out_h, out_w = dy.shape
    for plane in range(batch * channels):
        n = plane // channels
        ch = plane % channels
        target = grad[n, ch]
        for y in range(target.shape[0]):
            for x in range(target.shape[1]):
                target[y, x] = 0
        for a in range(out_h):
            for b in range(out_w):
                index = winner[n, ch, a, b]
                i = index // kw
                j = index % kw
                target[a * sh - ph + i * dh, b * sw - pw + j * dw] += dy[n, ch, a, b]


def _backward_tiles_last_py(dy, winner, kh, kw, grad):
    """:func:`_backward_tiles_py` for channels-last memory: dy, winner (N, H_out, W_out, C),
    grad (N, H, W, C); each input pixel's channel vector written once, branch-free."""
    batch, out_h, out_w, channels = dy.shape
    for n in range(batch):
        for a in range(out_h):
            for i in range(kh):
                for b in range(out_w):
                    source = dy[n, a, b]
                    win = winner[n, a, b]
                    for j in range(kw):
                        target = grad[n, a * kh + i, b * kw + j]
                        index = i * kw + j
                        for c in range(channels):
                            target[c] = source[c] if win[c] == index else 0


def _backward_tiles_py(dy, winner, kh, kw, grad):
    """Windows that tile the input exactly (stride == kernel, no dilation or padding,
    nothing left over): every input cell is written once, the winner's with its output
    gradient, the others with 0, so ``grad`` needs no zeroing pass."""
    batch, channels, out_h, out_w = dy.shape
    for plane in range(batch * channels):
        n = plane // channels
        ch = plane % channels
        for a in range(out_h):
            for i in range(kh):
                row = grad[n, ch, a * kh + i]
                for b in range(out_w):
                    index = winner[n, ch, a, b]
                    value = dy[n, ch, a, b]
                    for j in range(kw):
                        row[b * kw + j] = value if i * kw + j == index else 0


_first_inside = njit(inline="always")(_first_inside)
_forward_planes = njit(cache=True, nogil=True)(_forward_planes_py)
_backward_tiles = njit(cache=True, nogil=True)(_backward_tiles_py)
_backward_tiles_last = njit(cache=True, nogil=True)(_backward_tiles_last_py)
_backward_planes = njit(cache=True, nogil=True)(_backward_planes_py)
_forward_channels_last = njit(cache=True, nogil=True)(_forward_channels_last_py)
_backward_channels_last = njit(cache=True, nogil=True)(_backward_channels_last_py)


def _last(array: np.ndarray) -> np.ndarray:
    """(N, C, H, W) view -> (N, H, W, C) view."""
    return array.transpose(0, 2, 3, 1)


def _first(array: np.ndarray) -> np.ndarray:
    """(N, H, W, C) view -> (N, C, H, W) view."""
    return array.transpose(0, 3, 1, 2)


def max_forward(x, kernel_size, stride, dilation, before, out_sizes):
    """(maxima, winners), each (N, C, *out_sizes) in channels-last memory, for a
    channels-last ``x`` (N, C, H, W); ``before`` is the implicit padding of each dim."""
    batch, channels = x.shape[:2]
    shape = (batch,) + tuple(out_sizes) + (channels,)
    out = np.empty(shape, dtype=x.dtype)
    winner = np.empty(shape, dtype=winner_dtype(kernel_size))
    _fill(_last(x), out, winner, x.shape, _interior_kernel_last, _forward_channels_last,
          kernel_size, stride, dilation, before, out_sizes)
    return _first(out), _first(winner)


def max_forward_planes(x, kernel_size, stride, dilation, before, out_sizes):
    """:func:`max_forward` for channel-major ``x`` (N, C, H, W): results channel-major."""
    shape = x.shape[:2] + tuple(out_sizes)
    out = np.empty(shape, dtype=x.dtype)
    winner = np.empty(shape, dtype=winner_dtype(kernel_size))
    _fill(x, out, winner, x.shape, _interior_kernel, _forward_planes, kernel_size, stride,
          dilation, before, out_sizes)
    return out, winner


def _fill(source, out, winner, shape, interior_for, border, kernel_size, stride, dilation,
          before, out_sizes):
    """Write ``out`` and ``winner`` (laid out as ``source``; ``shape`` the input's
    (N, C, H, W)): windows wholly inside the input by a kernel compiled for this kernel size
    and stride (``interior_for``; undilated windows of up to 25 cells, at least
    :data:`SPECIALISE_MIN_OUTPUTS` of them), the others by the general ``border`` kernel,
    the images split between threads."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, before
    inside = _specialised_inside(shape, kernel_size, stride, dilation, before, out_sizes)
    if inside is not None:
        a0, a1, b0, b1 = inside
        interior = interior_for(kh, kw, sh, sw)
        _in_parts(lambda lo, hi: interior(source[lo:hi], out[lo:hi], winner[lo:hi],
                                          a0 * sh - ph, b0 * sw - pw, a0, b0, a1 - a0, b1 - b0),
                  source)
        if inside == (0, out_sizes[0], 0, out_sizes[1]):
            return                                      # no window reaches the border
    else:
        a0 = a1 = b0 = b1 = 0
    _in_parts(lambda lo, hi: border(source[lo:hi], kh, kw, sh, sw, *dilation, ph, pw, a0, a1,
                                    b0, b1, out[lo:hi], winner[lo:hi]), source)


def tiles_exactly(input_shape, kernel_size, stride, dilation, before) -> bool:
    """True when the windows cover each input cell exactly once."""
    return (tuple(stride) == tuple(kernel_size) and set(dilation) == {1} and not any(before)
            and all(size % k == 0 for size, k in zip(input_shape[2:], kernel_size)))


def max_backward_planes(dy, winner, input_shape, kernel_size, stride, dilation, before):
    """Input gradient (channel-major) of :func:`max_forward_planes`; windows that tile the
    input exactly (:func:`tiles_exactly`) write every cell once, with no zeroing pass."""
    grad = np.empty(input_shape, dtype=dy.dtype)
    if tiles_exactly(input_shape, kernel_size, stride, dilation, before):
        _in_parts(lambda lo, hi: _backward_tiles(dy[lo:hi], winner[lo:hi], *kernel_size,
                                                 grad[lo:hi]), grad)
    else:
        _in_parts(lambda lo, hi: _backward_planes(dy[lo:hi], winner[lo:hi], kernel_size[1],
                                                  *stride, *dilation, *before, grad[lo:hi]),
                  grad)
    return grad


def max_backward(dy, winner, input_shape, kernel_size, stride, dilation, before):
    """Input gradient (channels-last memory, logical shape ``input_shape``) of
    :func:`max_forward`: each output's gradient added at its window's maximum."""
    batch, channels = input_shape[:2]
    grad = np.empty((batch,) + tuple(input_shape[2:]) + (channels,), dtype=dy.dtype)
    if channels >= 8 and tiles_exactly(input_shape, kernel_size, stride, dilation, before):
        # every input cell written once; with fewer than 8 channels the inner loop is too
        # short and the scatter below is faster (docs/performance.md)
        rows, wins = _last(dy), _last(winner)
        _in_parts(lambda lo, hi: _backward_tiles_last(rows[lo:hi], wins[lo:hi], *kernel_size,
                                                      grad[lo:hi]), grad)
        return _first(grad)

    def part(lo, hi):
        grad[lo:hi] = 0
        _backward_channels_last(_last(dy)[lo:hi], _last(winner)[lo:hi], kernel_size[1],
                                *stride, *dilation, *before, grad[lo:hi])
    _in_parts(part, grad)
    return _first(grad)


POOL_SPLIT = 4   # pooling is split from 4 * MIN_PART_VALUES values a part (1M in all;
                 # measured in docs/performance.md)


def _in_parts(kernel, array: np.ndarray) -> None:
    """``kernel(lo, hi)`` over the images of ``array`` (N, ...: the pooling's input, or its
    gradient), split between threads."""
    run_parts(kernel, split(array.shape[0], array.size // POOL_SPLIT))
