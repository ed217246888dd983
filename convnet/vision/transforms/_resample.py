"""Resampling image arrays (..., C, H, W): resizing, affine warps and Gaussian blur, with the
sampling geometry of torch's ``interpolate`` and ``grid_sample`` (``align_corners=False``)
that torchvision's tensor transforms use.

- Resizing is separable: each axis is one (out, in) weight matrix, ``out = Wh @ x @ Ww.T``.
  Pixel ``i`` of the output sits at ``scale * (i + 0.5)`` in the input, ``scale = in / out``.
  With antialiasing (bilinear or bicubic) the filter is stretched by ``max(scale, 1)`` and
  renormalised, as Pillow does; without, bilinear and bicubic (a = -0.75) read the two or
  four nearest samples around ``scale * (i + 0.5) - 0.5``; nearest reads
  ``floor(i * scale)`` and nearest-exact ``floor((i + 0.5) * scale)``.
- An affine warp maps every output pixel centre through the inverse matrix (centred
  coordinates) to a source position and reads it with nearest or bilinear sampling;
  positions outside the image read zeros or the fill colour.

Integer images are resampled in float32 and rounded back, as torchvision does.

Example:
    >>> import numpy as np
    >>> resize(np.arange(4, dtype=np.float32).reshape(1, 2, 2), [4, 4])[0, 0].tolist()
    [0.0, 0.25, 0.75, 1.0]
"""

from __future__ import annotations

import numpy as np

from . import _functional_tensor as F_t


def _work(array: np.ndarray) -> np.ndarray:
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float32)


def _restore(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if result.dtype == dtype:
        return result
    if dtype.kind in "uib":
        result = np.round(result)
    return result.astype(dtype)


def _triangle(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1, 1 - x, 0)


def _cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0))


