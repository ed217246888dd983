"""DenseNet-121/161/169/201 under torchvision's names
(``features.denseblock1.denselayer1.norm1.weight``).

Inside a dense block every layer sees the concatenation of the block's input and all
earlier layers' outputs, and adds ``growth_rate`` new channels: batch norm, ReLU,
``[bn_size * growth_rate | 1x1]``, batch norm, ReLU, ``[growth_rate | 3x3]``. Between
blocks a transition halves channels and resolution: batch norm, ReLU, 1x1 convolution,
2x2 average pooling. The stem is ``[num_init_features | 7x7 s 2]``, batch norm, ReLU,
3x3 max pool s 2; the head batch norm (``norm5``), ReLU, global average pooling, one
linear layer ``classifier``. Output stride 32.

``memory_efficient`` is accepted; torchvision recomputes the concatenation in the
backward pass to save memory, convnet keeps it (the results are the same). Files from
torchvision's first release name the layers ``norm.1`` instead of ``norm1``; passing
such a file as ``weights=`` renames them, as torchvision does.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import DenseNet
    >>> model = DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16,
    ...                  num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> list(model.state_dict())[4:6]
    ['features.norm0.running_var', 'features.norm0.num_batches_tracked']
"""

from __future__ import annotations

import re
from collections import OrderedDict

import convnet

from ... import functional as F
from ... import nn
from ...tensor import Tensor
from ._registry import build, register_model

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1-BN-ReLU-3x3 on the concatenated features; ``growth_rate`` channels out."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float, memory_efficient: bool = False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs):
        return self.conv1(self.relu1(self.norm1(convnet.cat(list(inputs), 1))))

    def forward(self, features):
        previous = [features] if isinstance(features, Tensor) else list(features)
        new_features = self.conv2(self.relu2(self.norm2(self.bn_function(previous))))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; the output concatenates the input and every new map."""

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float, memory_efficient: bool = False):
        super().__init__()
        for index in range(num_layers):
            self.add_module(f"denselayer{index + 1}", _DenseLayer(
                num_input_features + index * growth_rate, growth_rate=growth_rate,
                bn_size=bn_size, drop_rate=drop_rate, memory_efficient=memory_efficient))

    def forward(self, init_features):
        features = [init_features]
        for _, layer in self.items():
            features.append(layer(features))
        return convnet.cat(features, 1)


class _Transition(nn.Sequential):
    """BN, ReLU, 1x1 convolution to ``num_output_features``, 2x2 average pool s 2."""

    def __init__(self, num_input_features: int, num_output_features: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet-BC. Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``.

    ``growth_rate`` (k), ``block_config`` (layers per block), ``num_init_features``,
    ``bn_size`` (bottleneck width in units of k), ``drop_rate`` (dropout after each layer).
    """

    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0,
                 num_classes: int = 1000, memory_efficient: bool = False):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        channels = num_init_features
        for index, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{index + 1}", _DenseBlock(
                num_layers=num_layers, num_input_features=channels, bn_size=bn_size,
                growth_rate=growth_rate, drop_rate=drop_rate, memory_efficient=memory_efficient))
            channels += num_layers * growth_rate
            if index != len(block_config) - 1:
                self.features.add_module(f"transition{index + 1}", _Transition(
                    num_input_features=channels, num_output_features=channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
            elif isinstance(module, nn.Linear):
                nn.init.constant_(module.bias, 0)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
        return self.classifier(convnet.flatten(out, 1))


_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|"
                      r"running_mean|running_var))$")


def _rename_old_keys(state):
    """``denselayer1.norm.1.weight`` (torchvision's first files) -> ``denselayer1.norm1.weight``."""
    renamed = OrderedDict()
    for key, value in state.items():
        match = _OLD_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    return renamed


def _densenet(arch, growth_rate, block_config, num_init_features, weights, progress, kwargs):
    def make(**config):
        return DenseNet(growth_rate, block_config, num_init_features, **config)
    return build(arch, make, weights, progress, kwargs, rename=_rename_old_keys)


@register_model(enum="DenseNet121_Weights", files={"IMAGENET1K_V1": "densenet121-a639ec97.pth"})
def densenet121(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-121: k = 32, blocks (6, 12, 24, 16), 64 initial features; 8.0 M parameters."""
    return _densenet("densenet121", 32, (6, 12, 24, 16), 64, weights, progress, kwargs)


@register_model(enum="DenseNet161_Weights", files={"IMAGENET1K_V1": "densenet161-8d451a50.pth"})
def densenet161(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-161: k = 48, blocks (6, 12, 36, 24), 96 initial features; 28.7 M parameters."""
    return _densenet("densenet161", 48, (6, 12, 36, 24), 96, weights, progress, kwargs)


@register_model(enum="DenseNet169_Weights", files={"IMAGENET1K_V1": "densenet169-b2777c0a.pth"})
def densenet169(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-169: k = 32, blocks (6, 12, 32, 32), 64 initial features; 14.1 M parameters."""
    return _densenet("densenet169", 32, (6, 12, 32, 32), 64, weights, progress, kwargs)


@register_model(enum="DenseNet201_Weights", files={"IMAGENET1K_V1": "densenet201-c1103571.pth"})
def densenet201(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-201: k = 32, blocks (6, 12, 48, 32), 64 initial features; 20.0 M parameters."""
    return _densenet("densenet201", 32, (6, 12, 48, 32), 64, weights, progress, kwargs)
