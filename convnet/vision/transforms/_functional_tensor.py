"""The pixel maths of the transforms on image arrays shaped (..., C, H, W): dtype conversion,
padding and cropping, and the colour operations, computed as torchvision computes them on
tensors (float32 arithmetic for uint8 images, truncation where torchvision casts, rounding
where it rounds) so results agree with torchvision's to the last grey level.

Every function takes and returns a NumPy array; :mod:`.functional` unwraps convnet Tensors
into these and wraps the results. Resizing and the affine warps live in :mod:`._resample`.

Example:
    >>> import numpy as np
    >>> image = np.array([[[0, 128, 255]]], np.uint8)
    >>> convert_image_dtype(image, np.dtype(np.float32)).astype(np.float16).tolist()
    [[[0.0, 0.501953125, 1.0]]]
    >>> invert(image).tolist()
    [[[255, 127, 0]]]
"""

from __future__ import annotations

import numbers

import numpy as np

PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def max_value(dtype) -> int:
    """The value of full intensity: the dtype's maximum for integers, 1 for floats."""
    dtype = np.dtype(dtype)
    return int(np.iinfo(dtype).max) if dtype.kind in "ui" else 1


def is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f"


def _work_dtype(array: np.ndarray) -> np.dtype:
    """float32 for integer images, as torchvision promotes them; the float dtype otherwise."""
    return array.dtype if is_float(array) else np.dtype(np.float32)


def check_image(array: np.ndarray) -> None:
    if array.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(array: np.ndarray) -> list[int]:
    """[channels, height, width] of an (..., C, H, W) or (H, W) array."""
    check_image(array)
    channels = 1 if array.ndim == 2 else array.shape[-3]
    return [int(channels), int(array.shape[-2]), int(array.shape[-1])]


def check_channels(array: np.ndarray, permitted) -> None:
    channels = get_dimensions(array)[0]
    if channels not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {list(permitted)}, "
                        f"but found {channels}")


def check_at_least_3d(array: np.ndarray) -> None:
    check_image(array)
    if array.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, "
                        f"but found {array.ndim}")


def convert_image_dtype(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Rescale between integer ranges and [0, 1] floats (float -> int multiplies by
    ``max + 1 - 0.001`` and truncates, so only 1.0 becomes the maximum)."""
    if array.dtype == dtype:
        return array
    if is_float(array):
        if dtype.kind == "f":
            return array.astype(dtype)
        if (array.dtype == np.float32 and dtype in (np.int32, np.int64)) or \
                (array.dtype == np.float64 and dtype == np.int64):
            raise RuntimeError(f"The cast from {array.dtype} to {dtype} cannot be performed "
                               f"safely.")
        return (array * array.dtype.type(max_value(dtype) + 1.0 - 1e-3)).astype(dtype)
    input_max = max_value(array.dtype)
    if dtype.kind == "f":
        return array.astype(dtype) / dtype.type(input_max)
    output_max = max_value(dtype)
    if input_max > output_max:
        return (array // ((input_max + 1) // (output_max + 1))).astype(dtype)
    return array.astype(dtype) * dtype.type((output_max + 1) // (input_max + 1))


def hflip(array: np.ndarray) -> np.ndarray:
    check_image(array)
    return np.ascontiguousarray(array[..., ::-1])


def vflip(array: np.ndarray) -> np.ndarray:
    check_image(array)
    return np.ascontiguousarray(array[..., ::-1, :])


def crop(array: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The (height, width) window at (top, left); parts outside the image are zeros."""
    check_image(array)
    image_height, image_width = array.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > image_width or bottom > image_height:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(image_width, left), 0),
                        max(bottom - max(image_height, top), 0)]
        inside = array[..., max(top, 0):bottom, max(left, 0):right]
        return pad(inside, padding_ltrb, fill=0)
    return array[..., top:bottom, left:right]


def parse_padding(padding) -> list[int]:
    """``padding`` (int, or 1, 2 or 4 numbers) as [left, right, top, bottom]."""
    if isinstance(padding, numbers.Number):
        padding = [padding]
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return [padding[0], padding[2], padding[1], padding[3]]


def check_pad_arguments(padding, fill, padding_mode, fill_types) -> None:
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, fill_types):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in PADDING_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


