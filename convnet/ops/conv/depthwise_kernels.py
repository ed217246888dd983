"""Compiled depthwise convolution (numba): the kernels behind :mod:`convnet.ops.conv.depthwise`.

A depthwise output is ``k_h * k_w`` multiply-adds, too few for a loop over the taps to pay
for itself: a compiler vectorises only the innermost loop, and nine passes over an output
row run at half the speed of one (measured in docs/performance.md). So the forward pass of
each filter geometry ``(k_h, k_w, stride, dilation)`` gets its own source
(:func:`forward_source`), every tap a term of one expression and every weight a local,
compiled by numba on first use (:func:`forward_kernel`); the innermost loop runs along an
image row (channels-first planes) or along the channels (channels-last), where the values
are contiguous. The filter gradient sums over the whole batch, so its loop over the taps is
cheap next to its loop over the images: one compiled function per layout serves every
geometry.

Each image (channels-last) or plane (channels-first) is first copied into a zeroed scratch
buffer at offset ``(top, left)`` (the padding before the first row and column), so no tap
tests a bound; a negative offset drops leading rows or columns. With one stride ``st`` for
both axes and ``s`` the scratch buffer:

- forward: ``y[oy, ox] = bias + sum_ij w[i, j] * s[oy * st + i * dy, ox * st + j * dx]``;
- filter gradient: ``gw[i, j] += sum_(oy, ox) g[oy, ox] * s[...]`` over the same taps;
- the input gradient is the stride-1 forward pass of the flipped filters over the
  (stride-dilated) output gradient (:mod:`.depthwise`).

Channels-first arrays are planes ``(N * C, H, W)`` with filters ``(C, k_h, k_w)``;
channels-last arrays are ``(N, H, W, C)`` with filters ``(k_h, k_w, C)``. Kernels do the
planes or images ``lo <= p < hi`` and release the GIL (:mod:`convnet.ops.batch_threads`).

Example (a 3x3 box filter on a 3x3 image of ones, zero padding 1: corner 4, centre 9):
    >>> import numpy as np
    >>> forward = forward_kernel("nchw", (3, 3), 1, (1, 1))
    >>> x = np.ones((1, 3, 3), np.float32); w = np.ones((1, 3, 3), np.float32)
    >>> y = np.empty((1, 3, 3), np.float32)
    >>> forward(x, w, np.zeros(1, np.float32), y, 1, 1, 0, 1)
    >>> y[0].tolist()
    [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

MAX_TAPS = 49          # filters up to 7x7 get a kernel; larger ones go to other backends
LAYOUTS = ("nchw", "nhwc")

# The forward source, with {placeholders} filled per geometry. Indices start from 0 in row
# views: a computed index may be negative to the compiler, whose wrap-around test then keeps
# the loop from being vectorised (2x slower, measured).
_FORWARD = {
    "nchw": """
def forward(x, w, bias, y, top, left, lo, hi):
    height, width = x.shape[1], x.shape[2]
    out_h, out_w = y.shape[1], y.shape[2]
    channels = w.shape[0]
    rows = max(height + top, (out_h - 1) * {st} + {span_y})
    cols = max(width + left, (out_w - 1) * {st} + {span_x})
    s = np.zeros((rows, cols), x.dtype)
    first = max(0, -left)
    count = max(0, min(width, cols - left) - first)
    for p in range(lo, hi):
        c = p % channels
        for iy in range(max(0, -top), min(height, rows - top)):
            target, source = s[iy + top, left + first:], x[p, iy, first:]
            for k in range(count):
                target[k] = source[k]
{weights}
        b = bias[c]
        for oy in range(out_h):
{rows}
            out = y[p, oy]
            for ox in range(out_w):
                out[ox] = b + {terms}
""",
    "nhwc": """
