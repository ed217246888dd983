"""RegNetX and RegNetY, 400MF to 8GF (Radosavovic et al. 2020), under torchvision's names:
``trunk_output.block2.block2-0.f.b.0.weight``.

A RegNet is generated, not drawn: block ``j`` of ``depth`` gets the width
``w_0 + w_a * j``, which is snapped to the geometric grid ``w_0 * w_m^k`` and rounded to a
multiple of 8 (:meth:`BlockParams.from_init_params`); runs of equal widths become the
stages (each starting with stride 2), and each width is adjusted so that its bottleneck
divides into groups of ``group_width`` channels. Every block is a residual bottleneck:
1x1, grouped 3x3 (the stage's stride on its first block), for RegNetY a squeeze-excitation
(to a quarter of the block's input width), 1x1 without activation; a 1x1 projection of the
input where the width or stride changes; ReLU after the sum. Stem: 3x3 stride-2 to 32
channels; head: global average pooling and a linear layer.

=============  =====  =====  ======  ====  ===========
model          depth  w_0    w_a     w_m   group width
=============  =====  =====  ======  ====  ===========
regnet_x_400mf 22     24     24.48   2.54  16
regnet_x_800mf 16     56     35.73   2.28  16
regnet_x_1_6gf 18     80     34.01   2.25  24
regnet_x_3_2gf 25     88     26.31   2.25  48
regnet_x_8gf   23     80     49.56   2.88  120
regnet_y_400mf 16     48     27.89   2.09  8
regnet_y_800mf 14     56     38.84   2.4   16
regnet_y_1_6gf 27     48     20.71   2.65  24
regnet_y_3_2gf 21     80     42.63   2.66  24
regnet_y_8gf   17     192    76.82   2.19  56
=============  =====  =====  ======  ====  ===========

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import regnet_y_400mf
    >>> model = regnet_y_400mf(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> params = BlockParams.from_init_params(16, 48, 27.89, 2.09, 8, se_ratio=0.25)
    >>> params.depths, params.widths
    ([1, 3, 6, 6], [48, 104, 208, 440])
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

import numpy as np

import convnet

from ... import nn
from ._registry import build, register_model
from .mobilenetv2 import Conv2dNormActivation, _make_divisible
from .mobilenetv3 import SqueezeExcitation

__all__ = ["RegNet", "BlockParams", "ResBottleneckBlock", "regnet_x_400mf", "regnet_x_800mf",
           "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_y_400mf",
           "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf"]


class SimpleStemIN(Conv2dNormActivation):
    """3x3 stride-2 convolution, norm, activation."""

    def __init__(self, width_in: int, width_out: int, norm_layer, activation_layer):
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """``a``: 1x1 to the bottleneck width ``round(width_out * bottleneck_multiplier)``;
    ``b``: grouped 3x3 with ``stride``; ``se`` (RegNetY); ``c``: 1x1 to ``width_out``."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer,
                 activation_layer, group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None):
        bottleneck = int(round(width_out * bottleneck_multiplier))
        layers = OrderedDict()
        layers["a"] = Conv2dNormActivation(width_in, bottleneck, kernel_size=1,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(bottleneck, bottleneck, kernel_size=3, stride=stride,
                                           groups=bottleneck // group_width,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:
            layers["se"] = SqueezeExcitation(bottleneck, int(round(se_ratio * width_in)),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(bottleneck, width_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``activation(proj(x) + f(x))``; ``proj`` is the identity unless the width or the
    stride changes."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer,
                 activation_layer, group_width: int = 1, bottleneck_multiplier: float = 1.0,
                 se_ratio: float | None = None):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer,
                                     group_width, bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks named ``block{stage_index}-{i}``; only the first changes the width
    and applies ``stride``."""

    def __init__(self, width_in: int, width_out: int, stride: int, depth: int,
                 block_constructor, norm_layer, activation_layer, group_width: int,
                 bottleneck_multiplier: float, se_ratio: float | None = None,
                 stage_index: int = 0):
        super().__init__()
        for i in range(depth):
            self.add_module(f"block{stage_index}-{i}", block_constructor(
                width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio))


class BlockParams:
    """Per-stage ``depths``, ``widths``, ``group_widths``, ``bottleneck_multipliers``,
    ``strides`` and the network's ``se_ratio``."""

    def __init__(self, depths, widths, group_widths, bottleneck_multipliers, strides,
                 se_ratio: float | None = None):
        self.depths, self.widths, self.group_widths = depths, widths, group_widths
        self.bottleneck_multipliers, self.strides = bottleneck_multipliers, strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                         bottleneck_multiplier: float = 1.0, se_ratio: float | None = None,
                         **kwargs) -> "BlockParams":
        """The stages RegNet's rule makes of ``depth`` blocks (see the module doc); the
        arithmetic is float32, as torchvision's, so the rounding lands on the same widths."""
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        f32 = np.float32
        linear = np.arange(depth).astype(f32) * f32(w_a) + f32(w_0)
        steps = np.round(np.log(linear / f32(w_0)) / f32(math.log(w_m)))
        widths = (np.round(f32(w_0) * np.power(f32(w_m), steps) / f32(8)) * 8).astype(int)
        block_widths = widths.tolist()
        starts = [i for i, width in enumerate(block_widths)
                  if i == 0 or width != block_widths[i - 1]] + [depth]
        stage_widths = [block_widths[i] for i in starts[:-1]]
        stage_depths = np.diff(starts).tolist()
        stages = len(stage_widths)
        multipliers = [bottleneck_multiplier] * stages
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(
            stage_widths, multipliers, [group_width] * stages)
        return cls(stage_depths, stage_widths, group_widths, multipliers, [2] * stages,
                   se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths,
                   self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths, bottleneck_ratios, group_widths):
        """Widths whose bottlenecks are multiples of their (capped) group widths."""
        bottlenecks = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        groups = [min(g, w) for g, w in zip(group_widths, bottlenecks)]
        bottlenecks = [_make_divisible(w, g) for w, g in zip(bottlenecks, groups)]
        return [int(w / b) for w, b in zip(bottlenecks, bottleneck_ratios)], groups


class RegNet(nn.Module):
    """Shape: ``(N, 3, H, W) -> (N, num_classes)``."""

    def __init__(self, block_params: BlockParams, num_classes: int = 1000, stem_width: int = 32,
                 stem_type=None, block_type=None, norm_layer=None, activation=None):
        super().__init__()
        stem_type = SimpleStemIN if stem_type is None else stem_type
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        block_type = ResBottleneckBlock if block_type is None else block_type
        activation = nn.ReLU if activation is None else activation
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        width, stages = stem_width, []
        for i, (width_out, stride, depth, group_width, multiplier) in enumerate(
                block_params._get_expanded_params()):
            stages.append((f"block{i + 1}", AnyStage(
                width, width_out, stride, depth, block_type, norm_layer, activation,
                group_width, multiplier, block_params.se_ratio, stage_index=i + 1)))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=width, out_features=num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                kh, kw = module.kernel_size
                nn.init.normal_(module.weight, mean=0.0,
                                std=math.sqrt(2.0 / (kh * kw * module.out_channels)))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(convnet.flatten(x, 1))


# depth, w_0, w_a, w_m, group width, squeeze-excitation ratio
DESIGNS = {
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None),
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
}
# torchvision's published files: (IMAGENET1K_V1, IMAGENET1K_V2) hash suffixes
FILES = {"regnet_x_400mf": ("adf1edd5", "62229a5f"), "regnet_x_800mf": ("ad17e45c", "94a99ebd"),
         "regnet_x_1_6gf": ("e3633e7f", "a12f2b72"), "regnet_x_3_2gf": ("f342aeae", "7071aa85"),
         "regnet_x_8gf": ("03ceed89", "2b70d774"), "regnet_y_400mf": ("c65dace8", "e6988f5f"),
         "regnet_y_800mf": ("1b27b58c", "58fc7688"), "regnet_y_1_6gf": ("b11a554e", "0d7bc02a"),
         "regnet_y_3_2gf": ("b5a9779c", "9180c971"), "regnet_y_8gf": ("d0d0e4a8", "dc2b1b54")}


def _regnet(name: str, weights, progress, kwargs) -> RegNet:
    depth, w_0, w_a, w_m, group_width, se_ratio = DESIGNS[name]
    params = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m,
                                          group_width=group_width, se_ratio=se_ratio,
                                          **kwargs)
    kwargs = {key: value for key, value in kwargs.items() if key != "bottleneck_multiplier"}
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return build(name, lambda **config: RegNet(params, norm_layer=norm_layer, **config),
                 weights, progress, kwargs)


