"""VGG 11/13/16/19, with and without batch norm, under torchvision's names
(``features.0.weight``, ``classifier.6.bias``).

``features`` is a stack of 3x3 convolutions (padding 1, so the size is kept) and ReLUs,
with 2x2 max pooling of stride 2 where the configuration says ``'M'``:

- ``'A'`` (vgg11): 64 M 128 M 256 256 M 512 512 M 512 512 M
- ``'B'`` (vgg13): 64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
- ``'D'`` (vgg16): 64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
- ``'E'`` (vgg19): 64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

``_bn`` variants put a batch norm between each convolution and its ReLU. Then adaptive
average pooling to 7x7 (from any size: a 32x32 input reaches it as 1x1, repeated) and
the classifier ``[25088 -> 4096, ReLU, dropout, 4096 -> 4096, ReLU, dropout,
4096 -> num_classes]``. Initialised as torchvision: convolutions
``kaiming_normal_(mode='fan_out', nonlinearity='relu')`` with zero bias, batch norm 1 and
0, linear weights N(0, 0.01^2) with zero bias.

The classifier holds 120 M of the 133-144 M parameters, so the example builds under
:func:`convnet.nn.init.skip_init` (no random draws) to stay quick.

Example:
    >>> from convnet.nn.init import skip_init
    >>> from convnet.vision.models import vgg11_bn
    >>> with skip_init():
    ...     model = vgg11_bn(num_classes=10)
    >>> list(model.state_dict())[:6]  # doctest: +NORMALIZE_WHITESPACE
    ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias',
     'features.1.running_mean', 'features.1.running_var']
    >>> model.classifier[6].weight.shape
    (10, 4096)
"""

from __future__ import annotations

import convnet

from ... import nn
from ._registry import build, register_model

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """``features`` (a Sequential ending in 512 channels), 7x7 average pool, classifier.

    Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    if module.bias is not None:
                        nn.init.constant_(module.bias, 0)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.constant_(module.weight, 1)
                    nn.init.constant_(module.bias, 0)
                elif isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)
                    nn.init.constant_(module.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(convnet.flatten(x, 1))


def make_layers(cfg, batch_norm: bool = False) -> nn.Sequential:
    """The ``features`` Sequential for a configuration: ints are 3x3 convolutions with that
    many channels (then batch norm if asked, then ReLU), ``'M'`` a 2x2 max pool of stride 2."""
    layers = []
    in_channels = 3
    for entry in cfg:
        if entry == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, entry, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(entry))
        layers.append(nn.ReLU(inplace=True))
        in_channels = entry
    return nn.Sequential(*layers)


def _vgg(arch: str, cfg: str, batch_norm: bool, weights, progress, kwargs) -> VGG:
    def make(**config):
        return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **config)
    return build(arch, make, weights, progress, kwargs)


def _register(arch: str, enum: str, file: str, **extra):
    return register_model(arch, enum=enum, files={"IMAGENET1K_V1": file, **extra})


@_register("vgg11", "VGG11_Weights", "vgg11-8a719046.pth")
def vgg11(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (configuration 'A'); 132.9 M parameters."""
    return _vgg("vgg11", "A", False, weights, progress, kwargs)


@_register("vgg11_bn", "VGG11_BN_Weights", "vgg11_bn-6002323d.pth")
def vgg11_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 with batch norm."""
    return _vgg("vgg11_bn", "A", True, weights, progress, kwargs)


@_register("vgg13", "VGG13_Weights", "vgg13-19584684.pth")
def vgg13(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (configuration 'B'); 133.0 M parameters."""
    return _vgg("vgg13", "B", False, weights, progress, kwargs)


@_register("vgg13_bn", "VGG13_BN_Weights", "vgg13_bn-abd245e5.pth")
def vgg13_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 with batch norm."""
    return _vgg("vgg13_bn", "B", True, weights, progress, kwargs)


@_register("vgg16", "VGG16_Weights", "vgg16-397923af.pth",
           IMAGENET1K_FEATURES="vgg16_features-amdegroot-88682ab5.pth")
def vgg16(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (configuration 'D'); 138.4 M parameters."""
    return _vgg("vgg16", "D", False, weights, progress, kwargs)


@_register("vgg16_bn", "VGG16_BN_Weights", "vgg16_bn-6c64b313.pth")
def vgg16_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 with batch norm."""
    return _vgg("vgg16_bn", "D", True, weights, progress, kwargs)


@_register("vgg19", "VGG19_Weights", "vgg19-dcbb9e9d.pth")
def vgg19(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (configuration 'E'); 143.7 M parameters."""
    return _vgg("vgg19", "E", False, weights, progress, kwargs)


@_register("vgg19_bn", "VGG19_BN_Weights", "vgg19_bn-c79401a0.pth")
def vgg19_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 with batch norm."""
    return _vgg("vgg19_bn", "E", True, weights, progress, kwargs)