def forward(x, w, bias, y, top, left, lo, hi):
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    out_h, out_w = y.shape[1], y.shape[2]
    rows = max(height + top, (out_h - 1) * {st} + {span_y})
    cols = max(width + left, (out_w - 1) * {st} + {span_x})
    s = np.zeros((rows, cols, channels), x.dtype)
    first = max(0, -left)
    count = max(0, min(width, cols - left) - first)
    for p in range(lo, hi):
        for iy in range(max(0, -top), min(height, rows - top)):
            target, source = s[iy + top, left + first:], x[p, iy, first:]
            for k in range(count):
                for c in range(channels):
                    target[k, c] = source[k, c]
        for oy in range(out_h):
{rows}
            for ox in range(out_w):
                out = y[p, oy, ox]
                for c in range(channels):
                    out[c] = bias[c] + {terms}
""",
}


def forward_source(layout: str, kernel_size, stride: int, dilation) -> str:
    """The Python source of the forward kernel of one geometry (see the module docstring).

    Example:
        >>> print(forward_source("nchw", (1, 2), 2, (1, 1)).splitlines()[-1].strip())
        out[ox] = b + w_0_0 * r_0[ox * 2 + 0] + w_0_1 * r_0[ox * 2 + 1]
    """
    (kh, kw), (dy, dx) = kernel_size, dilation
    taps = [(i, j) for i in range(kh) for j in range(kw)]
    if layout == "nchw":
        terms = [f"w_{i}_{j} * r_{i}[ox * {stride} + {j * dx}]" for i, j in taps]
    else:
        terms = [f"w[{i}, {j}, c] * r_{i}[ox * {stride} + {j * dx}, c]" for i, j in taps]
    return _FORWARD[layout].format(
        st=stride, span_y=(kh - 1) * dy + 1, span_x=(kw - 1) * dx + 1,
        weights="\n".join(f"        w_{i}_{j} = w[c, {i}, {j}]" for i, j in taps),
        rows="\n".join(f"            r_{i} = s[oy * {stride} + {i * dy}]" for i in range(kh)),
        terms=" + ".join(terms))


@functools.lru_cache(maxsize=None)
def forward_kernel(layout: str, kernel_size, stride: int, dilation):
    """The compiled forward kernel of one geometry (compiled on its first call, then kept)."""
    if layout not in LAYOUTS:
        raise ValueError(f"forward_kernel: expected a layout in {LAYOUTS}, got {layout!r}")
    if len(kernel_size) != 2 or kernel_size[0] * kernel_size[1] > MAX_TAPS:
        raise ValueError(f"forward_kernel: 2-D filters of at most {MAX_TAPS} taps, "
                         f"got {kernel_size}")
    namespace = {"np": np}
    name = f"<depthwise forward {layout} {kernel_size} stride {stride} dilation {dilation}>"
    exec(compile(forward_source(layout, kernel_size, stride, dilation), name, "exec"),  # noqa: S102
         namespace)
    return njit(nogil=True, fastmath=True)(namespace["forward"])


@njit(cache=True, nogil=True)
def _copy_plane(source, target, top, left):  # pragma: no cover - compiled
    """``target[top + iy, left + ix] = source[iy, ix]`` where it lands inside ``target``
    (the leading axes of any trailing channel axis copied whole)."""
    first = max(0, -left)
    count = max(0, min(source.shape[1], target.shape[1] - left) - first)
    for iy in range(max(0, -top), min(source.shape[0], target.shape[0] - top)):
        row, values = target[iy + top, left + first:], source[iy, first:]
        for k in range(count):
            row[k] = values[k]


@njit(cache=True, nogil=True, fastmath=True)
def weight_grad_nchw(x, g, gw, st, dy, dx, top, left, lo, hi):  # pragma: no cover
    """``gw`` (C, KH, KW) += the filter gradient over planes lo..hi-1: per plane, one
    accumulator row per tap, each an axpy along the output rows, summed at the end."""
    height, width = x.shape[1], x.shape[2]
    out_h, out_w = g.shape[1], g.shape[2]
    channels, kh, kw = gw.shape
    rows = max(height + top, (out_h - 1) * st + (kh - 1) * dy + 1)
    cols = max(width + left, (out_w - 1) * st + (kw - 1) * dx + 1)
    s = np.zeros((rows, cols), x.dtype)
    acc = np.zeros((kh * kw, out_w), x.dtype)
    for p in range(lo, hi):
        _copy_plane(x[p], s, top, left)
        acc[:] = 0
        for oy in range(out_h):
            grad = g[p, oy]
            for i in range(kh):
                row = s[oy * st + i * dy]
                for j in range(kw):
                    a, shifted = acc[i * kw + j], row[j * dx:]
                    if st == 1:              # contiguous: vectorised
                        for ox in range(out_w):
                            a[ox] += grad[ox] * shifted[ox]
                    else:
                        for ox in range(out_w):
                            a[ox] += grad[ox] * shifted[ox * st]
        c = p % channels
        for t in range(kh * kw):
            total = acc[t, 0] * 0
            for ox in range(out_w):
                total += acc[t, ox]
            gw[c, t // kw, t % kw] += total


@njit(cache=True, nogil=True, fastmath=True)
def weight_grad_nhwc(x, g, gw, st, dy, dx, top, left, lo, hi):  # pragma: no cover
    """``gw`` (KH, KW, C) += the filter gradient over images lo..hi-1, along the channels."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    out_h, out_w = g.shape[1], g.shape[2]
    kh, kw = gw.shape[0], gw.shape[1]
    rows = max(height + top, (out_h - 1) * st + (kh - 1) * dy + 1)
    cols = max(width + left, (out_w - 1) * st + (kw - 1) * dx + 1)
    s = np.zeros((rows, cols, channels), x.dtype)
    for p in range(lo, hi):
        _copy_plane(x[p], s, top, left)
        for oy in range(out_h):
            for i in range(kh):
                row = s[oy * st + i * dy]
                for ox in range(out_w):
                    v = g[p, oy, ox]
                    for j in range(kw):
                        a, values = gw[i, j], row[ox * st + j * dx]
                        for c in range(channels):
                            a[c] += v[c] * values[c]


