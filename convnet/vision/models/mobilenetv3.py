"""MobileNetV3 large and small under torchvision's names (``features.4.block.2.fc1.weight``).

The block is MobileNetV2's inverted residual (expand 1x1, depthwise ``k x k``, project
1x1) with three changes, row by row in :func:`_mobilenet_v3_conf`'s tables: the kernel
is 3 or 5, the activation is ReLU (``'RE'``) or hard swish ``x * relu6(x + 3) / 6``
(``'HS'``), and some blocks recalibrate their channels with :class:`SqueezeExcitation`
(global average pool, 1x1 down to ``channels / 4`` rounded to 8, ReLU, 1x1 up, hard
sigmoid ``relu6(x + 3) / 6``, times the input). Batch norm has ``eps=0.001`` and
``momentum=0.01``. The head: 1x1 convolution to 6x the last width, hard swish, global
average pooling, ``Linear -> last_channel`` (1280 large, 1024 small), hard swish,
dropout, ``Linear -> num_classes``.

Builder options as torchvision's: ``width_mult``, ``reduced_tail`` (halve the last
stage), ``dilated`` (dilate the last stage instead of striding), ``dropout``.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import mobilenet_v3_small
    >>> model = mobilenet_v3_small(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> model.features[1].block[1]
    SqueezeExcitation(
      (avgpool): AdaptiveAvgPool2d(output_size=1)
      (fc1): Conv2d([8 | 1x1 s 1], in_channels=16)
      (fc2): Conv2d([16 | 1x1 s 1], in_channels=8)
      (activation): ReLU()
      (scale_activation): Hardsigmoid()
    )
"""

from __future__ import annotations

from functools import partial

import convnet

from ... import nn
from ._registry import build, register_model
from .mobilenetv2 import Conv2dNormActivation, _make_divisible, init_mobile_weights

__all__ = ["MobileNetV3", "InvertedResidualConfig", "InvertedResidual", "SqueezeExcitation",
           "mobilenet_v3_large", "mobilenet_v3_small"]


class SqueezeExcitation(nn.Module):
    """``input * scale_activation(fc2(activation(fc1(avgpool(input)))))``, as
    ``torchvision.ops.SqueezeExcitation``; ``fc1`` and ``fc2`` are 1x1 convolutions."""

    def __init__(self, input_channels: int, squeeze_channels: int, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x):
        return self._scale(x) * x


