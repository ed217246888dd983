"""The geometric classes of :mod:`.transforms` (re-exported there): resizing, cropping,
padding, flips, rotation and affine maps. Each random one draws its parameters in a
``get_params`` static method from convnet's generator, with torchvision's signature, so a
test (or a user) can fix the draws.

Example:
    >>> import convnet
    >>> RandomCrop(4, padding=2)
    RandomCrop(size=(4, 4), padding=2)
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
from .functional import InterpolationMode, _interpolation_modes_from_int, _setup_size


def _rng() -> np.random.Generator:
    return rng_of(None)


class Resize(Module):
    """Resize to ``size`` (h, w), or the shorter side to ``size`` (an int); see
    :func:`.functional.resize`.

    Example:
        >>> import convnet
        >>> Resize((2, 3))(convnet.zeros(1, 4, 6)).shape
        (1, 2, 3)
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        if isinstance(interpolation, int):
            interpolation = _interpolation_modes_from_int(interpolation)
        self.interpolation = interpolation

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


_SIZE_ERROR = "Please provide only two dimensions (h, w) for size."


class CenterCrop(Module):
    """The centred crop of ``size``, zero-padding first if the image is smaller.

    Example:
        >>> import convnet
        >>> CenterCrop(3)(convnet.zeros(1, 2, 2)).shape
        (1, 3, 3)
    """

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_ERROR)

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class Pad(Module):
    """Pad the borders (see :func:`.functional.pad`).

    Example:
        >>> import convnet
        >>> Pad((1, 2), fill=5)(convnet.zeros(1, 1, 1, dtype=convnet.uint8)).shape
        (1, 5, 3)
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        if isinstance(padding, Sequence) and len(padding) not in [1, 2, 4]:
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomCrop(Module):
    """A crop of ``size`` at a random place, after optional ``padding`` (and padding up to
    ``size`` if ``pad_if_needed``); ``fill`` and ``padding_mode`` as :class:`Pad`.

    Example:
        >>> import convnet
        >>> RandomCrop(32, padding=4)(convnet.zeros(3, 32, 32)).shape
        (3, 32, 32)
    """

    @staticmethod
    def get_params(img, output_size):
        """(top, left, height, width) of a random crop of ``output_size`` = (h, w)."""
        _, height, width = F.get_dimensions(img)
        crop_height, crop_width = output_size
        if height < crop_height or width < crop_width:
            raise ValueError(f"Required crop size {(crop_height, crop_width)} is larger than "
                             f"input image size {(height, width)}")
        if width == crop_width and height == crop_height:
            return 0, 0, height, width
        top = int(_rng().integers(0, height - crop_height + 1))
        left = int(_rng().integers(0, width - crop_width + 1))
        return top, left, crop_height, crop_width

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        super().__init__()
        self.size = tuple(_setup_size(size, error_msg=_SIZE_ERROR))
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Module):
    """Mirror left-right with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomHorizontalFlip(p=1.0)(convnet.tensor([[[1, 2]]])).tolist()
        [[[2, 1]]]
    """

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return F.hflip(img) if _rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``.

    Example:
        >>> import convnet
        >>> RandomVerticalFlip(p=1.0)(convnet.tensor([[[1], [2]]])).tolist()
        [[[2], [1]]]
    """

    def forward(self, img):
        return F.vflip(img) if _rng().random() < self.p else img


class RandomResizedCrop(Module):
    """A crop of random area (fraction ``scale`` of the image) and aspect ratio (``ratio``),
    resized to ``size``: Inception's augmentation.

    Example:
        >>> import convnet
        >>> RandomResizedCrop(8)(convnet.zeros(3, 20, 30)).shape
        (3, 8, 8)
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_ERROR)
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if isinstance(interpolation, int):
            interpolation = _interpolation_modes_from_int(interpolation)
        self.interpolation, self.antialias = interpolation, antialias
        self.scale, self.ratio = scale, ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """(top, left, height, width): up to 10 random tries, else the central crop of the
        aspect ratio nearest the image's within ``ratio``."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        rng = _rng()
        for _ in range(10):
            target_area = area * rng.uniform(scale[0], scale[1])
            aspect_ratio = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
            crop_width = int(round(math.sqrt(target_area * aspect_ratio)))
            crop_height = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < crop_width <= width and 0 < crop_height <= height:
                top = int(rng.integers(0, height - crop_height + 1))
                left = int(rng.integers(0, width - crop_width + 1))
                return top, left, crop_height, crop_width
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            crop_width, crop_height = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            crop_width, crop_height = int(round(height * max(ratio))), height
        else:
            crop_width, crop_height = width, height
        return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width

    def forward(self, img):
        top, left, height, width = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, top, left, height, width, self.size, self.interpolation,
                              antialias=self.antialias)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class FiveCrop(Module):
    """The four corner crops and the centre crop of ``size``, as a tuple.

    Example:
        >>> import convnet
        >>> len(FiveCrop(2)(convnet.zeros(1, 3, 3)))
        5
    """

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_ERROR)

    def forward(self, img):
        return F.five_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class TenCrop(Module):
    """:class:`FiveCrop` of the image and of its mirror image.

    Example:
        >>> import convnet
        >>> len(TenCrop(2, vertical_flip=True)(convnet.zeros(1, 3, 3)))
        10
    """

    def __init__(self, size, vertical_flip=False):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_ERROR)
        self.vertical_flip = vertical_flip

    def forward(self, img):
        return F.ten_crop(img, self.size, self.vertical_flip)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, vertical_flip={self.vertical_flip})"


