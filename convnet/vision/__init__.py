"""torchvision's names on convnet: ``import convnet.vision as torchvision`` is the only change
a torchvision script needs.

- :mod:`convnet.vision.transforms`: Compose, ToTensor, Normalize, RandomCrop, ... (PIL images
  and tensors)
- :mod:`convnet.vision.models`: resnet18, vgg16, mobilenet_v2, ... under torchvision's module
  names, so ``state_dict`` keys match and torchvision's weights load

Example:
    >>> import convnet.vision as torchvision
    >>> torchvision.transforms.Normalize((0.5,), (0.5,))
    Normalize(mean=(0.5,), std=(0.5,))
"""

import importlib

_SUBMODULES = ("datasets", "transforms", "models", "utils", "io")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_SUBMODULES)