class InvertedResidualConfig:
    """One row of a MobileNetV3 table, widths scaled by ``width_mult`` and rounded to 8."""

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int,
                 out_channels: int, use_se: bool, activation: str, stride: int, dilation: int,
                 width_mult: float):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return _make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """Expand (1x1, if wider), depthwise ``kernel`` with stride or dilation, optional
    squeeze-excitation, project (1x1, no activation); plus the input where shapes allow."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer,
                 se_layer=partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(
            cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel,
            stride=1 if cnf.dilation > 1 else cnf.stride, dilation=cnf.dilation,
            groups=cnf.expanded_channels, norm_layer=norm_layer,
            activation_layer=activation_layer))
        if cnf.use_se:
            layers.append(se_layer(cnf.expanded_channels,
                                   _make_divisible(cnf.expanded_channels // 4, 8)))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3(nn.Module):
    """Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``. ``inverted_residual_setting``: a
    list of :class:`InvertedResidualConfig`; ``last_channel``: the hidden linear width."""

    def __init__(self, inverted_residual_setting, last_channel: int, num_classes: int = 1000,
                 block=None, norm_layer=None, dropout: float = 0.2, **kwargs):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(row, InvertedResidualConfig) for row in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")
        block = InvertedResidual if block is None else block
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first_channels = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(3, first_channels, kernel_size=3, stride=2,
                                       norm_layer=norm_layer, activation_layer=nn.Hardswish)]
        layers += [block(cnf, norm_layer) for cnf in inverted_residual_setting]
        last_in = inverted_residual_setting[-1].out_channels
        last_out = 6 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(last_out, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_mobile_weights(self, lambda linear: nn.init.normal_(linear.weight, 0, 0.01))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(convnet.flatten(x, 1))


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False,
                       dilated: bool = False, **kwargs):
    """(table of :class:`InvertedResidualConfig`, last_channel) for ``arch``."""
    divider = 2 if reduced_tail else 1
    dilation = 2 if dilated else 1
    row = partial(InvertedResidualConfig, width_mult=width_mult)
    adjust = partial(InvertedResidualConfig.adjust_channels, width_mult=width_mult)
    # input, kernel, expanded, output, squeeze-excitation, activation, stride, dilation
    if arch == "mobilenet_v3_large":
        table = [
            row(16, 3, 16, 16, False, "RE", 1, 1),
            row(16, 3, 64, 24, False, "RE", 2, 1),
            row(24, 3, 72, 24, False, "RE", 1, 1),
            row(24, 5, 72, 40, True, "RE", 2, 1),
            row(40, 5, 120, 40, True, "RE", 1, 1),
            row(40, 5, 120, 40, True, "RE", 1, 1),
            row(40, 3, 240, 80, False, "HS", 2, 1),
            row(80, 3, 200, 80, False, "HS", 1, 1),
            row(80, 3, 184, 80, False, "HS", 1, 1),
            row(80, 3, 184, 80, False, "HS", 1, 1),
            row(80, 3, 480, 112, True, "HS", 1, 1),
            row(112, 3, 672, 112, True, "HS", 1, 1),
            row(112, 5, 672, 160 // divider, True, "HS", 2, dilation),
            row(160 // divider, 5, 960 // divider, 160 // divider, True, "HS", 1, dilation),
            row(160 // divider, 5, 960 // divider, 160 // divider, True, "HS", 1, dilation),
        ]
        return table, adjust(1280 // divider)
    if arch == "mobilenet_v3_small":
        table = [
            row(16, 3, 16, 16, True, "RE", 2, 1),
            row(16, 3, 72, 24, False, "RE", 2, 1),
            row(24, 3, 88, 24, False, "RE", 1, 1),
            row(24, 5, 96, 40, True, "HS", 2, 1),
            row(40, 5, 240, 40, True, "HS", 1, 1),
            row(40, 5, 240, 40, True, "HS", 1, 1),
            row(40, 5, 120, 48, True, "HS", 1, 1),
            row(48, 5, 144, 48, True, "HS", 1, 1),
            row(48, 5, 288, 96 // divider, True, "HS", 2, dilation),
            row(96 // divider, 5, 576 // divider, 96 // divider, True, "HS", 1, dilation),
            row(96 // divider, 5, 576 // divider, 96 // divider, True, "HS", 1, dilation),
        ]
        return table, adjust(1024 // divider)
    raise ValueError(f"Unsupported model type {arch}")


def _mobilenet_v3(arch: str, weights, progress, kwargs) -> MobileNetV3:
    table, last_channel = _mobilenet_v3_conf(arch, **kwargs)
    return build(arch, lambda **config: MobileNetV3(table, last_channel, **config), weights,
                 progress, kwargs)


@register_model(enum="MobileNet_V3_Large_Weights", default="IMAGENET1K_V2",
                files={"IMAGENET1K_V1": "mobilenet_v3_large-8738ca79.pth",
                       "IMAGENET1K_V2": "mobilenet_v3_large-5c1a4163.pth"})
def mobilenet_v3_large(*, weights=None, progress: bool = True, **kwargs) -> MobileNetV3:
    """MobileNetV3-Large; 5.5 M parameters."""
    return _mobilenet_v3("mobilenet_v3_large", weights, progress, kwargs)


@register_model(enum="MobileNet_V3_Small_Weights",
                files={"IMAGENET1K_V1": "mobilenet_v3_small-047dcff4.pth"})
def mobilenet_v3_small(*, weights=None, progress: bool = True, **kwargs) -> MobileNetV3:
    """MobileNetV3-Small; 2.5 M parameters."""
    return _mobilenet_v3("mobilenet_v3_small", weights, progress, kwargs)
