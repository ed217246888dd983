"""ShuffleNetV2 x0.5 / x1.0 / x1.5 / x2.0 under torchvision's names (``stage2.0.branch1.0.weight``).

A unit of stride 1 splits its channels in two halves, leaves the first alone and passes
the second through ``branch2`` (1x1, BN, ReLU, depthwise 3x3, BN, 1x1, BN, ReLU); a unit
of stride 2 feeds the whole input to both ``branch1`` (depthwise 3x3 s 2, BN, 1x1, BN,
ReLU) and ``branch2``. The halves are concatenated and the channels shuffled in two
groups (:func:`channel_shuffle`: channel ``g * per_group + i`` moves to ``i * groups + g``)
so that information crosses between the halves in the next unit. Stem ``[24 | 3x3 s 2]``,
BN, ReLU, 3x3 max pool s 2; stages 2-4 of 4, 8 and 4 units; ``conv5`` 1x1; global mean;
``fc``. Layers keep their default initialisation, as torchvision's.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import shufflenet_v2_x0_5
    >>> model = shufflenet_v2_x0_5(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> channel_shuffle(np.arange(6.0).reshape(1, 6, 1, 1), 2).data.ravel()
    array([0., 3., 1., 4., 2., 5.])
"""

from __future__ import annotations

import convnet

from ... import nn
from ._registry import build, register_model

__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"]


def channel_shuffle(x, groups: int):
    """``(N, C, H, W)`` seen as ``(N, groups, C / groups, H, W)``, the two group axes swapped."""
    x = convnet.as_tensor(x) if not isinstance(x, convnet.Tensor) else x
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width)
    x = convnet.transpose(x, 1, 2).contiguous()
    return x.view(batch, channels, height, width)


class InvertedResidual(nn.Module):
    """A ShuffleNetV2 unit: ``inp`` channels in, ``oup`` out, stride 1 (split) or 2 (both
    branches see the input)."""

    def __init__(self, inp: int, oup: int, stride: int):
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             f"values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                self.depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True),
            self.depthwise_conv(branch_features, branch_features, kernel_size=3,
                                stride=self.stride, padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))

    @staticmethod
    def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       bias: bool = False) -> nn.Conv2d:
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x):
        if self.stride == 1:
            kept, processed = x.chunk(2, dim=1)
            out = convnet.cat((kept, self.branch2(processed)), dim=1)
        else:
            out = convnet.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """``stages_repeats`` (3 ints), ``stages_out_channels`` (5 ints: stem, stages 2-4,
    conv5). Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``."""

    def __init__(self, stages_repeats, stages_out_channels, num_classes: int = 1000,
                 inverted_residual=InvertedResidual):
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        input_channels = 3
        output_channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, output_channels in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                                  stages_out_channels[1:]):
            units = [inverted_residual(input_channels, output_channels, 2)]
            units += [inverted_residual(output_channels, output_channels, 1)
                      for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*units))
            input_channels = output_channels
        output_channels = stages_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(output_channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


def _shufflenetv2(arch, repeats, channels, weights, progress, kwargs):
    return build(arch, lambda **config: ShuffleNetV2(repeats, channels, **config), weights,
                 progress, kwargs)


@register_model(enum="ShuffleNet_V2_X0_5_Weights",
                files={"IMAGENET1K_V1": "shufflenetv2_x0.5-f707e7126e.pth"})
def shufflenet_v2_x0_5(*, weights=None, progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNetV2 with 0.5x widths (48, 96, 192); 1.4 M parameters."""
    return _shufflenetv2("shufflenet_v2_x0_5", [4, 8, 4], [24, 48, 96, 192, 1024], weights,
                         progress, kwargs)


@register_model(enum="ShuffleNet_V2_X1_0_Weights",
                files={"IMAGENET1K_V1": "shufflenetv2_x1-5666bf0f80.pth"})
def shufflenet_v2_x1_0(*, weights=None, progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNetV2 with 1.0x widths (116, 232, 464); 2.3 M parameters."""
    return _shufflenetv2("shufflenet_v2_x1_0", [4, 8, 4], [24, 116, 232, 464, 1024], weights,
                         progress, kwargs)


@register_model(enum="ShuffleNet_V2_X1_5_Weights",
                files={"IMAGENET1K_V1": "shufflenetv2_x1_5-3c479a10.pth"})
def shufflenet_v2_x1_5(*, weights=None, progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNetV2 with 1.5x widths (176, 352, 704); 3.5 M parameters."""
    return _shufflenetv2("shufflenet_v2_x1_5", [4, 8, 4], [24, 176, 352, 704, 1024], weights,
                         progress, kwargs)


@register_model(enum="ShuffleNet_V2_X2_0_Weights",
                files={"IMAGENET1K_V1": "shufflenetv2_x2_0-8be3c8ee.pth"})
def shufflenet_v2_x2_0(*, weights=None, progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNetV2 with 2.0x widths (244, 488, 976) and a 2048-wide conv5; 7.4 M parameters."""
    return _shufflenetv2("shufflenet_v2_x2_0", [4, 8, 4], [24, 244, 488, 976, 2048], weights,
                         progress, kwargs)