def _builder(name: str, summary: str):
    first, second = FILES[name]
    label = name.replace("regnet_", "").upper()

    def builder(*, weights=None, progress: bool = True, **kwargs) -> RegNet:
        return _regnet(name, weights, progress, kwargs)

    builder.__name__ = builder.__qualname__ = name  # named before the registry wraps it
    builder.__doc__ = f"{summary}; the design in this module's table."
    return register_model(name=name, enum=f"RegNet_{label}_Weights", default="IMAGENET1K_V2",
                          files={"IMAGENET1K_V1": f"{name}-{first}.pth",
                                 "IMAGENET1K_V2": f"{name}-{second}.pth"})(builder)


regnet_x_400mf = _builder("regnet_x_400mf", "RegNetX-400MF; 5.5 M parameters")
regnet_x_800mf = _builder("regnet_x_800mf", "RegNetX-800MF; 7.3 M parameters")
regnet_x_1_6gf = _builder("regnet_x_1_6gf", "RegNetX-1.6GF; 9.2 M parameters")
regnet_x_3_2gf = _builder("regnet_x_3_2gf", "RegNetX-3.2GF; 15.3 M parameters")
regnet_x_8gf = _builder("regnet_x_8gf", "RegNetX-8GF; 39.6 M parameters")
regnet_y_400mf = _builder("regnet_y_400mf", "RegNetY-400MF; 4.3 M parameters")
regnet_y_800mf = _builder("regnet_y_800mf", "RegNetY-800MF; 6.4 M parameters")
regnet_y_1_6gf = _builder("regnet_y_1_6gf", "RegNetY-1.6GF; 11.2 M parameters")
regnet_y_3_2gf = _builder("regnet_y_3_2gf", "RegNetY-3.2GF; 19.4 M parameters")
regnet_y_8gf = _builder("regnet_y_8gf", "RegNetY-8GF; 39.4 M parameters")
