"""Rearranging pixels and windows (torch's names): ``pixel_shuffle``, ``pixel_unshuffle``,
``channel_shuffle``, and ``unfold``/``fold``, which are the notes' im2col/col2im in torch's
``(N, C * kh * kw, L)`` layout.

``unfold`` output column ``l`` is the window at output position ``l`` (row-major), and row
``(c, i, j)`` its element at channel ``c``, kernel offset ``(i, j)``; ``fold`` adds columns
back where their windows came from (its adjoint, so overlapping windows sum).

Example:
    >>> import convnet, convnet.functional as F
    >>> x = convnet.arange(16.0).view(1, 1, 4, 4)
    >>> F.unfold(x, kernel_size=2, stride=2)[0, :, 0].tolist()
    [0.0, 1.0, 4.0, 5.0]
    >>> F.pixel_shuffle(convnet.arange(4.0).view(1, 4, 1, 1), 2).view(-1).tolist()
    [0.0, 1.0, 2.0, 3.0]
"""

from __future__ import annotations

import math

import numpy as np

from ..ops import windows
from ..ops.padding import pad as pad_array
from ..tensor import Tensor, record
from ..tensor_ops import _data

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold"]


def _tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r): each group of r^2 channels becomes an r x r block."""
    x = _tensor(input)
    r = upscale_factor
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    out = x.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    k = len(lead)
    out = out.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return out.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of :func:`pixel_shuffle`."""
    x = _tensor(input)
    r = downscale_factor
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height ({h}) and width ({w}) to be "
                           f"divisible by downscale_factor ({r})")
    k = len(lead)
    out = x.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    out = out.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return out.reshape(tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet): (N, g, C/g, ...) transposed."""
    x = _tensor(input)
    n, c = x.shape[:2]
    if groups <= 0 or c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = x.shape[2:]
    return x.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape(x.shape)


def _pairs(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name}: expected an int or a pair, got {value!r}")
    return pair


def _geometry(spatial, kernel_size, dilation, padding, stride):
    kernel, dil = _pairs(kernel_size, "kernel_size"), _pairs(dilation, "dilation")
    pads, steps = _pairs(padding, "padding"), _pairs(stride, "stride")
    outs = tuple(windows.output_size(n, k, s, d, p, p)
                 for n, k, s, d, p in zip(spatial, kernel, steps, dil, pads))
    if any(o <= 0 for o in outs):
        raise RuntimeError(f"Given input with spatial size {tuple(spatial)}, kernel_size="
                           f"{kernel}, dilation={dil}, padding={pads}, stride={steps}, the "
                           f"calculated shape of the array of sliding blocks is {outs}, which "
                           f"is too small (non-positive)")
    return kernel, dil, pads, steps, outs


def _unfold_array(x: np.ndarray, kernel, dil, pads, steps, outs) -> np.ndarray:
    padded = pad_array(x, tuple((p, p) for p in pads))
    cols = windows.im2col(padded, kernel, steps, dil, outs)         # (C k, N L)
    n = x.shape[0]
    return cols.reshape(cols.shape[0], n, -1).transpose(1, 0, 2).copy()


def _fold_array(columns: np.ndarray, channels: int, spatial, kernel, dil, pads, steps, outs):
    n = columns.shape[0]
    cols = columns.transpose(1, 0, 2).reshape(columns.shape[1], -1)
    padded_shape = (n, channels) + tuple(s + 2 * p for s, p in zip(spatial, pads))
    image = windows.col2im(cols, padded_shape, kernel, steps, dil, outs)
    return np.ascontiguousarray(image[(slice(None), slice(None)) + tuple(
        slice(p, p + s) for p, s in zip(pads, spatial))])


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding windows of a (N, C, H, W) batch as columns: (N, C kh kw, L)."""
    x = _data(input)
    if x.ndim != 4:
        raise NotImplementedError(f"Input Error: Only 4D input Tensors are supported "
                                  f"(got {x.ndim}D)")
    geometry = _geometry(x.shape[2:], kernel_size, dilation, padding, stride)
    out = _unfold_array(x, *geometry)
    return record(out, (input,), lambda g: (
        _fold_array(g, x.shape[1], x.shape[2:], *geometry),), saved=())


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C kh kw, L) summed back into a (N, C, H, W) image (adjoint of unfold)."""
    cols = _data(input)
    if cols.ndim != 3:
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {cols.ndim}D)")
    spatial = _pairs(output_size, "output_size")
    geometry = _geometry(spatial, kernel_size, dilation, padding, stride)
    kernel_elements = math.prod(geometry[0])
    if cols.shape[1] % kernel_elements:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={cols.shape[1]} and "
                           f"kernel_size={geometry[0]}")
    if cols.shape[2] != math.prod(geometry[-1]):
        raise RuntimeError(f"Given output_size={spatial}, kernel_size={geometry[0]}, the "
                           f"input's last dim should be {math.prod(geometry[-1])} blocks, but "
                           f"got {cols.shape[2]}")
    channels = cols.shape[1] // kernel_elements
    out = _fold_array(cols, channels, spatial, *geometry)
    return record(out, (input,), lambda g: (_unfold_array(g, *geometry),), saved=())
