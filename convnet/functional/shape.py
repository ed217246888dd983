"""pad, interpolate, cat, stack on Tensors (torch names and semantics).

The kernels are in :mod:`convnet.ops.resample` (which reuses :mod:`convnet.ops.padding`).

Example:
    >>> import numpy as np, convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    >>> F.interpolate(F.pad(x, (1, 1, 1, 1)), scale_factor=2).shape
    (1, 1, 8, 8)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ShapeError
from ..ops import resample
from ..ops.windows import check_padding_fits
from ..tensor import record
from ._arrays import array_of, floating_input

__all__ = ["pad", "interpolate", "cat", "stack"]

PAD_MODES = ("constant", "reflect", "replicate", "circular", "symmetric")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def pad(input, pad, mode: str = "constant", value=None):
    """Pad the trailing dims of ``input``; ``pad`` is torch's flat tuple, last dim first.

    ``pad = (left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two,
    ``(left, right, top, bottom, front, back)`` the last three, and so on.

    Args:
        input: any shape with at least ``len(pad) // 2`` dims.
        pad: even-length sequence of ints. Negative amounts crop (mode 'constant' only).
        mode: 'constant' (fill with ``value``), 'reflect' (mirror without repeating the edge:
            ``d c b | a b c d``), 'replicate' (repeat the edge), 'circular' (wrap around), or
            'symmetric' (mirror repeating the edge: ``c b a | a b c d``; torch lacks it).
        value: fill for 'constant' (None means 0); the other modes take no value.

    Shape: dim ``-1 - i`` grows by ``pad[2 i] + pad[2 i + 1]``.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.pad(np.array([[1.0, 2.0, 3.0]]), (2, 1), mode='reflect').data
        array([[3., 2., 1., 2., 3., 2.]])
        >>> F.pad(np.array([[1.0, 2.0, 3.0]]), (1, -1), value=9.0).data
        array([[9., 1., 2.]])
    """
    x = array_of(input, "input")
    if mode not in PAD_MODES:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, PAD_MODES))}, got {mode!r}")
    amounts = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if amounts is None or not all(_is_int(a) for a in amounts):
        raise TypeError(f"pad: expected a tuple of ints, got {pad!r}")
    if len(amounts) % 2 or len(amounts) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of ints, at most 2 * input.ndim = "
                         f"{2 * x.ndim}, got {len(amounts)}: {amounts!r}")
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"value: padding mode {mode!r} doesn't take a value, got {value!r}")
    pairs = tuple((int(amounts[2 * i]), int(amounts[2 * i + 1]))
                  for i in reversed(range(len(amounts) // 2)))
    sizes = x.shape[x.ndim - len(pairs):]
    if mode != "constant":
        if any(a < 0 for a in amounts):
            raise ValueError(f"pad: negative padding (cropping) needs mode 'constant', got "
                             f"{amounts!r} with mode {mode!r}")
        check_padding_fits(pairs, sizes, mode)
    for (before, after), size in zip(pairs, sizes):
        if size + before + after < 0:
            raise ValueError(f"pad: cropping {-min(before, 0)} and {-min(after, 0)} from a dim of "
                             f"size {size} leaves a negative size")
    kernel_mode = "zeros" if mode == "constant" else mode
    fill = 0.0 if value is None else value
    y, saved = resample.pad_forward(x, pairs, kernel_mode, fill)
    return record(y, (input,), lambda dy: (resample.pad_backward(dy, saved),))


_SPATIAL_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,),
                 "bilinear": (2,), "trilinear": (3,)}


def _per_dim(value, count: int, name: str, kind) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count:
        raise ValueError(f"{name}: expected one value or {count} (one per spatial dim), "
                         f"got {value!r}")
    if not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name}: expected {'ints' if kind is numbers.Integral else 'numbers'}, "
                        f"got {value!r}")
    return values


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) inputs (torch rules).

    Args:
        input: (N, C, *spatial) with 1-3 spatial dims.
        size: output spatial size, an int or one int per spatial dim.
        scale_factor: a number or one per spatial dim; the output size is
            ``floor(in * scale_factor)`` and the source positions use ``1 / scale_factor``
            (not in/out) unless ``recompute_scale_factor=True``.
        mode: 'nearest' (torch's legacy ``src = floor(dst * in / out)``), 'nearest-exact'
            (``floor((dst + 0.5) * in / out)``), 'linear' (1-D), 'bilinear' (2-D) or
            'trilinear' (3-D).
        align_corners: for the linear modes only (None means False). True maps the corner
            pixels' centres onto each other: ``src = dst * (in - 1) / (out - 1)``; False maps
            the corners of the pixel grids: ``src = (dst + 0.5) * scale - 0.5``, clamped at 0.

    Shape: (N, C, *spatial) -> (N, C, *size). Give exactly one of ``size`` and ``scale_factor``.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
        >>> F.interpolate(x, scale_factor=2).data[0, 0]
        array([[1., 1., 2., 2.],
               [1., 1., 2., 2.],
               [3., 3., 4., 4.],
               [3., 3., 4., 4.]])
        >>> F.interpolate(x, size=(2, 3), mode='bilinear', align_corners=True).data[0, 0]
        array([[1. , 1.5, 2. ],
               [3. , 3.5, 4. ]])
    """
    x = floating_input(input)
    if mode not in _SPATIAL_DIMS:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, _SPATIAL_DIMS))}, "
                         f"got {mode!r}")
    spatial = x.ndim - 2
    if spatial not in _SPATIAL_DIMS[mode]:
        expected = " or ".join(f"{d + 2}-D" for d in _SPATIAL_DIMS[mode])
        raise ValueError(f"input: mode {mode!r} expects a {expected} input (N, C, *spatial), "
                         f"got shape {x.shape}")
    linear = mode in ("linear", "bilinear", "trilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"align_corners: only the interpolating modes 'linear', 'bilinear' and "
                         f"'trilinear' take it, got align_corners={align_corners!r} with "
                         f"mode {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("size: give exactly one of size and scale_factor, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    in_sizes = x.shape[2:]
    if size is not None:
        out_sizes = _per_dim(size, spatial, "size", numbers.Integral)
        if any(s < 1 for s in out_sizes):
            raise ValueError(f"size: expected sizes of at least 1, got {size!r}")
        scales = (None,) * spatial
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, spatial, "scale_factor",
                                                  numbers.Real))
        if any(not s > 0 for s in scales):
            raise ValueError(f"scale_factor: expected positive numbers, got {scale_factor!r}")
        out_sizes = tuple(math.floor(n * s) for n, s in zip(in_sizes, scales))
        if any(s < 1 for s in out_sizes):
            raise ValueError(f"scale_factor: {scale_factor!r} gives an empty output for input "
                             f"size {in_sizes}")
        if recompute_scale_factor:
            scales = (None,) * spatial
    if linear:
        axes = tuple(resample.linear_axis(n, out, s, bool(align_corners), x.dtype)
                     for n, out, s in zip(in_sizes, out_sizes, scales))
    else:
        axes = tuple(resample.nearest_axis(n, out, s, exact=(mode == "nearest-exact"))
                     for n, out, s in zip(in_sizes, out_sizes, scales))
    y = resample.resample_forward(x, axes)
    return record(y, (input,), lambda dy: (resample.resample_backward(dy, axes),))