def pad(array: np.ndarray, padding, fill=0, padding_mode: str = "constant") -> np.ndarray:
    """Pad the last two axes; negative padding crops. Modes as :func:`numpy.pad` names them,
    with torch's limit that a reflection is shorter than the image."""
    check_image(array)
    fill = 0 if fill is None else fill
    check_pad_arguments(padding, fill, padding_mode, (int, float))
    left, right, top, bottom = parse_padding(padding)
    height, width = array.shape[-2:]
    array = array[..., max(-top, 0):height - max(-bottom, 0), max(-left, 0):width - max(-right, 0)]
    widths = [(0, 0)] * (array.ndim - 2) + [(max(top, 0), max(bottom, 0)),
                                            (max(left, 0), max(right, 0))]
    if padding_mode == "constant":
        return np.pad(array, widths, mode="constant", constant_values=fill)
    if padding_mode == "reflect":
        for axis, (before, after) in zip((-2, -1), widths[-2:]):
            if max(before, after) >= array.shape[axis]:
                raise RuntimeError(f"Padding size should be less than the corresponding input "
                                   f"dimension, but got: padding ({before}, {after}) at dimension "
                                   f"{array.ndim + axis} of input {list(array.shape)}")
    return np.pad(array, widths, mode=padding_mode)


def rgb_to_grayscale(array: np.ndarray, num_output_channels: int = 1) -> np.ndarray:
    """ITU-R 601 luma ``0.2989 R + 0.587 G + 0.114 B`` in float32, cast back (truncating)."""
    check_at_least_3d(array)
    check_channels(array, (1, 3))
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if array.shape[-3] == 3:
        dtype = _work_dtype(array).type
        red, green, blue = (array[..., c, :, :].astype(dtype, copy=False) for c in range(3))
        luma = dtype(0.2989) * red + dtype(0.587) * green + dtype(0.114) * blue
        gray = luma.astype(array.dtype)[..., None, :, :]
    else:
        gray = array.copy()
    if num_output_channels == 3:
        return np.repeat(gray, 3, axis=-3) if gray.shape[-3] == 1 else gray
    return gray


def blend(first: np.ndarray, second: np.ndarray, ratio: float) -> np.ndarray:
    """``ratio * first + (1 - ratio) * second``, clamped to the value range, in first's dtype."""
    dtype = _work_dtype(first).type
    mixed = dtype(ratio) * first.astype(dtype, copy=False) \
        + dtype(1.0 - ratio) * second.astype(dtype, copy=False)
    return np.clip(mixed, 0, max_value(first.dtype)).astype(first.dtype)


def adjust_brightness(array: np.ndarray, factor: float) -> np.ndarray:
    if factor < 0:
        raise ValueError(f"brightness_factor ({factor}) is not non-negative.")
    check_image(array)
    check_channels(array, (1, 3))
    return blend(array, np.zeros_like(array), factor)


def adjust_contrast(array: np.ndarray, factor: float) -> np.ndarray:
    if factor < 0:
        raise ValueError(f"contrast_factor ({factor}) is not non-negative.")
    check_image(array)
    check_channels(array, (3, 1))
    dtype = _work_dtype(array)
    gray = rgb_to_grayscale(array) if get_dimensions(array)[0] == 3 else array
    mean = gray.astype(np.float64).mean(axis=(-3, -2, -1), keepdims=True).astype(dtype)
    return blend(array, mean, factor)


def adjust_saturation(array: np.ndarray, factor: float) -> np.ndarray:
    if factor < 0:
        raise ValueError(f"saturation_factor ({factor}) is not non-negative.")
    check_image(array)
    check_channels(array, (1, 3))
    if get_dimensions(array)[0] == 1:
        return array
    return blend(array, rgb_to_grayscale(array), factor)


def _rgb_to_hsv(image: np.ndarray) -> np.ndarray:
    red, green, blue = image[..., 0, :, :], image[..., 1, :, :], image[..., 2, :, :]
    maxc, minc = image.max(axis=-3), image.min(axis=-3)
    equal = maxc == minc
    chroma = maxc - minc
    one = image.dtype.type(1)
    saturation = chroma / np.where(equal, one, maxc)
    divisor = np.where(equal, one, chroma)
    rc, gc, bc = (maxc - red) / divisor, (maxc - green) / divisor, (maxc - blue) / divisor
    hue = (maxc == red) * (bc - gc) + ((maxc == green) & (maxc != red)) * (2.0 + rc - bc) \
        + ((maxc != green) & (maxc != red)) * (4.0 + gc - rc)
    hue = np.fmod(hue / image.dtype.type(6) + one, one)
    return np.stack((hue, saturation, maxc), axis=-3)


def _hsv_to_rgb(image: np.ndarray) -> np.ndarray:
    hue, saturation, value = image[..., 0, :, :], image[..., 1, :, :], image[..., 2, :, :]
    sector = np.floor(hue * 6)
    fraction = hue * 6 - sector
    sector = sector.astype(np.int32) % 6
    p = np.clip(value * (1 - saturation), 0, 1)
    q = np.clip(value * (1 - saturation * fraction), 0, 1)
    t = np.clip(value * (1 - saturation * (1 - fraction)), 0, 1)
    red = np.choose(sector, (value, q, p, p, t, value))
    green = np.choose(sector, (t, value, value, q, p, p))
    blue = np.choose(sector, (p, p, t, value, value, q))
    return np.stack((red, green, blue), axis=-3)


