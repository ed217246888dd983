"""torchvision.transforms on convnet: ``import convnet.vision as torchvision`` and
``torchvision.transforms.Compose([...])`` work on PIL images and convnet Tensors.

- :mod:`.transforms`: the classes (Compose, ToTensor, Normalize, RandomCrop, ColorJitter, ...),
  each drawing its random parameters in ``get_params`` from convnet's generator;
- :mod:`.functional` (``import convnet.vision.transforms.functional as F``): the maths with
  explicit parameters;
- :mod:`.autoaugment`: TrivialAugmentWide, RandAugment;
- :func:`batch_random_crop_flip`: crop + flip of a whole uint8 batch in one vectorised pass.

Example:
    >>> import convnet
    >>> import convnet.vision as torchvision
    >>> transform = torchvision.transforms.Compose([
    ...     torchvision.transforms.ToTensor(),
    ...     torchvision.transforms.Normalize((0.5,), (0.5,))])
    >>> import numpy as np
    >>> transform(np.zeros((2, 2, 1), np.uint8)).tolist()
    [[[-1.0, -1.0], [-1.0, -1.0]]]
"""

from . import functional
from .autoaugment import RandAugment, TrivialAugmentWide
from .batch import batch_random_crop_flip
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transform_names

__all__ = [*_transform_names, "RandAugment", "TrivialAugmentWide", "batch_random_crop_flip",
           "functional"]
