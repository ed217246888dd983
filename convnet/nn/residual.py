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
from .fusion import conv_bn_act
from .activation import ReLU
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
    """Two 3x3 convolutions with batch norm and a shortcut (see the module doc): option A
    (``shortcut='A'``, no parameters) or, where the block strides or widens, option B
    (``'B'``: a 1x1 convolution and batch norm named ``downsample``, as torchvision's).

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.BasicBlock(16, 32, stride=2)(convnet.zeros(1, 16, 8, 8)).shape
        (1, 32, 4, 4)
        >>> nn.BasicBlock(16, 32, stride=2, shortcut='B').downsample[0].weight.shape
        (32, 16, 1, 1)
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, rng=None,
                 shortcut: str = "A"):
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut: expected 'A' (subsample and zero-pad) or 'B' (1x1 "
                             f"projection), got {shortcut!r}")
        self.conv1 = Conv2d(in_channels, channels, 3, stride, 1, bias=False, rng=rng)
        self.bn1 = BatchNorm2d(channels)
        self.conv2 = Conv2d(channels, channels, 3, 1, 1, bias=False, rng=rng)
        self.bn2 = BatchNorm2d(channels)
        # ReLU layers (no parameters) rather than F.relu, so that the summary and the explorer
        # show the block's output: sum_relu is relu(branch + shortcut)
        self.relu, self.sum_relu = ReLU(), ReLU()
        self.stride, self.extra_channels = stride, channels - in_channels
        self.downsample = None
        if shortcut == "B" and (stride != 1 or channels != in_channels):
            self.downsample = Sequential(Conv2d(in_channels, channels, 1, stride, bias=False,
                                                rng=rng), BatchNorm2d(channels))

    def shortcut(self, x):
        if self.downsample is not None:
            return self.downsample(x)
        return option_a_shortcut(x, self.stride, self.extra_channels)

    def forward(self, x):
        # fused into two oneDNN primitives in inference (convnet.nn.fusion)
        out = conv_bn_act(self.conv1, self.bn1, self.relu, x)
        return conv_bn_act(self.conv2, self.bn2, self.sum_relu, out, self.shortcut(x))


class CifarResNet(Module):
    """The CIFAR ResNet of ``depth = 6n + 2`` layers (20, 32, 44, 56, 110, ...), or, with
    ``blocks``, any number of stages of basic blocks on a 3x3 stem (ResNet-18 for 32x32
    images: ``blocks=(2, 2, 2, 2)``, ``width=64``, ``shortcut='B'``).

    Args:
        depth: 6n + 2 with n >= 1; with ``blocks``, ``2 * sum(blocks) + 2``.
        num_classes: outputs of the last layer.
        in_channels: 3 for colour images.
        width: filters of the first stage (16 in the paper; each stage doubles it).
        rng: Generator or seed for the initial weights (He initialisation of the
            convolutions, as the paper).
        blocks: blocks per stage (default: three stages of ``(depth - 2) / 6``); every stage
            after the first starts with stride 2.
        shortcut: 'A' (the paper's CIFAR networks) or 'B' (1x1 projections, torchvision's).

    Shape: (N, in_channels, H, W) -> (N, num_classes); H and W divisible by 2^(stages - 1)
    keep the stages' sizes exact (32 -> 32, 16, 8).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 width: int = 16, rng=None, blocks=None, shortcut: str = "A"):
        super().__init__()
        if blocks is None:
            if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
                raise ValueError(f"depth: expected 6n + 2 with n >= 1 (20, 32, 44, 56, 110), "
                                 f"got {depth!r}")
            blocks = ((depth - 2) // 6,) * 3
        blocks = tuple(blocks)
        if not blocks or not all(isinstance(n, int) and n >= 1 for n in blocks) or \
                depth != 2 * sum(blocks) + 2:
            raise ValueError(f"blocks: expected stages of >= 1 blocks with depth = 2 * "
                             f"sum(blocks) + 2, got blocks={blocks!r}, depth={depth!r}")
        rng = resolve_rng(rng)            # one stream for every layer, drawn in turn
        self.depth, self.width = depth, width
        self.conv1 = Conv2d(in_channels, width, 3, 1, 1, bias=False, rng=rng)
        self.bn1 = BatchNorm2d(width)
        channels = width
        for stage, count in enumerate(blocks, start=1):
            stage_width, stride = width * 2 ** (stage - 1), 1 if stage == 1 else 2
            layers = []
            for index in range(count):
                layers.append(BasicBlock(channels, stage_width, stride if index == 0 else 1,
                                         rng=rng, shortcut=shortcut))
                channels = stage_width
            setattr(self, f"layer{stage}", Sequential(*layers))
        self.stages = len(blocks)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc = Linear(channels, num_classes, rng=rng)
        for module in self.modules():
            if isinstance(module, Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", rng=rng)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in range(1, self.stages + 1):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(self.avgpool(x).flatten(1))

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}"
