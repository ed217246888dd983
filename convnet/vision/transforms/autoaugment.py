"""Automatic augmentation: :class:`TrivialAugmentWide` (one random operation at a random
strength) and :class:`RandAugment` (``num_ops`` random operations at a fixed strength), with
torchvision's operation sets and magnitude bins.

An operation's strength is one of ``num_magnitude_bins`` evenly spaced magnitudes (computed
in float32 as ``torch.linspace`` does, so the values are torchvision's to within one float32
rounding: torch's vectorised loop rounds a few bins the other way); signed
operations (shears, translations, rotation, the enhancements) are negated with probability
1/2. Images are PIL images or uint8 tensors (float tensors fail on Posterize and Solarize, as
in torchvision).

Example:
    >>> from PIL import Image
    >>> import convnet
    >>> _ = convnet.manual_seed(0)
    >>> TrivialAugmentWide()(Image.new("RGB", (8, 8), (200, 30, 60))).size
    (8, 8)
"""

from __future__ import annotations

import math

import numpy as np

from ...creation import rng_of
from ...nn import Module
from ...tensor import Tensor
from . import functional as F
from .functional import InterpolationMode

__all__ = ["RandAugment", "TrivialAugmentWide"]


def _linspace(start: float, end: float, steps: int) -> np.ndarray:
    """torch.linspace in float32: from the start for the first half, from the end after."""
    start, end = np.float32(start), np.float32(end)
    if steps == 1:
        return np.array([start])
    step = (end - start) / np.float32(steps - 1)
    index = np.arange(steps)
    from_start = start + step * index.astype(np.float32)
    from_end = end - step * (steps - index - 1).astype(np.float32)
    return np.where(index < steps // 2, from_start, from_end).astype(np.float32)


def _posterize_bits(num_bins: int, levels: int) -> np.ndarray:
    """Bits kept, from 8 down to ``8 - levels`` over the bins."""
    ratio = np.arange(num_bins).astype(np.float32) / np.float32((num_bins - 1) / levels)
    return 8 - np.round(ratio).astype(np.int64)


def _apply_op(img, op_name: str, magnitude: float, interpolation, fill):
    """One named operation at ``magnitude`` (shear: its tangent; translate: pixels; rotate:
    degrees; enhancements: factor - 1; posterize: bits; solarize: threshold)."""
    if op_name in ("ShearX", "ShearY"):
        shear = math.degrees(math.atan(magnitude))
        return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0,
                        shear=[shear, 0.0] if op_name == "ShearX" else [0.0, shear],
                        interpolation=interpolation, fill=fill, center=[0, 0])
    if op_name in ("TranslateX", "TranslateY"):
        shift = [int(magnitude), 0] if op_name == "TranslateX" else [0, int(magnitude)]
        return F.affine(img, angle=0.0, translate=shift, scale=1.0, interpolation=interpolation,
                        shear=[0.0, 0.0], fill=fill)
    if op_name == "Rotate":
        return F.rotate(img, magnitude, interpolation=interpolation, fill=fill)
    enhancements = {"Brightness": F.adjust_brightness, "Color": F.adjust_saturation,
                    "Contrast": F.adjust_contrast, "Sharpness": F.adjust_sharpness}
    if op_name in enhancements:
        return enhancements[op_name](img, 1.0 + magnitude)
    if op_name == "Posterize":
        return F.posterize(img, int(magnitude))
    if op_name == "Solarize":
        return F.solarize(img, magnitude)
    plain = {"AutoContrast": F.autocontrast, "Equalize": F.equalize, "Invert": F.invert,
             "Identity": lambda image: image}
    if op_name in plain:
        return plain[op_name](img)
    raise ValueError(f"The provided operator {op_name} is not recognized.")


def _fill_for(img, fill):
    if not isinstance(img, Tensor):
        return fill
    channels = F.get_dimensions(img)[0]
    if isinstance(fill, (int, float)):
        return [float(fill)] * channels
    return None if fill is None else [float(f) for f in fill]