def adjust_hue(array: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue by ``factor`` turns in HSV space (float32), as torchvision's tensor path."""
    if not -0.5 <= factor <= 0.5:
        raise ValueError(f"hue_factor ({factor}) is not in [-0.5, 0.5].")
    check_image(array)
    check_channels(array, (1, 3))
    if get_dimensions(array)[0] == 1:
        return array
    image = convert_image_dtype(array, np.dtype(np.float32))
    hsv = _rgb_to_hsv(image)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + np.float32(factor), np.float32(1))
    return convert_image_dtype(_hsv_to_rgb(hsv), array.dtype)


def adjust_gamma(array: np.ndarray, gamma: float, gain: float = 1) -> np.ndarray:
    check_channels(array, (1, 3))
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    image = array if is_float(array) else convert_image_dtype(array, np.dtype(np.float32))
    dtype = image.dtype.type
    result = np.clip(dtype(gain) * image ** dtype(gamma), 0, 1)
    return convert_image_dtype(result, array.dtype)


def _depthwise_3x3_sharpen_blur(array: np.ndarray) -> np.ndarray:
    """The image with its interior replaced by the [[1,1,1],[1,5,1],[1,1,1]]/13 average."""
    dtype = _work_dtype(array)
    kernel = np.ones((3, 3), dtype)
    kernel[1, 1] = 5
    kernel /= kernel.sum()
    image = array.astype(dtype, copy=False)
    height, width = array.shape[-2:]
    blurred = sum(kernel[dy, dx] * image[..., dy:height - 2 + dy, dx:width - 2 + dx]
                  for dy in range(3) for dx in range(3))
    if not is_float(array):
        blurred = np.round(blurred)
    result = array.copy()
    result[..., 1:-1, 1:-1] = blurred.astype(array.dtype)
    return result


def adjust_sharpness(array: np.ndarray, factor: float) -> np.ndarray:
    if factor < 0:
        raise ValueError(f"sharpness_factor ({factor}) is not non-negative.")
    check_image(array)
    check_channels(array, (1, 3))
    if array.shape[-1] <= 2 or array.shape[-2] <= 2:
        return array
    return blend(array, _depthwise_3x3_sharpen_blur(array), factor)


def invert(array: np.ndarray) -> np.ndarray:
    check_at_least_3d(array)
    check_channels(array, (1, 3))
    return (array.dtype.type(max_value(array.dtype)) - array).astype(array.dtype)


def posterize(array: np.ndarray, bits: int) -> np.ndarray:
    check_at_least_3d(array)
    if array.dtype != np.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {array.dtype}")
    check_channels(array, (1, 3))
    return array & np.uint8(-int(2 ** (8 - bits)) & 0xFF)


def solarize(array: np.ndarray, threshold: float) -> np.ndarray:
    check_at_least_3d(array)
    check_channels(array, (1, 3))
    if threshold > max_value(array.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    return np.where(array >= threshold, invert(array), array)


def autocontrast(array: np.ndarray) -> np.ndarray:
    """Stretch each channel so its minimum becomes 0 and its maximum full intensity."""
    check_at_least_3d(array)
    check_channels(array, (1, 3))
    bound = max_value(array.dtype)
    dtype = _work_dtype(array)
    minimum = array.min(axis=(-2, -1), keepdims=True).astype(dtype)
    maximum = array.max(axis=(-2, -1), keepdims=True).astype(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        # torch evaluates ``bound / tensor`` as ``tensor.reciprocal() * bound``
        scale = np.reciprocal(maximum - minimum) * dtype.type(bound)
    flat = ~np.isfinite(scale)
    minimum[flat], scale[flat] = 0, 1
    return np.clip((array - minimum) * scale, 0, bound).astype(array.dtype)


def _equalize_channel(channel: np.ndarray) -> np.ndarray:
    histogram = np.bincount(channel.reshape(-1), minlength=256)
    nonzero = histogram[histogram != 0]
    step = int(nonzero[:-1].sum()) // 255
    if step == 0:
        return channel
    lut = (np.cumsum(histogram) + step // 2) // step
    lut = np.clip(np.concatenate(([0], lut[:-1])), 0, 255)
    return lut[channel].astype(np.uint8)


def equalize(array: np.ndarray) -> np.ndarray:
    """Histogram equalisation per channel of a uint8 (C, H, W) or (N, C, H, W) image."""
    check_image(array)
    if not 3 <= array.ndim <= 4:
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {array.ndim}")
    if array.dtype != np.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {array.dtype}")
    check_channels(array, (1, 3))
    planes = array.reshape(-1, *array.shape[-2:])
    return np.stack([_equalize_channel(plane) for plane in planes]).reshape(array.shape)
