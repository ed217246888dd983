"""The colour operations of :mod:`.functional` (re-exported there): brightness, contrast,
saturation, hue, gamma, sharpness, grey, and the AutoAugment operations (invert, posterize,
solarize, autocontrast, equalize). PIL images go through Pillow's ``ImageEnhance`` and
``ImageOps``; tensors through :mod:`._functional_tensor`.

Example:
    >>> import convnet
    >>> adjust_brightness(convnet.tensor([[[0.2, 0.6]]]), 2.0).tolist()
    [[[0.4000000059604645, 1.0]]]
"""

from __future__ import annotations

from ...tensor import Tensor
from . import _functional_pil as F_pil, _functional_tensor as F_t


def _apply(img, pil_function, array_function, *args):
    if isinstance(img, Tensor):
        return Tensor(array_function(img.data, *args))
    return pil_function(img, *args)


def adjust_brightness(img, brightness_factor: float):
    """Multiply intensities by ``brightness_factor`` (0: black, 1: unchanged), clamped.

    Example:
        >>> import convnet
        >>> adjust_brightness(convnet.tensor([[[100, 200]]], dtype=convnet.uint8), 1.5).tolist()
        [[[150, 255]]]
    """
    return _apply(img, F_pil.adjust_brightness, F_t.adjust_brightness, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0: flat grey, 1: unchanged, 2: doubled contrast).

    Example:
        >>> import convnet
        >>> adjust_contrast(convnet.tensor([[[0.0, 1.0]]]), 0.0).tolist()
        [[[0.5, 0.5]]]
    """
    return _apply(img, F_pil.adjust_contrast, F_t.adjust_contrast, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image (0: grey, 1: unchanged); one-channel images are unchanged.

    Example:
        >>> import convnet
        >>> adjust_saturation(convnet.tensor([[[1.0]], [[0.0]], [[0.0]]]), 0.0).flatten().tolist()
        [0.2989000082015991, 0.2989000082015991, 0.2989000082015991]
    """
    return _apply(img, F_pil.adjust_saturation, F_t.adjust_saturation, saturation_factor)


def adjust_hue(img, hue_factor: float):
    """Rotate the hue by ``hue_factor`` turns, in [-0.5, 0.5]; grey images are unchanged.

    Example:
        >>> import convnet
        >>> red = convnet.tensor([[[1.0]], [[0.0]], [[0.0]]])
        >>> adjust_hue(red, 1 / 3).flatten().tolist()          # red -> green
        [0.0, 1.0, 0.0]
    """
    return _apply(img, F_pil.adjust_hue, F_t.adjust_hue, hue_factor)


def adjust_gamma(img, gamma: float, gain: float = 1):
    """``gain * image ** gamma`` on the [0, 1] scale.

    Example:
        >>> import convnet
        >>> adjust_gamma(convnet.tensor([[[0.25]]]), 0.5).item()
        0.5
    """
    return _apply(img, F_pil.adjust_gamma, F_t.adjust_gamma, gamma, gain)


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a 3x3-smoothed copy (0: smooth, 1: unchanged, 2: sharpened); the border
    pixels keep their values.

    Example:
        >>> import convnet
        >>> adjust_sharpness(convnet.ones(3, 4, 4), 2.0).mean().item()
        1.0
    """
    return _apply(img, F_pil.adjust_sharpness, F_t.adjust_sharpness, sharpness_factor)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` with 1 or 3 (equal) output channels.

    Example:
        >>> import convnet
        >>> rgb_to_grayscale(convnet.ones(3, 2, 2), 3).shape
        (3, 2, 2)
    """
    return _apply(img, F_pil.to_grayscale, F_t.rgb_to_grayscale, num_output_channels)


def to_grayscale(img, num_output_channels: int = 1):
    """A PIL image of any mode in grey (Pillow's ``convert('L')``), 1 or 3 channels.

    Example:
        >>> from PIL import Image
        >>> to_grayscale(Image.new("RGB", (2, 2), (255, 0, 0))).getpixel((0, 0))
        76
    """
    if not F_pil.is_pil_image(img):
        raise TypeError("Input should be PIL Image")
    return F_pil.to_grayscale(img, num_output_channels)


def invert(img):
    """Full intensity minus the image.

    Example:
        >>> import convnet
        >>> invert(convnet.tensor([[[0.25]]])).item()
        0.75
    """
    return _apply(img, F_pil.invert, F_t.invert)


def posterize(img, bits: int):
    """Keep the ``bits`` highest bits of each uint8 value.

    Example:
        >>> import convnet
        >>> posterize(convnet.tensor([[[255, 100]]], dtype=convnet.uint8), 2).tolist()
        [[[192, 64]]]
    """
    if not 0 <= bits <= 8:
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    return _apply(img, F_pil.posterize, F_t.posterize, bits)


def solarize(img, threshold: float):
    """Invert every value at or above ``threshold``.

    Example:
        >>> import convnet
        >>> solarize(convnet.tensor([[[10, 200]]], dtype=convnet.uint8), 128).tolist()
        [[[10, 55]]]
    """
    return _apply(img, F_pil.solarize, F_t.solarize, threshold)


def autocontrast(img):
    """Stretch each channel to the full range (its minimum to 0, its maximum to full).

    Example:
        >>> import convnet
        >>> autocontrast(convnet.tensor([[[0.25, 0.5]]])).tolist()
        [[[0.0, 1.0]]]
    """
    return _apply(img, F_pil.autocontrast, F_t.autocontrast)


def equalize(img):
    """Equalise the histogram of each channel of a uint8 image.

    Example:
        >>> import convnet
        >>> image = convnet.tensor([[[0] * 300 + [10] * 300 + [20] * 300]], dtype=convnet.uint8)
        >>> sorted(set(equalize(image).flatten().tolist()))
        [0, 150, 255]
    """
    return _apply(img, F_pil.equalize, F_t.equalize)