def _joined_arrays(tensors, name: str = "tensors") -> list[np.ndarray]:
    if not isinstance(tensors, (tuple, list)) or not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of Tensors or arrays, "
                         f"got {type(tensors).__name__}")
    return [array_of(t, f"{name}[{i}]") for i, t in enumerate(tensors)]


def _join_dim(dim, ndim: int) -> int:
    if not _is_int(dim):
        raise TypeError(f"dim: expected an int, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim: expected a dimension in [{-ndim}, {ndim - 1}], got {dim}")
    return int(dim) % ndim


def cat(tensors, dim: int = 0):
    """Concatenate along an existing dim (``torch.cat``); other dims must match.

    Shape: sizes along ``dim`` add up. Mixed float32/float64 gives float64.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.cat([np.zeros((2, 3)), np.ones((1, 3))]).shape
        (3, 3)
    """
    arrays = _joined_arrays(tensors)
    axis = _join_dim(dim, max(arrays[0].ndim, 1))
    for i, array in enumerate(arrays):
        if array.ndim != arrays[0].ndim or any(
                a != b for d, (a, b) in enumerate(zip(array.shape, arrays[0].shape)) if d != axis):
            raise ShapeError(f"tensors: every shape must match {arrays[0].shape} except in dim "
                             f"{axis}, got {array.shape} at position {i}")
    y, saved = resample.cat_forward(arrays, axis)
    return record(y, tuple(tensors), lambda dy: resample.cat_backward(dy, saved))


def stack(tensors, dim: int = 0):
    """Stack arrays of one shape along a new dim (``torch.stack``).

    Shape: k arrays of shape S -> S with k inserted at ``dim``.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.stack([np.zeros((2, 3)), np.ones((2, 3))], dim=1).shape
        (2, 2, 3)
    """
    arrays = _joined_arrays(tensors)
    axis = _join_dim(dim, arrays[0].ndim + 1)
    for i, array in enumerate(arrays):
        if array.shape != arrays[0].shape:
            raise ShapeError(f"tensors: every shape must equal {arrays[0].shape}, got "
                             f"{array.shape} at position {i}")
    y, saved = resample.stack_forward(arrays, axis)
    return record(y, tuple(tensors), lambda dy: resample.stack_backward(dy, saved))
