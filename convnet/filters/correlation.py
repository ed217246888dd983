"""Correlation and true convolution of images with small kernels, any boundary rule.

Seed 001 (eqs. 8.8, 8.9 and Solved Problem P8.1): for a kernel ``w`` and an image ``p``::

    correlation   z[m, n] = sum_{i, j} w[i, j] * p[m + i, n + j]
    convolution   z[m, n] = sum_{i, j} w[i, j] * p[m - i, n - j]

so a true convolution is a correlation with the kernel flipped left-right and upside
down (``w[::-1, ::-1]``). Every deep-learning "convolution" (seed 000's notes included)
is the correlation; :func:`convolve` is the signal-processing one.

Which arrays (the kernel decides, never a guess from the image):

==============  ======================  ==============================================
kernel          image                   result
==============  ======================  ==============================================
(k,)            (..., L)                1-D along the last axis: (..., L_out)
(k_h, k_w)      (H, W) or (C, H, W)     each channel on its own: (H_out, W_out) or
                                        (C, H_out, W_out)
(C, k_h, k_w)   (C, H, W)               one multi-channel filter, the products summed
                                        over channels (seed 000): (H_out, W_out)
==============  ======================  ==============================================

``image`` may also be a file path (read with Pillow as float32 in [0, 1]: grey images
give (H, W), colour ones (3, H, W)). Results have the image's floating dtype (integer
and list inputs become float32).

Output size per spatial dim, image size ``n``, kernel size ``k``:

- ``'valid'``: ``n - k + 1``, windows inside the image only (the notes' 1-D example).
- ``'same'``: ``n``; the output pixel sits under the kernel's *anchor*. For
  :func:`correlate` the anchor is ``(k - 1) // 2`` (the centre; for an even kernel the
  top-left of its central square, the notes' rule and ``convnet``'s ``padding='same'``),
  i.e. ``scipy.ndimage.correlate(..., origin=0 if k odd else -1)``. :func:`convolve`
  is :func:`correlate` with the flipped kernel and the flipped anchor, so its default
  anchor in the *unflipped* kernel is ``k // 2`` -- exactly ``scipy.ndimage.convolve``
  with ``origin=0`` for every ``k`` (equal to the centre for odd kernels).
  ``anchor=(row, col)`` picks another kernel element (OpenCV's ``anchor``, given as
  row, column). Seed 001's kernels have their origin ``w[0, 0]`` at the *bottom-left*
  of the printed matrix (its ``j`` axis points up), i.e. ``anchor=(k_h - 1, 0)``.
- ``'full'``: ``n + k - 1``, every window that touches the image.

Boundaries (seed 000 "Padding"; what the kernel sees outside the image):

===============  ============  ====================  =================  ==================
``boundary``     convnet pad   scipy.ndimage mode    OpenCV border      scipy.signal 2-D
===============  ============  ====================  =================  ==================
``zero``         zeros         constant, cval=0      BORDER_CONSTANT    fill, fillvalue=0
``clamp``        replicate     nearest               BORDER_REPLICATE   --
``wrap``         circular      wrap (= grid-wrap)    BORDER_WRAP [*]    wrap
``mirror``       reflect       mirror                BORDER_REFLECT_101 --
                 ``d c b | a b c d``                 (BORDER_DEFAULT)
``mirror-edge``  symmetric     reflect               BORDER_REFLECT     symm
                 ``c b a | a b c d``
===============  ============  ====================  =================  ==================

[*] ``cv2.filter2D`` rejects BORDER_WRAP. The convnet names are accepted too. Any
amount of padding works: the mirror and wrap rules repeat periodically, as in scipy.

Example (seed 000's high-pass filter, and P8.1's flip):
    >>> import numpy as np
    >>> m = [0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]
    >>> correlate(m, [-1, 2, -1], mode='valid').tolist()
    [0.0, 0.0, 2.0, -4.0, 2.0, 0.0, 0.0, -5.0, 10.0, -5.0, 0.0, 5.0, -10.0]
    >>> impulse = np.zeros((3, 3)); impulse[1, 1] = 1
    >>> w = np.arange(1., 10.).reshape(3, 3)
    >>> bool((convolve(impulse, w) == w).all() and (correlate(impulse, w) == w[::-1, ::-1]).all())
    True
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..ops import conv as conv_ops
from ..ops.padding import pad, source_index
from ..tensor import as_array

__all__ = ["correlate", "convolve", "read_image", "as_image", "BOUNDARIES", "MODES"]

MODES = ("valid", "same", "full")
BOUNDARIES = {"zero": "zeros", "clamp": "replicate", "wrap": "circular", "mirror": "reflect",
              "mirror-edge": "symmetric"}
_PADDING_MODES = {**BOUNDARIES, **{mode: mode for mode in BOUNDARIES.values()}}

# Above this many im2col elements the valid correlation switches to the FFT (memory, speed).
_IM2COL_LIMIT = 1 << 24


def read_image(path) -> np.ndarray:
    """An image file as float32 in [0, 1]: (H, W) for grey images, (3, H, W) otherwise.

    Example:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), 'grey.png')
        >>> Image.new('L', (4, 3), 255).save(path)
        >>> read_image(path).shape, float(read_image(path).max())
        ((3, 4), 1.0)
    """
    try:
        from PIL import Image
    except ImportError as error:  # pragma: no cover - Pillow is in the data extra
        raise ImportError("reading image files needs Pillow: "
                          "pip install 'convnet[data]'") from error
    with Image.open(os.fspath(path)) as picture:
        if picture.mode in ("I", "I;16", "I;16B", "I;16L", "F"):   # 16-bit grey, float grey
            scale = 1.0 if picture.mode == "F" else 65535.0
            return (np.asarray(picture, dtype=np.float64) / scale).astype(np.float32)
        grey = picture.mode in ("1", "L", "LA")
        pixels = np.asarray(picture.convert("L" if grey else "RGB"), dtype=np.float32) / 255
    return pixels if grey else np.ascontiguousarray(np.moveaxis(pixels, -1, 0))


def as_image(image, name: str = "image") -> np.ndarray:
    """``image`` (array, list, Tensor or file path) as a floating ndarray."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    try:
        return as_array(image)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected an array, a Tensor or an image path, got "
                        f"{type(image).__name__}") from error