def _draw_op(augmentation_space, magnitude_index=None):
    """(op_name, magnitude): a uniform operation, its bin (``magnitude_index`` or uniform),
    its sign."""
    rng = rng_of(None)
    names = list(augmentation_space)
    op_name = names[int(rng.integers(len(names)))]
    magnitudes, signed = augmentation_space[op_name]
    magnitude = 0.0
    if magnitudes.ndim > 0:
        index = int(rng.integers(len(magnitudes))) if magnitude_index is None else magnitude_index
        magnitude = float(magnitudes[index])
    if signed and rng.integers(2):
        magnitude *= -1.0
    return op_name, magnitude


def _common_space(num_bins: int, shear: float, translate_x: float, translate_y: float,
                  degrees: float, enhance: float, posterize_levels: int) -> dict:
    return {
        "Identity": (np.float32(0.0), False),
        "ShearX": (_linspace(0.0, shear, num_bins), True),
        "ShearY": (_linspace(0.0, shear, num_bins), True),
        "TranslateX": (_linspace(0.0, translate_x, num_bins), True),
        "TranslateY": (_linspace(0.0, translate_y, num_bins), True),
        "Rotate": (_linspace(0.0, degrees, num_bins), True),
        "Brightness": (_linspace(0.0, enhance, num_bins), True),
        "Color": (_linspace(0.0, enhance, num_bins), True),
        "Contrast": (_linspace(0.0, enhance, num_bins), True),
        "Sharpness": (_linspace(0.0, enhance, num_bins), True),
        "Posterize": (_posterize_bits(num_bins, posterize_levels), False),
        "Solarize": (_linspace(255.0, 0.0, num_bins), False),
        "AutoContrast": (np.float32(0.0), False),
        "Equalize": (np.float32(0.0), False),
    }


class RandAugment(Module):
    """``num_ops`` operations, each uniform among 14, all at bin ``magnitude`` of
    ``num_magnitude_bins`` (RandAugment, Cubuk et al. 2019).

    Example:
        >>> import convnet
        >>> RandAugment()(convnet.zeros(3, 8, 8, dtype=convnet.uint8)).shape
        (3, 8, 8)
    """

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self.num_ops, self.magnitude = num_ops, magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation, self.fill = interpolation, fill

    def _augmentation_space(self, num_bins: int, image_size) -> dict:
        """{op_name: (magnitudes, signed)} for an image of ``image_size`` = (height, width)."""
        return _common_space(num_bins, 0.3, 150.0 / 331.0 * image_size[1],
                             150.0 / 331.0 * image_size[0], 30.0, 0.9, 4)

    @staticmethod
    def get_params(augmentation_space: dict, magnitude_index: int):
        """(op_name, magnitude) of one operation (an extension: torchvision draws inline)."""
        return _draw_op(augmentation_space, magnitude_index)

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        space = self._augmentation_space(self.num_magnitude_bins, (height, width))
        for _ in range(self.num_ops):
            op_name, magnitude = self.get_params(space, self.magnitude)
            img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


class TrivialAugmentWide(Module):
    """One operation, uniform among 14, at a uniform bin of ``num_magnitude_bins`` over the
    wide ranges (TrivialAugment, Mueller and Hutter 2021).

    Example:
        >>> import convnet
        >>> TrivialAugmentWide(num_magnitude_bins=11).num_magnitude_bins
        11
    """

    def __init__(self, num_magnitude_bins: int = 31,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation, self.fill = interpolation, fill

    def _augmentation_space(self, num_bins: int) -> dict:
        """{op_name: (magnitudes, signed)}."""
        return _common_space(num_bins, 0.99, 32.0, 32.0, 135.0, 0.99, 6)

    @staticmethod
    def get_params(augmentation_space: dict):
        """(op_name, magnitude) of the operation (an extension: torchvision draws inline)."""
        return _draw_op(augmentation_space)

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        op_name, magnitude = self.get_params(self._augmentation_space(self.num_magnitude_bins))
        return _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")