@njit(cache=True, nogil=True, fastmath=True)
def input_grad_nhwc(g, w, gx, st, dy, dx, top, left, lo, hi):  # pragma: no cover
    """``gx`` (N, H, W, C) images lo..hi-1 (overwritten): each output's gradient ``g``
    (N, OH, OW, C) scattered back along its taps ``w`` (KH, KW, C) into a zeroed scratch
    image, whose part inside the input is then copied out (any stride; the stride-1 case
    is faster as a forward pass of the flipped filters)."""
    height, width, channels = gx.shape[1], gx.shape[2], gx.shape[3]
    out_h, out_w = g.shape[1], g.shape[2]
    kh, kw = w.shape[0], w.shape[1]
    rows = max(height + top, (out_h - 1) * st + (kh - 1) * dy + 1)
    cols = max(width + left, (out_w - 1) * st + (kw - 1) * dx + 1)
    s = np.empty((rows, cols, channels), gx.dtype)
    for p in range(lo, hi):
        s[:] = 0
        for oy in range(out_h):
            for i in range(kh):
                row = s[oy * st + i * dy]
                for ox in range(out_w):
                    v = g[p, oy, ox]
                    for j in range(kw):
                        target, weights = row[ox * st + j * dx], w[i, j]
                        for c in range(channels):
                            target[c] += weights[c] * v[c]
        for iy in range(height):
            for ix in range(width):
                sy, sx = iy + top, ix + left
                target = gx[p, iy, ix]
                if 0 <= sy < rows and 0 <= sx < cols:
                    values = s[sy, sx]
                    for c in range(channels):
                        target[c] = values[c]
                else:
                    for c in range(channels):
                        target[c] = 0