def correlate(image, kernel, mode: str = "same", boundary: str = "zero", *, anchor=None):
    """Cross-correlation ``z[m] = sum_i w[i] p[m + i]`` (seed 001 eq. 8.9), 1-D or 2-D.

    Args:
        image: (L,) / (..., L) for a 1-D kernel; (H, W) or (C, H, W) for a 2-D kernel;
            (C, H, W) for a (C, k_h, k_w) kernel; or an image file path.
        kernel: (k,), (k_h, k_w) or (C, k_h, k_w) (see the module docstring).
        mode: ``'valid'``, ``'same'`` or ``'full'``.
        boundary: ``'zero'``, ``'clamp'``, ``'wrap'``, ``'mirror'``, ``'mirror-edge'``
            (or the convnet padding names ``zeros``, ``replicate``, ``circular``,
            ``reflect``, ``symmetric``). Unused for ``'valid'``.
        anchor: for ``mode='same'`` only: the kernel index (an int, or (row, col))
            that lies over each output pixel; default ``(k - 1) // 2`` per dim.

    Returns:
        Array in the image's floating dtype; spatial size ``n - k + 1`` (valid), ``n``
        (same) or ``n + k - 1`` (full).

    Example (seed 000's multi-channel filter: vertical edges in red only):
        >>> import numpy as np
        >>> from convnet.filters import kernels
        >>> rgb = np.zeros((3, 5, 5)); rgb[0, :, 3:] = 1
        >>> correlate(rgb, kernels.SEED000_MULTICHANNEL, mode='valid')[0].tolist()
        [0.0, 4.0, 4.0]
    """
    return _filter(image, kernel, mode, boundary, anchor, flip=False)


