"""EfficientNet B0-B3 (Tan and Le 2019) under torchvision's names:
``features.2.1.block.2.fc1.weight``.

One table of seven stages (expansion, kernel, stride, input width, output width, blocks)
is scaled per model: widths by ``width_mult`` (rounded to a multiple of 8, never below
90% of the scaled value) and block counts by ``depth_mult`` (rounded up):

=========  ==========  ==========  =======
model      width_mult  depth_mult  dropout
=========  ==========  ==========  =======
b0         1.0         1.0         0.2
b1         1.0         1.1         0.2
b2         1.1         1.2         0.3
b3         1.2         1.4         0.3
=========  ==========  ==========  =======

Each block is an MBConv: expand 1x1 (when the ratio is not 1), depthwise ``k x k`` with the
stage's stride on its first block, squeeze-excitation (down to a quarter of the block's
*input* width, SiLU, sigmoid), project 1x1 without activation; SiLU after the others. Where
input and output shapes agree the input is added back, after stochastic depth: in
training, each sample's branch is dropped with a probability rising linearly from 0 at the
first block to ``stochastic_depth_prob`` (0.2) at the last, and the kept ones scaled by
1 / (1 - p); in eval it is the identity. The head: 1x1 to 4x the last width, SiLU, global
average pooling, dropout, linear.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import efficientnet_b0
    >>> model = efficientnet_b0(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> [len(stage) for stage in model.features[1:8]]
    [1, 2, 2, 3, 3, 4, 1]
"""

from __future__ import annotations

import copy
import math
from functools import partial

import numpy as np

import convnet

from ... import nn
from ._registry import build, register_model
from .mobilenetv2 import Conv2dNormActivation, _make_divisible, init_mobile_weights
from .mobilenetv3 import SqueezeExcitation

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "StochasticDepth", "stochastic_depth",
           "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3"]


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """``input`` times a 0 / ``1 / (1 - p)`` mask drawn with keep probability ``1 - p``:
    one draw per sample (``mode='row'``) or one for the batch (``'batch'``); the identity
    when not ``training`` or ``p == 0``. Shape: any ``(N, ...)``, unchanged.

    Example:
        >>> x = convnet.ones(4, 3)
        >>> stochastic_depth(x, 0.5, 'row', training=False) is x
        True
        >>> sorted(set(stochastic_depth(x, 0.5, 'row').numpy().ravel()) - {0.0, 2.0})
        []
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    dtype = np.dtype(getattr(input, "dtype", np.float32))
    keep = (convnet.rand(*size).numpy() < survival).astype(dtype)
    if survival > 0.0:
        keep /= dtype.type(survival)
    return input * keep


class StochasticDepth(nn.Module):
    """:func:`stochastic_depth` as a layer (``torchvision.ops.StochasticDepth``)."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        return stochastic_depth(x, self.p, self.mode, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class MBConvConfig:
    """One stage of the table, widths scaled by ``width_mult``, block count by ``depth_mult``."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, width_mult: float = 1.0,
                 depth_mult: float = 1.0, block=None):
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = int(math.ceil(num_layers * depth_mult))
        self.block = MBConv if block is None else block

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """Expand, depthwise, squeeze-excitation, project; plus the input (after stochastic
    depth) where the stride is 1 and the widths agree."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer,
                 se_layer=SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel,
                                           stride=cnf.stride, groups=expanded,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4),
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, x):
        y = self.block(x)
        return self.stochastic_depth(y) + x if self.use_res_connect else y


class EfficientNet(nn.Module):
    """Shape: ``(N, 3, H, W) -> (N, num_classes)``. ``inverted_residual_setting``: a list
    of :class:`MBConvConfig`; ``last_channel``: the head's width (default 4x the last)."""

    def __init__(self, inverted_residual_setting, dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000, norm_layer=None,
                 last_channel: int | None = None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(row, MBConvConfig) for row in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        layers = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels,
                                       kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.SiLU)]
        total = sum(cnf.num_layers for cnf in inverted_residual_setting)
        index = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # later blocks of a stage keep the width and stride 1
                    block_cnf.input_channels, block_cnf.stride = cnf.out_channels, 1
                drop = stochastic_depth_prob * float(index) / total
                stage.append(block_cnf.block(block_cnf, drop, norm_layer))
                index += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(last_out, num_classes))
        init_mobile_weights(self, lambda linear: nn.init.uniform_(
            linear.weight, -1.0 / math.sqrt(linear.out_features),
            1.0 / math.sqrt(linear.out_features)))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(convnet.flatten(x, 1))


# expansion, kernel, stride, input width, output width, blocks (EfficientNet's Table 1)
STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
          (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
          (6, 3, 1, 192, 320, 1)]
SCALES = {"efficientnet_b0": (1.0, 1.0, 0.2), "efficientnet_b1": (1.0, 1.1, 0.2),
          "efficientnet_b2": (1.1, 1.2, 0.3), "efficientnet_b3": (1.2, 1.4, 0.3)}


def _efficientnet(name: str, weights, progress, kwargs) -> EfficientNet:
    width_mult, depth_mult, dropout = SCALES[name]
    table = [MBConvConfig(*row, width_mult=width_mult, depth_mult=depth_mult) for row in STAGES]
    dropout = kwargs.pop("dropout", dropout)
    return build(name, lambda **config: EfficientNet(table, dropout, **config), weights,
                 progress, kwargs)


@register_model(enum="EfficientNet_B0_Weights",
                files={"IMAGENET1K_V1": "efficientnet_b0_rwightman-7f5810bc.pth"})
def efficientnet_b0(*, weights=None, progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B0; 5.3 M parameters."""
    return _efficientnet("efficientnet_b0", weights, progress, kwargs)


@register_model(enum="EfficientNet_B1_Weights", default="IMAGENET1K_V2",
                files={"IMAGENET1K_V1": "efficientnet_b1_rwightman-bac287d4.pth",
                       "IMAGENET1K_V2": "efficientnet_b1-c27df63c.pth"})
def efficientnet_b1(*, weights=None, progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B1; 7.8 M parameters."""
    return _efficientnet("efficientnet_b1", weights, progress, kwargs)


@register_model(enum="EfficientNet_B2_Weights",
                files={"IMAGENET1K_V1": "efficientnet_b2_rwightman-c35c1473.pth"})
def efficientnet_b2(*, weights=None, progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B2; 9.1 M parameters."""
    return _efficientnet("efficientnet_b2", weights, progress, kwargs)


@register_model(enum="EfficientNet_B3_Weights",
                files={"IMAGENET1K_V1": "efficientnet_b3_rwightman-b3899882.pth"})
def efficientnet_b3(*, weights=None, progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B3; 12.2 M parameters."""
    return _efficientnet("efficientnet_b3", weights, progress, kwargs)
