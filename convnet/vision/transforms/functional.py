"""torchvision.transforms.functional's names: the maths of every transform, with parameters
given explicitly (the classes in :mod:`.transforms` draw them at random and call these).

Each function takes a Pillow image or a convnet Tensor image (C, H, W) or batch
(N, C, H, W), float in [0, 1] or integer (uint8 in [0, 255]), and returns the same kind.
Pillow images go through Pillow (:mod:`._functional_pil`), exactly as torchvision sends
them; tensors through NumPy (:mod:`._functional_tensor`, :mod:`._resample`), computed as
torchvision computes them on tensors. Colour operations are in :mod:`._functional_color`,
conversions in :mod:`._functional_convert`, both re-exported here.

Example:
    >>> import convnet
    >>> import convnet.vision.transforms.functional as F
    >>> image = convnet.arange(12, dtype=convnet.uint8).reshape(1, 3, 4)
    >>> F.hflip(F.crop(image, 0, 1, 2, 2)).tolist()
    [[[2, 1], [6, 5]]]
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from enum import Enum

from ...tensor import Tensor
from . import _functional_pil as F_pil, _functional_tensor as F_t, _resample
from ._functional_convert import (convert_image_dtype, get_dimensions,  # noqa: F401
                                  get_image_num_channels, get_image_size, normalize,
                                  pil_to_tensor, to_pil_image, to_tensor)
from ._functional_color import (adjust_brightness, adjust_contrast, adjust_gamma,  # noqa: F401
                                adjust_hue, adjust_saturation, adjust_sharpness, autocontrast,
                                equalize, invert, posterize, rgb_to_grayscale, solarize,
                                to_grayscale)


__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "convert_image_dtype", "to_pil_image", "normalize",
           "resize", "pad", "crop", "center_crop", "resized_crop", "hflip", "vflip", "five_crop",
           "ten_crop", "rotate", "affine", "erase", "gaussian_blur", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue", "adjust_gamma",
           "adjust_sharpness", "rgb_to_grayscale", "to_grayscale", "invert", "posterize",
           "solarize", "autocontrast", "equalize"]

class InterpolationMode(Enum):
    """How resampling reads between pixels; tensors take NEAREST, NEAREST_EXACT, BILINEAR and
    BICUBIC (rotations and affine warps NEAREST and BILINEAR), PIL images all of them.

    Example:
        >>> InterpolationMode.BILINEAR.value
        'bilinear'
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_MODES_OF_PIL_INTS = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                      3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                      5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
pil_modes_mapping = {InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 2,
                     InterpolationMode.BICUBIC: 3, InterpolationMode.NEAREST_EXACT: 0,
                     InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
                     InterpolationMode.LANCZOS: 1}


def _interpolation_modes_from_int(i: int) -> InterpolationMode:
    return _MODES_OF_PIL_INTS[i]


def _interpolation(interpolation) -> InterpolationMode:
    if isinstance(interpolation, int):
        return _interpolation_modes_from_int(interpolation)
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    return interpolation


def _setup_size(size, error_msg):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size


def _apply(img, pil_function, array_function, *args):
    if isinstance(img, Tensor):
        return Tensor(array_function(img.data, *args))
    return pil_function(img, *args)