def convolve(image, kernel, mode: str = "same", boundary: str = "zero", *, anchor=None):
    """True convolution ``z[m] = sum_i w[i] p[m - i]`` (seed 001 eq. 8.8), 1-D or 2-D.

    Equal to :func:`correlate` with ``kernel`` flipped along its spatial axes (P8.1) and
    the anchor flipped with it; the default anchor is ``k // 2`` per dim of the
    unflipped kernel, which makes ``mode='same'`` equal to ``scipy.ndimage.convolve``
    (origin 0) for odd and even kernels. ``'valid'`` and ``'full'`` equal
    ``scipy.signal.convolve2d`` / ``numpy.convolve`` in those modes. Arguments and
    shapes as :func:`correlate`.

    Example (P8.2/E8.4: seed 001's shift kernel moves the image right and up):
        >>> import numpy as np
        >>> from convnet.filters import kernels
        >>> p = np.zeros((5, 5)); p[2, 2] = p[3, 1] = p[3, 2] = 1
        >>> z = convolve(p, kernels.SHIFT_RIGHT_UP, anchor=kernels.SHIFT_RIGHT_UP_ANCHOR)
        >>> np.argwhere(z).tolist()
        [[1, 3], [2, 2], [2, 3]]
    """
    return _filter(image, kernel, mode, boundary, anchor, flip=True)


def _filter(image, kernel, mode, boundary, anchor, flip):
    image = as_image(image)
    kernel = as_image(kernel, "kernel")
    padding_mode = _check_boundary(boundary)
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if kernel.ndim not in (1, 2, 3) or kernel.size == 0:
        raise ValueError(f"kernel: expected a non-empty (k,), (k_h, k_w) or (C, k_h, k_w) "
                         f"array, got shape {kernel.shape}")
    spatial = 1 if kernel.ndim == 1 else 2
    kernel_size = kernel.shape[-spatial:]
    image, kernel, leading = _batched(image, kernel)
    anchor = _check_anchor(anchor, kernel_size, mode, flip)
    if flip:
        kernel = kernel[(Ellipsis,) + (slice(None, None, -1),) * spatial]
        anchor = tuple(k - 1 - a for k, a in zip(kernel_size, anchor))
    in_sizes = image.shape[2:]
    if mode == "valid":
        pairs = ((0, 0),) * spatial
        if any(k > n for k, n in zip(kernel_size, in_sizes)):
            raise ValueError(f"kernel: {kernel_size} is larger than the image {in_sizes}; "
                             f"'valid' needs the kernel to fit (use mode='same' or 'full')")
    elif mode == "same":
        pairs = tuple((a, k - 1 - a) for k, a in zip(kernel_size, anchor))
    else:
        pairs = tuple((k - 1, k - 1) for k in kernel_size)
    padded = extend(image, pairs, padding_mode)
    out = correlate_valid(padded, kernel)
    return out.reshape(leading + out.shape[2:])


def _check_boundary(boundary) -> str:
    if boundary not in _PADDING_MODES:
        raise ValueError(f"boundary: expected one of {', '.join(map(repr, BOUNDARIES))} (or "
                         f"{', '.join(map(repr, BOUNDARIES.values()))}), got {boundary!r}")
    return _PADDING_MODES[boundary]


