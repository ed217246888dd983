"""The transforms on Pillow images: each is one Pillow call (``transpose``, ``crop``,
``resize``, ``rotate``, ``transform``, ``ImageEnhance``, ``ImageOps``), the calls torchvision
makes, so results on PIL images are pixel for pixel torchvision's.

Example:
    >>> from PIL import Image
    >>> image = Image.new("RGB", (5, 3))
    >>> get_dimensions(pad(image, [1, 2]))
    [3, 7, 7]
"""

from __future__ import annotations

import numbers

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from . import _functional_tensor as F_t


def is_pil_image(img) -> bool:
    return isinstance(img, Image.Image)


def _check(img) -> None:
    if not is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def get_dimensions(img) -> list[int]:
    """[channels, height, width]."""
    if not is_pil_image(img):
        raise TypeError(f"Unexpected type {type(img)}")
    return [len(img.getbands()), img.height, img.width]


def fromarray(array: np.ndarray, mode: str | None = None) -> Image.Image:
    """``array`` (H, W) or (H, W, C) as an image of ``mode``, its bytes read in that mode
    (Pillow's ``fromarray`` no longer takes a mode: this is what it used to do)."""
    if mode is None:
        return Image.fromarray(array)
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    return Image.frombuffer(mode, (width, height), array.tobytes(), "raw", mode, 0, 1)


def hflip(img):
    _check(img)
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    _check(img)
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def _enhance(img, enhancer, factor):
    _check(img)
    return enhancer(img).enhance(factor)


def adjust_brightness(img, factor):
    return _enhance(img, ImageEnhance.Brightness, factor)


def adjust_contrast(img, factor):
    return _enhance(img, ImageEnhance.Contrast, factor)


def adjust_saturation(img, factor):
    return _enhance(img, ImageEnhance.Color, factor)


def adjust_sharpness(img, factor):
    return _enhance(img, ImageEnhance.Sharpness, factor)


def adjust_hue(img, factor):
    """Shift Pillow's 8-bit hue channel by ``int(factor * 255)``, wrapping around."""
    if not -0.5 <= factor <= 0.5:
        raise ValueError(f"hue_factor ({factor}) is not in [-0.5, 0.5].")
    _check(img)
    if img.mode in {"L", "1", "I", "F"}:
        return img
    hue, saturation, value = img.convert("HSV").split()
    shifted = np.array(hue, dtype=np.uint8) + np.uint8(int(factor * 255) & 0xFF)
    return Image.merge("HSV", (fromarray(shifted, "L"), saturation, value)).convert(img.mode)


def adjust_gamma(img, gamma, gain=1.0):
    _check(img)
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    table = [int((255 + 1 - 1e-3) * gain * pow(level / 255.0, gamma)) for level in range(256)]
    return img.convert("RGB").point(table * 3).convert(img.mode)


def parse_fill(fill, img, name: str = "fillcolor") -> dict:
    """``fill`` as the keyword Pillow takes: one int per band (floats for mode F)."""
    channels = get_dimensions(img)[0]
    fill = 0 if fill is None else fill
    if isinstance(fill, (int, float)) and channels > 1:
        fill = tuple([fill] * channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * channels
        elif len(fill) != channels:
            raise ValueError(f"The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def pad(img, padding, fill=0, padding_mode="constant"):
    _check(img)
    F_t.check_pad_arguments(padding, fill, padding_mode, (numbers.Number, tuple, list))
    if isinstance(padding, (tuple, list)) and len(padding) == 1:
        padding = padding[0]
    if padding_mode == "constant":
        border = tuple(padding) if isinstance(padding, (tuple, list)) else padding
        palette = img.getpalette() if img.mode == "P" else None
        padded = ImageOps.expand(img, border=border, **parse_fill(fill, img, name="fill"))
        if palette is not None:
            padded.putpalette(palette)
        return padded
    left, right, top, bottom = F_t.parse_padding(padding)
    if any(p < 0 for p in (left, right, top, bottom)):
        img = img.crop((max(-left, 0), max(-top, 0), img.width - max(-right, 0),
                        img.height - max(-bottom, 0)))
    widths = [(max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))]
    array = np.asarray(img)
    padded = np.pad(array, widths + [(0, 0)] * (array.ndim - 2), mode=padding_mode)
    result = Image.fromarray(padded)
    if img.mode == "P":
        result.putpalette(img.getpalette())
    return result


def crop(img, top, left, height, width):
    _check(img)
    return img.crop((left, top, left + width, top + height))


def resize(img, size, interpolation=Image.Resampling.BILINEAR):
    """``img`` resized to ``size`` = [height, width]."""
    _check(img)
    if not (isinstance(size, list) and len(size) == 2):
        raise TypeError(f"Got inappropriate size arg: {size}")
    return img.resize((size[1], size[0]), interpolation)


def affine(img, matrix, interpolation=Image.Resampling.NEAREST, fill=None):
    """Pillow's affine transform: ``matrix`` maps each output pixel to its source."""
    _check(img)
    return img.transform(img.size, Image.Transform.AFFINE, matrix, interpolation,
                         **parse_fill(fill, img))


def rotate(img, angle, interpolation=Image.Resampling.NEAREST, expand=False, center=None,
           fill=None):
    _check(img)
    return img.rotate(angle, interpolation, expand, center, **parse_fill(fill, img))


def to_grayscale(img, num_output_channels):
    _check(img)
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    gray = img.convert("L")
    if num_output_channels == 1:
        return gray
    return fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")


def invert(img):
    _check(img)
    return ImageOps.invert(img)


def posterize(img, bits):
    _check(img)
    return ImageOps.posterize(img, bits)


def solarize(img, threshold):
    _check(img)
    return ImageOps.solarize(img, threshold)


def autocontrast(img):
    _check(img)
    return ImageOps.autocontrast(img)


def equalize(img):
    _check(img)
    return ImageOps.equalize(img)