def _compute_resized_output_size(image_size, size, max_size=None) -> list[int]:
    height, width = image_size
    short, long = (width, height) if width <= height else (height, width)
    if len(size) == 2:
        return [size[0], size[1]]
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_width, new_height = (new_short, new_long) if width <= height else (new_long, new_short)
    return [new_height, new_width]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """``img`` resized to ``size`` = (h, w), or its shorter side to ``size`` (an int) keeping
    the aspect ratio (the longer side at most ``max_size``). PIL images always antialias.

    Example:
        >>> import convnet
        >>> resize(convnet.zeros(3, 10, 20), 5).shape
        (3, 5, 10)
    """
    interpolation = _interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1 "
                             "in torchscript mode.")
    _, height, width = get_dimensions(img)
    size = [size] if isinstance(size, int) else size
    output_size = _compute_resized_output_size((height, width), size, max_size)
    if [height, width] == output_size:
        return img
    if not isinstance(img, Tensor):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.")
        return F_pil.resize(img, output_size, pil_modes_mapping[interpolation])
    return Tensor(_resample.resize(img.data, output_size, interpolation.value, antialias))


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad each border: ``padding`` an int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` 'constant' (with ``fill``), 'edge', 'reflect' or 'symmetric'.

    Example:
        >>> import convnet
        >>> pad(convnet.tensor([[[1, 2, 3]]]), [2, 0], padding_mode="reflect").tolist()
        [[[3, 2, 1, 2, 3, 2, 1]]]
    """
    return _apply(img, F_pil.pad, F_t.pad, padding, fill, padding_mode)


def crop(img, top: int, left: int, height: int, width: int):
    """The (height, width) window whose top-left corner is (top, left); zeros outside.

    Example:
        >>> import convnet
        >>> crop(convnet.ones(1, 2, 2), -1, 0, 3, 2).flatten().tolist()
        [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    """
    return _apply(img, F_pil.crop, F_t.crop, top, left, height, width)


def center_crop(img, output_size):
    """The centred (h, w) window (an int: square), the image zero-padded first if smaller.

    Example:
        >>> import convnet
        >>> center_crop(convnet.arange(25).reshape(1, 5, 5), 1).tolist()
        [[[12]]]
    """
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        wider, taller = crop_width > image_width, crop_height > image_height
        padding_ltrb = [(crop_width - image_width) // 2 if wider else 0,
                        (crop_height - image_height) // 2 if taller else 0,
                        (crop_width - image_width + 1) // 2 if wider else 0,
                        (crop_height - image_height + 1) // 2 if taller else 0]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    top = int(round((image_height - crop_height) / 2.0))
    left = int(round((image_width - crop_width) / 2.0))
    return crop(img, top, left, crop_height, crop_width)


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """:func:`crop` then :func:`resize` to ``size``.

    Example:
        >>> import convnet
        >>> resized_crop(convnet.zeros(3, 8, 8), 0, 0, 4, 4, [2, 2]).shape
        (3, 2, 2)
    """
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left-right.

    Example:
        >>> import convnet
        >>> hflip(convnet.tensor([[[1, 2]]])).tolist()
        [[[2, 1]]]
    """
    return _apply(img, F_pil.hflip, F_t.hflip)


def vflip(img):
    """Mirror top-bottom.

    Example:
        >>> import convnet
        >>> vflip(convnet.tensor([[[1], [2]]])).tolist()
        [[[2], [1]]]
    """
    return _apply(img, F_pil.vflip, F_t.vflip)


def five_crop(img, size):
    """(top-left, top-right, bottom-left, bottom-right, centre) crops of ``size``.

    Example:
        >>> import convnet
        >>> [c.item() for c in five_crop(convnet.arange(9).reshape(1, 3, 3), 1)]
        [0, 2, 6, 8, 4]
    """
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        raise ValueError(f"Requested crop size {size} is bigger than input size "
                         f"{(image_height, image_width)}")
    bottom, right = image_height - crop_height, image_width - crop_width
    return (crop(img, 0, 0, crop_height, crop_width), crop(img, 0, right, crop_height, crop_width),
            crop(img, bottom, 0, crop_height, crop_width),
            crop(img, bottom, right, crop_height, crop_width),
            center_crop(img, [crop_height, crop_width]))


def ten_crop(img, size, vertical_flip: bool = False):
    """:func:`five_crop` of the image, then of its mirror (left-right, or top-bottom).

    Example:
        >>> import convnet
        >>> len(ten_crop(convnet.zeros(1, 4, 4), 2))
        10
    """
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return five_crop(img, size) + five_crop(vflip(img) if vertical_flip else hflip(img), size)


def _get_inverse_affine_matrix(center, angle, translate, scale, shear, inverted=True):
    """The 2x3 matrix (6 numbers) of ``T * C * R * S * Shear * C^-1``, or of its inverse
    (what Pillow and grid sampling need: output pixel -> source pixel)."""
    rotation, shear_x, shear_y = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rotation - shear_y) / math.cos(shear_y)
    b = -math.cos(rotation - shear_y) * math.tan(shear_x) / math.cos(shear_y) - math.sin(rotation)
    c = math.sin(rotation - shear_y) / math.cos(shear_y)
    d = -math.sin(rotation - shear_y) * math.tan(shear_x) / math.cos(shear_y) + math.cos(rotation)
    if inverted:
        matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
        matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
        matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
        matrix[2] += cx
        matrix[5] += cy
    else:
        matrix = [x * scale for x in (a, b, 0.0, c, d, 0.0)]
        matrix[2] += matrix[0] * (-cx) + matrix[1] * (-cy)
        matrix[5] += matrix[3] * (-cx) + matrix[4] * (-cy)
        matrix[2] += cx + tx
        matrix[5] += cy + ty
    return matrix


def _centred(center, img):
    """``center`` in pixels as an offset from the image centre (the tensor convention)."""
    if center is None:
        return [0.0, 0.0]
    _, height, width = get_dimensions(img)
    return [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image
    centre); ``expand`` grows the output to hold the whole rotated image.

    Example:
        >>> import convnet
        >>> rotate(convnet.tensor([[[1, 2], [3, 4]]]), 90.0).tolist()
        [[[2, 4], [1, 3]]]
    """
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not isinstance(img, Tensor):
        return F_pil.rotate(img, angle, pil_modes_mapping[interpolation], expand, center, fill)
    matrix = _get_inverse_affine_matrix(_centred(center, img), -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    width, height = img.shape[-1], img.shape[-2]
    out_size = _resample.affine_output_size(matrix, width, height) if expand else (width, height)
    return Tensor(_resample.warp_affine(img.data, matrix, interpolation.value, fill, out_size))


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Rotate (``angle`` degrees clockwise), scale, shear (degrees, x then y) about
    ``center`` (default: the image centre), then translate by ``translate`` pixels.

    Example:
        >>> import convnet
        >>> affine(convnet.tensor([[[1, 2, 3]]]), 0.0, [1, 0], 1.0, [0.0]).tolist()
        [[[0, 1, 2]]]
    """
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    angle = float(angle)
    shear = [shear, 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _, height, width = get_dimensions(img)
    if not isinstance(img, Tensor):
        center = [width * 0.5, height * 0.5] if center is None else center
        matrix = _get_inverse_affine_matrix(center, angle, translate, scale, shear)
        return F_pil.affine(img, matrix, pil_modes_mapping[interpolation], fill)
    translate = [1.0 * t for t in translate]
    matrix = _get_inverse_affine_matrix(_centred(center, img), angle, translate, scale, shear)
    return Tensor(_resample.warp_affine(img.data, matrix, interpolation.value, fill))


def erase(img: Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False) -> Tensor:
    """``img`` with the (h, w) box at (i, j) set to ``v`` (a value or a tensor).

    Example:
        >>> import convnet
        >>> erase(convnet.ones(1, 2, 2), 0, 0, 1, 2, convnet.tensor(0.0)).flatten().tolist()
        [0.0, 0.0, 1.0, 1.0]
    """
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    F_t.check_image(img.data)
    if inplace:
        img[..., i:i + h, j:j + w] = v
        return img
    array = img.data.copy()
    array[..., i:i + h, j:j + w] = v.data if isinstance(v, Tensor) else v
    return Tensor(array)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian of ``kernel_size`` (odd; (kx, ky) or one int) and ``sigma``
    (default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``), reflecting at the borders. PIL images are
    blurred as uint8 tensors, as torchvision does.

    Example:
        >>> import convnet
        >>> gaussian_blur(convnet.ones(3, 5, 5), 3, 1.0).sum().item()
        75.0
    """
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. "
                        f"Got {type(kernel_size)}")
    kernel_size = [kernel_size, kernel_size] if isinstance(kernel_size, int) else list(kernel_size)
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. "
                         f"Got {len(kernel_size)}")
    if any(k % 2 == 0 or k < 0 for k in kernel_size):
        raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    if any(s <= 0.0 for s in sigma):
        raise ValueError(f"sigma should have positive values. Got {sigma}")
    if isinstance(img, Tensor):
        return Tensor(_resample.gaussian_blur(img.data, kernel_size, sigma))
    if not F_pil.is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    blurred = _resample.gaussian_blur(pil_to_tensor(img).data, kernel_size, sigma)
    return to_pil_image(Tensor(blurred), mode=img.mode)