def _check_sequence_input(x, name, req_sizes):
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join([str(s) for s in req_sizes])
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_angle(x, name, req_sizes=(2,)):
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    else:
        _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


def _check_fill(fill):
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError("Fill should be either a sequence or a number.")
    return fill


def _tensor_fill(fill, img, channels):
    """Torchvision's tensor convention: the fill as one float per channel."""
    if not isinstance(img, Tensor):
        return fill
    return [float(fill)] * channels if isinstance(fill, (int, float)) else [float(f) for f in fill]


class RandomRotation(Module):
    """Rotate by an angle drawn from ``degrees`` (d: [-d, d]); see :func:`.functional.rotate`.

    Example:
        >>> import convnet
        >>> RandomRotation((90, 90))(convnet.tensor([[[1, 2], [3, 4]]])).tolist()
        [[[2, 4], [1, 3]]]
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
                 fill=0):
        super().__init__()
        if isinstance(interpolation, int):
            interpolation = _interpolation_modes_from_int(interpolation)
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center, self.interpolation, self.expand = center, interpolation, expand
        self.fill = _check_fill(fill)

    @staticmethod
    def get_params(degrees):
        """An angle drawn uniformly from [degrees[0], degrees[1]]."""
        return float(_rng().uniform(float(degrees[0]), float(degrees[1])))

    def forward(self, img):
        channels, _, _ = F.get_dimensions(img)
        fill = _tensor_fill(self.fill, img, channels)
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        text = (f"{type(self).__name__}(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand}")
        text += f", center={self.center}" if self.center is not None else ""
        text += f", fill={self.fill}" if self.fill is not None else ""
        return text + ")"


class RandomAffine(Module):
    """A random affine map keeping the centre: rotation from ``degrees``, translation up to
    ``translate`` (fractions of width, height), ``scale`` range, ``shear`` (x range, or x and
    y ranges); see :func:`.functional.affine`.

    Example:
        >>> import convnet
        >>> RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1))(convnet.zeros(3, 8, 8)).shape
        (3, 8, 8)
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        super().__init__()
        if isinstance(interpolation, int):
            interpolation = _interpolation_modes_from_int(interpolation)
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            if any(not 0.0 <= t <= 1.0 for t in translate):
                raise ValueError("translation values should be between 0 and 1")
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            if any(s <= 0 for s in scale):
                raise ValueError("scale values should be positive")
        self.translate, self.scale = translate, scale
        self.shear = None if shear is None else _setup_angle(shear, name="shear", req_sizes=(2, 4))
        self.interpolation = interpolation
        self.fill = _check_fill(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """(angle, (tx, ty), scale, (shear_x, shear_y)) for ``img_size`` = [width, height]."""
        rng = _rng()
        angle = float(rng.uniform(float(degrees[0]), float(degrees[1])))
        translations = (0, 0)
        if translate is not None:
            max_dx, max_dy = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            translations = (int(round(rng.uniform(-max_dx, max_dx))),
                            int(round(rng.uniform(-max_dy, max_dy))))
        scale = 1.0
        if scale_ranges is not None:
            scale = float(rng.uniform(scale_ranges[0], scale_ranges[1]))
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = float(rng.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(rng.uniform(shears[2], shears[3]))
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img):
        channels, height, width = F.get_dimensions(img)
        fill = _tensor_fill(self.fill, img, channels)
        params = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                 [width, height])
        return F.affine(img, *params, interpolation=self.interpolation, fill=fill,
                        center=self.center)

    def __repr__(self) -> str:
        text = f"{type(self).__name__}(degrees={self.degrees}"
        text += f", translate={self.translate}" if self.translate is not None else ""
        text += f", scale={self.scale}" if self.scale is not None else ""
        text += f", shear={self.shear}" if self.shear is not None else ""
        text += (f", interpolation={self.interpolation.value}"
                 if self.interpolation != InterpolationMode.NEAREST else "")
        text += f", fill={self.fill}" if self.fill != 0 else ""
        text += f", center={self.center}" if self.center is not None else ""
        return text + ")"