def _check_anchor(anchor, kernel_size, mode, flip) -> tuple[int, ...]:
    if anchor is None:
        return tuple(k // 2 if flip else (k - 1) // 2 for k in kernel_size)
    if mode != "same":
        raise ValueError(f"anchor: only used with mode='same', got anchor={anchor!r} with "
                         f"mode={mode!r}")
    values = (anchor,) * len(kernel_size) if isinstance(anchor, (int, np.integer)) else anchor
    try:
        values = tuple(int(a) for a in values)
    except TypeError:
        raise TypeError(f"anchor: expected an int or {len(kernel_size)} ints, "
                        f"got {anchor!r}") from None
    if len(values) != len(kernel_size) or not all(0 <= a < k for a, k in zip(values, kernel_size)):
        raise ValueError(f"anchor: expected {len(kernel_size)} indices inside the kernel "
                         f"{tuple(kernel_size)}, got {anchor!r}")
    return values


def _batched(image: np.ndarray, kernel: np.ndarray):
    """(image as (B, C, *spatial), kernel as (1, C, *k) in the image's dtype, lead shape)."""
    kernel = kernel.astype(image.dtype, copy=False)
    if kernel.ndim == 1:
        if image.ndim < 1:
            raise ValueError("image: expected at least one dim for a 1-D kernel, got a scalar")
        return image.reshape(-1, 1, image.shape[-1]), kernel[None, None], image.shape[:-1]
    if kernel.ndim == 2:
        if image.ndim not in (2, 3):
            raise ValueError(f"image: expected (H, W) or (C, H, W) for a 2-D kernel, got shape "
                             f"{image.shape}")
        return (image.reshape((-1, 1) + image.shape[-2:]), kernel[None, None],
                image.shape[:-2])
    if image.ndim != 3 or image.shape[0] != kernel.shape[0]:
        raise ValueError(f"image: a {kernel.shape} multi-channel kernel needs a "
                         f"({kernel.shape[0]}, H, W) image, got shape {image.shape}")
    return image[None], kernel[None], ()


def extend(x: np.ndarray, pairs, padding_mode: str) -> np.ndarray:
    """Pad the trailing ``len(pairs)`` dims of ``x`` by any amount with a convnet padding mode.

    Example:
        >>> extend(np.array([1., 2., 3.]), ((4, 0),), 'reflect').tolist()
        [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]
    """
    if padding_mode == "zeros":
        return pad(x, tuple(pairs), "zeros")
    lead = x.ndim - len(pairs)
    for axis_offset, (before, after) in enumerate(pairs):
        if before or after:
            axis = lead + axis_offset
            x = np.take(x, source_index(x.shape[axis], before, after, padding_mode), axis=axis)
    return x


def correlate_valid(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'valid' correlation of ``x`` (B, C, *spatial) with ``kernel`` (1, C, *k), summed over C.

    Returns (B, 1, *out) with ``out = spatial - k + 1``. Uses convnet's im2col convolution
    kernel (``ops.conv.forward``); when its column matrix would pass 2**24 elements it uses
    the FFT instead (same numbers up to rounding, memory of one padded image).
    """
    kernel_size = kernel.shape[2:]
    out_sizes = tuple(n - k + 1 for n, k in zip(x.shape[2:], kernel_size))
    columns = x.shape[0] * x.shape[1] * math.prod(kernel_size) * math.prod(out_sizes)
    if columns > _IM2COL_LIMIT:
        return _correlate_valid_fft(x, kernel, out_sizes)
    spec = conv_ops.conv_spec(x.shape, x.dtype, kernel.shape, padding=0)
    return np.ascontiguousarray(conv_ops.forward(x, kernel, None, spec)[0])


def _correlate_valid_fft(x: np.ndarray, kernel: np.ndarray, out_sizes) -> np.ndarray:
    """The same as :func:`correlate_valid`, by FFT: a convolution with the flipped kernel."""
    spatial = kernel.ndim - 2
    axes = tuple(range(2, 2 + spatial))
    kernel_size = kernel.shape[2:]
    fft_sizes = tuple(n for n in x.shape[2:])  # kernel fits, so no wrap-around in the valid part
    flipped = kernel[(slice(None), slice(None)) + (slice(None, None, -1),) * spatial]
    spectrum = (np.fft.rfftn(x.astype(np.float64), fft_sizes, axes=axes)
                * np.fft.rfftn(flipped.astype(np.float64), fft_sizes, axes=axes))
    full = np.fft.irfftn(spectrum.sum(axis=1, keepdims=True), fft_sizes, axes=axes)
    window = tuple(slice(k - 1, k - 1 + o) for k, o in zip(kernel_size, out_sizes))
    return np.ascontiguousarray(full[(slice(None), slice(None)) + window]).astype(x.dtype)
