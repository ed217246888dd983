"""torchvision.transforms' classes: each holds its parameters, draws its random ones in a
``get_params`` (from convnet's generator: ``convnet.manual_seed`` repeats a run) and calls
the maths in :mod:`.functional`. Names, arguments, defaults, reprs and errors are
torchvision's; the geometric classes are in :mod:`._geometry_transforms`, the photometric ones in
:mod:`._color_transforms`, both re-exported here.

Example:
    >>> import convnet
    >>> import convnet.vision.transforms as T
    >>> pipeline = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip()])
    >>> image = convnet.rand(3, 4, 4)
    >>> _ = convnet.manual_seed(0); first = pipeline(image)
    >>> _ = convnet.manual_seed(0); second = pipeline(image)
    >>> bool((first == second).all())
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import dtypes
from ...creation import rng_of
from ...nn import Module
from . import functional as F
from ._color_transforms import (ColorJitter, GaussianBlur, Grayscale,  # noqa: F401
                                RandomAdjustSharpness, RandomAutocontrast, RandomEqualize,
                                RandomErasing, RandomGrayscale, RandomInvert, RandomPosterize,
                                RandomSolarize)
from ._geometry_transforms import (CenterCrop, FiveCrop, Pad, RandomAffine,  # noqa: F401
                                   RandomCrop, RandomHorizontalFlip, RandomResizedCrop,
                                   RandomRotation, RandomVerticalFlip, Resize, TenCrop)
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "PILToTensor", "ConvertImageDtype", "ToPILImage", "Normalize",
           "Resize", "CenterCrop", "Pad", "Lambda", "RandomApply", "RandomChoice", "RandomOrder",
           "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomResizedCrop",
           "FiveCrop", "TenCrop", "ColorJitter", "RandomRotation", "RandomAffine", "Grayscale",
           "RandomGrayscale", "RandomErasing", "GaussianBlur", "InterpolationMode",
           "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize"]


def _rng() -> np.random.Generator:
    return rng_of(None)


def _listing(name: str, items, head: str = "") -> str:
    return name + "(" + head + "".join(f"\n    {t}" for t in items) + "\n)"


class Compose:
    """Apply ``transforms`` one after the other.

    Example:
        >>> import convnet
        >>> Compose([CenterCrop(2), Normalize([0.5], [0.5])])(convnet.ones(1, 4, 4)).shape
        (1, 2, 2)
    """

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        return _listing(type(self).__name__, self.transforms)


class ToTensor:
    """A PIL image or (H, W, C) array as a (C, H, W) tensor; uint8 becomes float in [0, 1]
    (see :func:`.functional.to_tensor`).

    Example:
        >>> from PIL import Image
        >>> ToTensor()(Image.new("L", (3, 2), 255)).tolist()
        [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]
    """

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """A PIL image as a (C, H, W) tensor of its own dtype, values unscaled.

    Example:
        >>> from PIL import Image
        >>> PILToTensor()(Image.new("L", (3, 2), 7)).dtype
        dtype('uint8')
    """

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ConvertImageDtype(Module):
    """Convert a tensor image to ``dtype``, rescaling its values.

    Example:
        >>> import convnet
        >>> image = convnet.tensor([[[255]]], dtype=convnet.uint8)
        >>> ConvertImageDtype(convnet.float32)(image).item()
        1.0
    """

    def __init__(self, dtype) -> None:
        super().__init__()
        self.dtype = dtypes.as_dtype(dtype)

    def forward(self, image):
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToPILImage:
    """A (C, H, W) tensor or (H, W, C) array as a PIL image of ``mode`` (inferred if None).

    Example:
        >>> import convnet
        >>> ToPILImage()(convnet.zeros(3, 2, 2)).mode
        'RGB'
    """

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        mode = f"mode={self.mode}" if self.mode is not None else ""
        return f"{type(self).__name__}({mode})"


class Normalize(Module):
    """``(x - mean) / std`` per channel of a float tensor image.

    Example:
        >>> import convnet
        >>> Normalize((0.5,), (0.25,))(convnet.ones(1, 1, 2)).tolist()
        [[[2.0, 2.0]]]
    """

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function.

    Example:
        >>> Lambda(lambda x: x * 2)(21)
        42
    """

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RandomTransforms:
    """Base of the classes that pick among a list of transforms.

    Example:
        >>> RandomTransforms([Lambda(abs)]).transforms[0](-1)
        1
    """

    def __init__(self, transforms):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        self.transforms = transforms

    def __call__(self, *args, **kwargs):
        raise NotImplementedError()

    def __repr__(self) -> str:
        return _listing(type(self).__name__, self.transforms)


class RandomApply(Module):
    """Apply all of ``transforms`` with probability ``p``, else none.

    Example:
        >>> RandomApply([Lambda(lambda x: x + 1)], p=1.0)(1)
        2
    """

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms, self.p = transforms, p

    def forward(self, img):
        if self.p < _rng().random():
            return img
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        return _listing(type(self).__name__, self.transforms, head=f"\n    p={self.p}")


class RandomOrder(RandomTransforms):
    """Apply ``transforms`` in a random order.

    Example:
        >>> RandomOrder([Lambda(lambda x: x + 1), Lambda(lambda x: x + 2)])(0)
        3
    """

    def __call__(self, img):
        for index in _rng().permutation(len(self.transforms)):
            img = self.transforms[index](img)
        return img


class RandomChoice(RandomTransforms):
    """Apply one of ``transforms``, picked with weights ``p`` (default: equal).

    Example:
        >>> RandomChoice([Lambda(lambda x: x + 1), Lambda(lambda x: x + 2)], p=[0, 1])(0)
        2
    """

    def __init__(self, transforms, p=None):
        super().__init__(transforms)
        if p is not None and not isinstance(p, Sequence):
            raise TypeError("Argument p should be a sequence")
        self.p = p

    def __call__(self, *args):
        if self.p is None:
            index = _rng().integers(len(self.transforms))
        else:
            if len(self.p) != len(self.transforms):
                raise ValueError("The number of weights does not match the population")
            weights = np.asarray(self.p, dtype=np.float64)
            index = _rng().choice(len(self.transforms), p=weights / weights.sum())
        return self.transforms[index](*args)

    def __repr__(self) -> str:
        return f"{super().__repr__()}(p={self.p})"
