"""MobileNetV2 under torchvision's names (``features.1.conv.0.0.weight``), and the two helpers
torchvision's mobile networks share: :class:`Conv2dNormActivation` and :func:`_make_divisible`.

An :class:`InvertedResidual` block expands ``inp`` channels by ``expand_ratio`` with a 1x1
convolution, filters each channel alone with a 3x3 depthwise convolution (``groups =
channels``, the stride sits here), then projects linearly (1x1, batch norm, no ReLU) to
``oup`` channels; where the shapes allow (stride 1, ``inp == oup``) the input is added.
Activations are ReLU6. The network: ``[32 | 3x3 s 2]``, 17 blocks from the table
``(t expand, c channels, n repeats, s stride)`` = (1,16,1,1) (6,24,2,2) (6,32,3,2)
(6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1), a 1x1 convolution to 1280 channels, global
average pooling, dropout and a linear layer. ``width_mult`` scales every width, rounded
to a multiple of ``round_nearest``. Output stride 32.

Initialised as torchvision: ``kaiming_normal_(mode='fan_out')`` convolutions, batch norm
1 and 0, linear N(0, 0.01^2) with zero bias.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import mobilenet_v2
    >>> model = mobilenet_v2(num_classes=10, width_mult=0.5).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> _make_divisible(32 * 0.5, 8), model.last_channel
    (16, 1280)
"""

from __future__ import annotations

import convnet

from ... import functional as F
from ... import nn
from ._registry import build, register_model

__all__ = ["MobileNetV2", "InvertedResidual", "Conv2dNormActivation", "mobilenet_v2"]


def _make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``,
    default ``divisor``), but never more than 10% below ``value`` (TensorFlow's rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded

def init_mobile_weights(model: nn.Module, init_linear) -> None:
    """torchvision's initialisation of its mobile networks: convolutions He-normal (fan out)
    with zero bias, batch / group norm scale 1 and shift 0, ``init_linear(layer)`` on each
    Linear layer's weight (its bias zero)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init_linear(module)
            nn.init.zeros_(module.bias)


class Conv2dNormActivation(nn.Sequential):
    """Convolution, normalisation, activation as one Sequential (``0``, ``1``, ``2``), as
    ``torchvision.ops.Conv2dNormActivation``.

    ``padding=None`` keeps the size at stride 1: ``(kernel_size - 1) // 2 * dilation``.
    ``bias=None``: a bias only when there is no ``norm_layer``. ``norm_layer`` or
    ``activation_layer`` None leaves that layer out.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1,
                 padding=None, groups: int = 1, norm_layer=nn.BatchNorm2d,
                 activation_layer=nn.ReLU, dilation=1, inplace=True, bias=None):
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                sizes = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
                dilations = (dilation,) * 2 if isinstance(dilation, int) else tuple(dilation)
                padding = tuple((size - 1) // 2 * step for size, step in zip(sizes, dilations))
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """Expand (1x1, unless ``expand_ratio`` is 1), depthwise 3x3 with ``stride``, project
    (1x1, linear); plus the input when ``stride == 1 and inp == oup``."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, norm_layer=None):
        super().__init__()
        self.stride = stride
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = self.stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 norm_layer=norm_layer, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``.

    ``inverted_residual_setting``: rows ``[t, c, n, s]`` (see the module docstring);
    ``block`` and ``norm_layer`` replace :class:`InvertedResidual` and BatchNorm2d.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting=None, round_nearest: int = 8, block=None,
                 norm_layer=None, dropout: float = 0.2):
        super().__init__()
        block = InvertedResidual if block is None else block
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        input_channel, last_channel = 32, 1280
        if inverted_residual_setting is None:
            inverted_residual_setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2],
                                         [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                                         [6, 320, 1, 1]]
        if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
            raise ValueError(f"inverted_residual_setting should be non-empty or a 4-element "
                             f"list, got {inverted_residual_setting}")
        input_channel = _make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(3, input_channel, stride=2, norm_layer=norm_layer,
                                         activation_layer=nn.ReLU6)]
        for expand_ratio, channels, repeats, stride in inverted_residual_setting:
            output_channel = _make_divisible(channels * width_mult, round_nearest)
            for index in range(repeats):
                features.append(block(input_channel, output_channel, stride if index == 0 else 1,
                                      expand_ratio=expand_ratio, norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        init_mobile_weights(self, lambda linear: nn.init.normal_(linear.weight, 0, 0.01))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(convnet.flatten(x, 1))


@register_model(enum="MobileNet_V2_Weights", default="IMAGENET1K_V2",
                files={"IMAGENET1K_V1": "mobilenet_v2-b0353104.pth",
                       "IMAGENET1K_V2": "mobilenet_v2-7ebf99e0.pth"})
def mobilenet_v2(*, weights=None, progress: bool = True, **kwargs) -> MobileNetV2:
    """MobileNetV2; ``num_classes``, ``width_mult``, ``dropout``, ... go to
    :class:`MobileNetV2`. 3.5 M parameters."""
    return build("mobilenet_v2", MobileNetV2, weights, progress, kwargs)
