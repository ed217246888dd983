"""The photometric classes of :mod:`.transforms` (re-exported there): colour jitter, grey,
blur, erasing and the random AutoAugment operations. Random draws come from convnet's
generator, in ``get_params`` where torchvision has one.

Example:
    >>> import convnet
    >>> ColorJitter(brightness=0.5)
    ColorJitter(brightness=(0.5, 1.5), contrast=None, saturation=None, hue=None)
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ...creation import rng_of
from ...nn import Module
from ...tensor import Tensor
from . import functional as F


def _rng() -> np.random.Generator:
    return rng_of(None)


class ColorJitter(Module):
    """Random brightness, contrast, saturation and hue changes, applied in a random order.
    Each argument is a number ``v`` (factor drawn from [1 - v, 1 + v], hue: [-v, v]) or a
    (min, max) range.

    Example:
        >>> import convnet
        >>> ColorJitter(0.4, 0.4, 0.4, 0.1)(convnet.rand(3, 4, 4)).shape
        (3, 4, 4)
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                     clip_first_on_zero=False)

    def _check_input(self, value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        return None if value[0] == value[1] == center else tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """(order of the four adjustments as a tensor permutation of 0..3, then each factor or
        None)."""
        rng = _rng()
        order = Tensor(rng.permutation(4))
        factors = [None if r is None else float(rng.uniform(r[0], r[1]))
                   for r in (brightness, contrast, saturation, hue)]
        return (order, *factors)

    def forward(self, img):
        order, brightness, contrast, saturation, hue = self.get_params(
            self.brightness, self.contrast, self.saturation, self.hue)
        adjustments = ((F.adjust_brightness, brightness), (F.adjust_contrast, contrast),
                       (F.adjust_saturation, saturation), (F.adjust_hue, hue))
        for index in order:
            adjust, factor = adjustments[int(index)]
            if factor is not None:
                img = adjust(img, factor)
        return img

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class Grayscale(Module):
    """Convert to grey with 1 or 3 output channels.

    Example:
        >>> import convnet
        >>> Grayscale()(convnet.ones(3, 2, 2)).shape
        (1, 2, 2)
    """

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(Module):
    """Convert to grey (keeping the channel count) with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomGrayscale(p=1.0)(convnet.ones(3, 2, 2)).shape
        (3, 2, 2)
    """

    def __init__(self, p=0.1):
        super().__init__()
        self.p = p

    def forward(self, img):
        channels, _, _ = F.get_dimensions(img)
        if _rng().random() < self.p:
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomErasing(Module):
    """With probability ``p``, erase a random box of a tensor image (area fraction ``scale``,
    aspect ratio ``ratio``) with ``value``: a number, one per channel, or 'random' (normal
    noise).

    Example:
        >>> import convnet
        >>> RandomErasing(p=1.0, value=0.5)(convnet.zeros(3, 8, 8)).max().item()
        0.5
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """(top, left, height, width, values) of the box; up to 10 tries, else the whole image
        with itself as the values (no change)."""
        channels, height, width = img.shape[-3], img.shape[-2], img.shape[-1]
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        rng = _rng()
        for _ in range(10):
            erase_area = area * rng.uniform(scale[0], scale[1])
            aspect_ratio = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
            box_height = int(round(math.sqrt(erase_area * aspect_ratio)))
            box_width = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (box_height < height and box_width < width):
                continue
            if value is None:
                noise = rng.standard_normal((channels, box_height, box_width))
                values = Tensor(noise.astype(np.float32))
            else:
                values = Tensor(np.asarray(value, np.float32)[:, None, None])
            top = int(rng.integers(0, height - box_height + 1))
            left = int(rng.integers(0, width - box_width + 1))
            return top, left, box_height, box_width, values
        return 0, 0, height, width, img

    def forward(self, img):
        if _rng().random() < self.p:
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = [float(v) for v in self.value]
            if value is not None and len(value) not in (1, img.shape[-3]):
                raise ValueError(f"If value is a sequence, it should have either a single value or "
                                 f"{img.shape[-3]} (number of input channels)")
            top, left, height, width, values = self.get_params(img, self.scale, self.ratio, value)
            return F.erase(img, top, left, height, width, values, self.inplace)
        return img

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")


class GaussianBlur(Module):
    """Gaussian blur of ``kernel_size`` with sigma drawn from ``sigma`` (a (min, max) range or
    one value).

    Example:
        >>> import convnet
        >>> GaussianBlur(3, sigma=(0.1, 2.0))(convnet.ones(3, 5, 5)).shape
        (3, 5, 5)
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = F._setup_size(kernel_size,
                                         "Kernel size should be a tuple/list of two integers")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (sigma, sigma)
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError("sigma values should be positive and of the form (min, max).")
        else:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        """A sigma drawn uniformly from [sigma_min, sigma_max]."""
        return float(_rng().uniform(sigma_min, sigma_max))

    def forward(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, self.kernel_size, [sigma, sigma])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class _RandomlyApplied(Module):
    """Apply one functional operation with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def _operation(self, img):
        raise NotImplementedError

    def forward(self, img):
        return self._operation(img) if _rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomInvert(_RandomlyApplied):
    """Invert the colours with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomInvert(p=1.0)(convnet.zeros(1, 1, 1)).item()
        1.0
    """

    def _operation(self, img):
        return F.invert(img)


class RandomPosterize(_RandomlyApplied):
    """Keep ``bits`` bits per channel with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomPosterize(1, p=1.0)(convnet.tensor([[[200]]], dtype=convnet.uint8)).item()
        128
    """

    def __init__(self, bits, p=0.5):
        super().__init__(p)
        self.bits = bits

    def _operation(self, img):
        return F.posterize(img, self.bits)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bits={self.bits},p={self.p})"


class RandomSolarize(_RandomlyApplied):
    """Invert values at or above ``threshold`` with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomSolarize(0.5, p=1.0)(convnet.tensor([[[0.75]]])).item()
        0.25
    """

    def __init__(self, threshold, p=0.5):
        super().__init__(p)
        self.threshold = threshold

    def _operation(self, img):
        return F.solarize(img, self.threshold)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold},p={self.p})"


class RandomAdjustSharpness(_RandomlyApplied):
    """Adjust sharpness by ``sharpness_factor`` with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomAdjustSharpness(2.0, p=1.0)(convnet.ones(1, 3, 3)).shape
        (1, 3, 3)
    """

    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _operation(self, img):
        return F.adjust_sharpness(img, self.sharpness_factor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sharpness_factor={self.sharpness_factor},p={self.p})"


class RandomAutocontrast(_RandomlyApplied):
    """Autocontrast with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomAutocontrast(p=1.0)(convnet.tensor([[[0.2, 0.4]]])).tolist()
        [[[0.0, 1.0]]]
    """

    def _operation(self, img):
        return F.autocontrast(img)


class RandomEqualize(_RandomlyApplied):
    """Equalise the histogram with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomEqualize(p=0.0)(convnet.zeros(1, 1, 1, dtype=convnet.uint8)).item()
        0
    """

    def _operation(self, img):
        return F.equalize(img)
