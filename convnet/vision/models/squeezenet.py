"""SqueezeNet 1.0 and 1.1 under torchvision's names (``features.3.squeeze.weight``).

A :class:`Fire` module squeezes with a 1x1 convolution (``squeeze_planes`` channels, ReLU),
then expands with a 1x1 and a 3x3 convolution side by side (each with ReLU) and
concatenates them along the channels: ``expand1x1_planes + expand3x3_planes`` out.
Max pooling is 3x3 with stride 2 and ``ceil_mode=True``. The classifier is dropout, a
1x1 convolution to ``num_classes`` channels, ReLU and global average pooling, so
SqueezeNet has no linear layer. Version 1.1 starts with ``[64 | 3x3 s 2]`` instead of
``[96 | 7x7 s 2]`` and pools earlier: 2.4x less computation, the same accuracy.

Initialised as torchvision: ``kaiming_uniform_`` for every convolution but the last,
N(0, 0.01^2) for the last, zero biases. Smallest input: 21x21 (1.0), 17x17 (1.1).

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import squeezenet1_1
    >>> model = squeezenet1_1(num_classes=10).eval()
    >>> model(np.zeros((2, 3, 32, 32), dtype=np.float32)).shape
    (2, 10)
    >>> model.features[3]
    Fire(
      (squeeze): Conv2d([16 | 1x1 s 1], in_channels=64)
      (squeeze_activation): ReLU()
      (expand1x1): Conv2d([64 | 1x1 s 1], in_channels=16)
      (expand1x1_activation): ReLU()
      (expand3x3): Conv2d([64 | 3x3 s 1], in_channels=16, padding=1)
      (expand3x3_activation): ReLU()
    )
"""

from __future__ import annotations

import convnet

from ... import nn
from ._registry import build, register_model

__all__ = ["SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """Squeeze (1x1), then expand (1x1 and 3x3, concatenated); each convolution + ReLU."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return convnet.cat([self.expand1x1_activation(self.expand1x1(x)),
                            self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """``version`` '1_0' or '1_1'. Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.num_classes = num_classes

        def pool():
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256), pool(),
                Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is final_conv:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)

    def forward(self, x):
        return convnet.flatten(self.classifier(self.features(x)), 1)


@register_model(enum="SqueezeNet1_0_Weights",
                files={"IMAGENET1K_V1": "squeezenet1_0-b66bff10.pth"})
def squeezenet1_0(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.0; 1.25 M parameters."""
    return build("squeezenet1_0", lambda **config: SqueezeNet("1_0", **config), weights,
                 progress, kwargs)


@register_model(enum="SqueezeNet1_1_Weights",
                files={"IMAGENET1K_V1": "squeezenet1_1-b8a52dc0.pth"})
def squeezenet1_1(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.1; 1.24 M parameters, 2.4x less computation than 1.0."""
    return build("squeezenet1_1", lambda **config: SqueezeNet("1_1", **config), weights,
                 progress, kwargs)