def _antialiased_weights(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """(out, in) weights of the filter stretched by ``max(scale, 1)`` (Pillow's resampler)."""
    kernel, interp_size = (_triangle, 2) if mode == "bilinear" else (_cubic, 4)
    scale = in_size / out_size
    support = interp_size * 0.5 * (scale if scale >= 1 else 1.0)
    inverse_scale = 1.0 / scale if scale >= 1 else 1.0
    centers = scale * (np.arange(out_size) + 0.5)
    first = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    stop = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    taps = np.arange(in_size)
    inside = (taps >= first[:, None]) & (taps < stop[:, None])
    weights = np.where(inside, kernel((taps - centers[:, None] + 0.5) * inverse_scale), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)


def _plain_weights(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """(out, in) weights of bilinear or bicubic (a = -0.75) interpolation without antialiasing."""
    scale = in_size / out_size
    source = scale * (np.arange(out_size) + 0.5) - 0.5
    weights = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == "bilinear":
        source = np.maximum(source, 0)
        low = np.minimum(source.astype(np.int64), in_size - 1)
        fraction = source - low
        np.add.at(weights, (rows, low), 1 - fraction)
        np.add.at(weights, (rows, np.minimum(low + 1, in_size - 1)), fraction)
        return weights
    low = np.floor(source).astype(np.int64)
    fraction = source - low
    for tap in range(-1, 3):
        np.add.at(weights, (rows, np.clip(low + tap, 0, in_size - 1)),
                  _cubic(fraction - tap, a=-0.75))
    return weights


def _nearest_indices(in_size: int, out_size: int, exact: bool) -> np.ndarray:
    scale = np.float32(in_size) / np.float32(out_size)
    positions = np.arange(out_size, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
    return np.minimum(np.floor(positions * scale).astype(np.int64), in_size - 1)


def resize(array: np.ndarray, size, interpolation: str = "bilinear",
           antialias: bool | None = True) -> np.ndarray:
    """``array`` (..., H, W) resized to ``size`` = [out_height, out_width]."""
    F_t.check_image(array)
    out_height, out_width = int(size[0]), int(size[1])
    if interpolation not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")
    if interpolation.startswith("nearest"):
        exact = interpolation == "nearest-exact"
        rows = _nearest_indices(array.shape[-2], out_height, exact)
        columns = _nearest_indices(array.shape[-1], out_width, exact)
        return np.ascontiguousarray(array[..., rows[:, None], columns])
    weights_of = _antialiased_weights if antialias else _plain_weights
    result = _work(array)
    if out_width != array.shape[-1]:
        columns = weights_of(array.shape[-1], out_width, interpolation)
        result = result @ columns.T.astype(result.dtype)
    if out_height != array.shape[-2]:
        rows = weights_of(array.shape[-2], out_height, interpolation)
        result = rows.astype(result.dtype) @ result
    if interpolation == "bicubic" and array.dtype == np.uint8:
        result = np.clip(result, 0, 255)
    return _restore(np.ascontiguousarray(result), array.dtype)


def affine_output_size(matrix, width: int, height: int) -> tuple[int, int]:
    """(width, height) holding the whole image after ``matrix`` (``expand=True`` of rotate)."""
    f32 = np.float32
    corners = np.array([[-0.5 * width, -0.5 * height, 1.0], [-0.5 * width, 0.5 * height, 1.0],
                        [0.5 * width, 0.5 * height, 1.0], [0.5 * width, -0.5 * height, 1.0]], f32)
    moved = corners @ np.asarray(matrix, f32).reshape(2, 3).T
    shift = np.array([width * 0.5, height * 0.5], f32)
    low, high = moved.min(axis=0) + shift, moved.max(axis=0) + shift
    tolerance = f32(1e-4)
    high = np.ceil(np.trunc(high / tolerance) * tolerance)
    low = np.floor(np.trunc(low / tolerance) * tolerance)
    size = high - low
    return int(size[0]), int(size[1])


def _source_positions(matrix, width, height, out_width, out_height, dtype):
    """Source (x, y) in pixels, for every output pixel centre, of the centred inverse matrix."""
    theta = np.asarray(matrix, dtype).reshape(2, 3)
    x = np.arange(out_width, dtype=dtype) - dtype.type((out_width - 1) * 0.5)
    y = (np.arange(out_height, dtype=dtype) - dtype.type((out_height - 1) * 0.5))[:, None]
    half = np.array([0.5 * width, 0.5 * height], dtype)
    rescaled = theta / half[:, None]
    grid_x = x * rescaled[0, 0] + y * rescaled[0, 1] + rescaled[0, 2]
    grid_y = x * rescaled[1, 0] + y * rescaled[1, 1] + rescaled[1, 2]
    one, halfpixel = dtype.type(1), dtype.type(0.5)
    return ((grid_x + one) * dtype.type(width / 2) - halfpixel,
            (grid_y + one) * dtype.type(height / 2) - halfpixel)


def _gather(image, rows, columns):
    """image[..., rows, columns] with zeros where (rows, columns) lies outside."""
    height, width = image.shape[-2:]
    inside = (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
    values = image[..., np.clip(rows, 0, height - 1), np.clip(columns, 0, width - 1)]
    return values * inside.astype(image.dtype)


def _sample(image, source_x, source_y, mode):
    if mode == "nearest":
        rows, columns = np.rint(source_y).astype(np.int64), np.rint(source_x).astype(np.int64)
        return _gather(image, rows, columns)
    left, top = np.floor(source_x), np.floor(source_y)
    west, north = source_x - left, source_y - top
    east, south = 1 - west, 1 - north
    left, top = left.astype(np.int64), top.astype(np.int64)
    return (_gather(image, top, left) * (south * east)
            + _gather(image, top, left + 1) * (south * west)
            + _gather(image, top + 1, left) * (north * east)
            + _gather(image, top + 1, left + 1) * (north * west))


def check_fill(array, fill, interpolation):
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != get_channels(array):
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the number "
                         f"of channels of the image ({len(fill)} != {get_channels(array)})")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")


def get_channels(array):
    return F_t.get_dimensions(array)[0]


def warp_affine(array: np.ndarray, matrix, interpolation: str = "nearest", fill=None,
                out_size=None) -> np.ndarray:
    """``array`` read at the inverse affine ``matrix`` (6 numbers, centred coordinates) of
    every output pixel; ``out_size`` (width, height) defaults to the input's."""
    F_t.check_image(array)
    if len(matrix) != 6:
        raise ValueError("Argument matrix should have 6 float values")
    check_fill(array, fill, interpolation)
    height, width = array.shape[-2:]
    out_width, out_height = out_size or (width, height)
    image = _work(array)
    source_x, source_y = _source_positions(matrix, width, height, out_width, out_height,
                                           image.dtype)
    result = _sample(image, source_x, source_y, interpolation)
    if fill is not None:
        coverage = _sample(np.ones((height, width), image.dtype), source_x, source_y, interpolation)
        fill_values = np.asarray(fill if isinstance(fill, (tuple, list)) else [fill], image.dtype)
        fill_image = fill_values.reshape(-1, 1, 1)
        if interpolation == "nearest":
            result = np.where(coverage < 0.5, fill_image, result)
        else:
            result = result * coverage + (1 - coverage) * fill_image
    return _restore(result, array.dtype)


def gaussian_kernel1d(kernel_size: int, sigma: float, dtype) -> np.ndarray:
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size).astype(dtype)
    pdf = np.exp(dtype.type(-0.5) * (x / dtype.type(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(array: np.ndarray, kernel_size, sigma) -> np.ndarray:
    """Separable Gaussian blur with reflect padding; ``kernel_size`` and ``sigma`` are
    (x, y) pairs."""
    F_t.check_image(array)
    image = _work(array)
    kernel_x = gaussian_kernel1d(kernel_size[0], sigma[0], image.dtype)
    kernel_y = gaussian_kernel1d(kernel_size[1], sigma[1], image.dtype)
    padded = F_t.pad(image, [kernel_size[0] // 2, kernel_size[1] // 2], padding_mode="reflect")
    height, width = array.shape[-2:]
    rows = sum(weight * padded[..., :, k:k + width] for k, weight in enumerate(kernel_x))
    blurred = sum(weight * rows[..., k:k + height, :] for k, weight in enumerate(kernel_y))
    return _restore(blurred.astype(image.dtype, copy=False), array.dtype)
