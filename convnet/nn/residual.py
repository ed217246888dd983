"""He et al. (2016)'s CIFAR ResNets: ``resnet20``, ``32``, ``44``, ``56`` and ``110``.

A network of depth ``6n + 2``: a 3x3 convolution of 16 filters, three stages of ``n``
residual blocks with 16, 32 and 64 filters (the second and third start with stride 2),
global average pooling and one fully connected layer. Each block is two 3x3 convolutions
with batch norm, ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; where a block halves
the size and doubles the width, the shortcut is the paper's option A: the input subsampled
by 2 and padded with zero channels, so the shortcut has no parameters (0.27 M for resnet20).

Module names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``, ``fc``).

Example:
    >>> import convnet, convnet.nn as nn
    >>> model = nn.CifarResNet(20, num_classes=10)
    >>> sum(p.size for p in model.parameters())
    269722
    >>> model(convnet.zeros(2, 3, 32, 32)).shape
    (2, 10)
"""

from __future__ import annotations

from .. import functional as F
from ..random import resolve_rng
from . import init
from .container import Sequential
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .pool import AdaptiveAvgPool2d
from .regularization import BatchNorm2d

__all__ = ["BasicBlock", "CifarResNet", "Residual"]


def option_a_shortcut(x, stride: int, extra_channels: int):
    """He et al.'s option-A shortcut: ``x`` subsampled by ``stride`` and padded with
    ``extra_channels`` zero channels (half before, half after), no parameters."""
    if stride != 1:
        x = x[:, :, ::stride, ::stride]
    if extra_channels:
        before = extra_channels // 2
        x = F.pad(x, (0, 0, 0, 0, before, extra_channels - before))
    return x


class Residual(Module):
    """``block(x) + shortcut(x)``: a residual block around any ``block`` (the notation's
    ``res( ... )``). The shortcut is the identity, or He et al.'s option A where the block
    strides by ``stride`` and widens by ``extra_channels``.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> block = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU())
        >>> nn.Residual(block, stride=2, extra_channels=4)(convnet.zeros(1, 4, 6, 6)).shape
        (1, 8, 3, 3)
    """

    def __init__(self, block: Module, stride: int = 1, extra_channels: int = 0):
        super().__init__()
        self.block = block
        self.stride, self.extra_channels = stride, extra_channels

    def forward(self, x):
        return self.block(x) + option_a_shortcut(x, self.stride, self.extra_channels)


class BasicBlock(Module):
    """Two 3x3 convolutions with batch norm and an option-A shortcut (see the module doc).

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.BasicBlock(16, 32, stride=2)(convnet.zeros(1, 16, 8, 8)).shape
        (1, 32, 4, 4)
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, rng=None):
        super().__init__()
        self.conv1 = Conv2d(in_channels, channels, 3, stride, 1, bias=False, rng=rng)
        self.bn1 = BatchNorm2d(channels)
        self.conv2 = Conv2d(channels, channels, 3, 1, 1, bias=False, rng=rng)
        self.bn2 = BatchNorm2d(channels)
        self.stride, self.extra_channels = stride, channels - in_channels

    def shortcut(self, x):
        return option_a_shortcut(x, self.stride, self.extra_channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(Module):
    """The CIFAR ResNet of ``depth = 6n + 2`` layers (20, 32, 44, 56, 110, ...).

    Args:
        depth: 6n + 2 with n >= 1.
        num_classes: outputs of the last layer.
        in_channels: 3 for colour images.
        width: filters of the first stage (16 in the paper; stages use 1x, 2x, 4x).
        rng: Generator or seed for the initial weights (He initialisation of the
            convolutions, as the paper).

    Shape: (N, in_channels, H, W) -> (N, num_classes); H and W divisible by 4 keep the
    three stages' sizes exact (32 -> 32, 16, 8).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 width: int = 16, rng=None):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth: expected 6n + 2 with n >= 1 (20, 32, 44, 56, 110), "
                             f"got {depth!r}")
        blocks = (depth - 2) // 6
        rng = resolve_rng(rng)            # one stream for every layer, drawn in turn
        self.depth, self.width = depth, width
        self.conv1 = Conv2d(in_channels, width, 3, 1, 1, bias=False, rng=rng)
        self.bn1 = BatchNorm2d(width)
        channels = width
        for stage, (stage_width, stride) in enumerate(((width, 1), (2 * width, 2),
                                                       (4 * width, 2)), start=1):
            layers = []
            for index in range(blocks):
                layers.append(BasicBlock(channels, stage_width, stride if index == 0 else 1,
                                         rng=rng))
                channels = stage_width
            setattr(self, f"layer{stage}", Sequential(*layers))
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc = Linear(channels, num_classes, rng=rng)
        for module in self.modules():
            if isinstance(module, Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", rng=rng)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}"
