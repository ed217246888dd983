"""AlexNet as torchvision builds it (the "one weird trick" single-tower variant), under its
names (``features.0.weight``, ``classifier.1.weight``).

``features``: ``[64 | 11x11 s 4, pad 2]`` ReLU, 3x3 max pool s 2, ``[192 | 5x5, pad 2]``
ReLU, max pool, ``[384 | 3x3]`` ReLU, ``[256 | 3x3]`` ReLU, ``[256 | 3x3]`` ReLU, max pool;
adaptive average pooling to 6x6; ``classifier``: dropout, 9216 -> 4096, ReLU, dropout,
4096 -> 4096, ReLU, 4096 -> ``num_classes``. The smallest input is 63x63 (the last max
pool needs a 3x3 map). Layers keep their default initialisation, as torchvision's.

The classifier holds 58 M of its 61 M parameters, so the example builds under
:func:`convnet.nn.init.skip_init` (no random draws) to stay quick.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> from convnet.nn.init import skip_init
    >>> from convnet.vision.models import alexnet
    >>> with skip_init():
    ...     model = alexnet(num_classes=10)
    >>> weights = [key for key in model.state_dict() if key.endswith('weight')]
    >>> weights  # doctest: +NORMALIZE_WHITESPACE
    ['features.0.weight', 'features.3.weight', 'features.6.weight', 'features.8.weight',
     'features.10.weight', 'classifier.1.weight', 'classifier.4.weight', 'classifier.6.weight']
    >>> for parameter in model.features.parameters():  # skip_init left them unset
    ...     _ = nn.init.zeros_(parameter)
    >>> model.features(np.zeros((1, 3, 63, 63), dtype=np.float32)).shape
    (1, 256, 1, 1)
"""

from __future__ import annotations

import convnet

from ... import nn
from ._registry import build, register_model

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Shape: ``(N, 3, H, W)`` with ``H, W >= 63`` -> ``(N, num_classes)``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(convnet.flatten(x, 1))


@register_model(enum="AlexNet_Weights", files={"IMAGENET1K_V1": "alexnet-owt-7be5be79.pth"})
def alexnet(*, weights=None, progress: bool = True, **kwargs) -> AlexNet:
    """AlexNet; ``num_classes`` and ``dropout`` go to :class:`AlexNet`."""
    return build("alexnet", AlexNet, weights, progress, kwargs)
