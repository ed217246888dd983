"""ResNet, ResNeXt and Wide ResNet, with torchvision's module names (``layer1.0.conv1.weight``).

A residual network is a 7x7 stem (``[64 | 7x7 s 2]``, batch norm, ReLU, 3x3 max pooling
with stride 2), four stages ``layer1`` .. ``layer4`` of residual blocks (64, 128, 256
and 512 planes; the first block of stages 2-4 halves the resolution), global average
pooling and one linear layer ``fc``. A block computes ``relu(F(x) + shortcut(x))``:

- :class:`BasicBlock` (resnet18/34): ``F`` = two 3x3 convolutions;
- :class:`Bottleneck` (resnet50 and up): 1x1 down to ``width``, 3x3 (grouped for ResNeXt),
  1x1 up to ``4 * planes``; ``width = planes * width_per_group / 64 * groups``;
- the shortcut is the identity, or ``downsample`` (a strided 1x1 convolution and batch
  norm) where the shape changes.

Output size for an ``H x W`` input: every stage after the first halves it, so the last
feature map is ``ceil(H / 32) x ceil(W / 32)``; any input of at least 1x1 works.

As torchvision: convolutions drawn by ``kaiming_normal_(mode='fan_out',
nonlinearity='relu')``, batch norm weights 1 and biases 0, ``zero_init_residual=True``
zeroes the last batch norm weight of each block.

Example:
    >>> import numpy as np, convnet
    >>> from convnet.vision.models import resnet18
    >>> model = resnet18(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> list(model.state_dict())[:3]
    ['conv1.weight', 'bn1.weight', 'bn1.bias']
"""

from __future__ import annotations

import convnet

from ... import nn
from ...nn.fusion import conv_bn_act
from ._registry import build, register_model

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
           "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    """``[out_planes | 3x3 s stride]`` without bias, padded to keep the size at stride 1."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """``[out_planes | 1x1 s stride]`` without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, and the shortcut: ``relu(bn2(conv2(relu(bn1(
    conv1(x))))) + shortcut(x))``; ``planes`` output channels."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock only supports groups=1 and base_width=64, got "
                             f"groups={groups}, base_width={base_width}")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        # fused into oneDNN primitives in inference (convnet.nn.fusion)
        out = conv_bn_act(self.conv1, self.bn1, self.relu, x)
        shortcut = x if self.downsample is None else self.downsample(x)
        return conv_bn_act(self.conv2, self.bn2, self.relu, out, shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce to ``width``, 3x3 (stride, groups, dilation), 1x1 expand to
    ``planes * 4``, each with batch norm, then the shortcut and ReLU. The stride sits on
    the 3x3 convolution (torchvision's "ResNet V1.5")."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = conv_bn_act(self.conv1, self.bn1, self.relu, x)
        out = conv_bn_act(self.conv2, self.bn2, self.relu, out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return conv_bn_act(self.conv3, self.bn3, self.relu, out, shortcut)


class ResNet(nn.Module):
    """Stem, four stages of ``block`` (``layers[i]`` blocks each), average pool, ``fc``.

    Shape: ``(N, 3, H, W)`` -> ``(N, num_classes)``.
    ``replace_stride_with_dilation``: three bools, for stages 2-4, trading the stage's
    stride for dilation (the feature map then stays larger, as for segmentation).
    """

    def __init__(self, block, layers, num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64, replace_stride_with_dilation=None,
                 norm_layer=None):
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(f"replace_stride_with_dilation should be None or a 3-element "
                             f"tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
        if zero_init_residual:  # each block starts as the identity
            for module in self.modules():
                if isinstance(module, Bottleneck) and module.bn3.weight is not None:
                    nn.init.constant_(module.bn3.weight, 0)
                elif isinstance(module, BasicBlock) and module.bn2.weight is not None:
                    nn.init.constant_(module.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                       previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            stage.append(block(self.inplanes, planes, groups=self.groups,
                               base_width=self.base_width, dilation=self.dilation,
                               norm_layer=norm_layer))
        return nn.Sequential(*stage)

    def forward(self, x):
        x = self.maxpool(conv_bn_act(self.conv1, self.bn1, self.relu, x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(convnet.flatten(self.avgpool(x), 1))


def _resnet(arch, block, layers, weights, progress, kwargs):
    return build(arch, lambda **config: ResNet(block, layers, **config), weights, progress, kwargs)


def _files(*names):
    return {f"IMAGENET1K_V{index}": name for index, name in enumerate(names, start=1)}


@register_model(enum="ResNet18_Weights", files=_files("resnet18-f37072fd.pth"))
def resnet18(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18: :class:`BasicBlock` x (2, 2, 2, 2); 11.7 M parameters."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, progress, kwargs)


@register_model(enum="ResNet34_Weights", files=_files("resnet34-b627a593.pth"))
def resnet34(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-34: :class:`BasicBlock` x (3, 4, 6, 3); 21.8 M parameters."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, progress, kwargs)


@register_model(enum="ResNet50_Weights", default="IMAGENET1K_V2",
                files=_files("resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"))
def resnet50(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-50: :class:`Bottleneck` x (3, 4, 6, 3); 25.6 M parameters."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, progress, kwargs)


@register_model(enum="ResNet101_Weights", default="IMAGENET1K_V2",
                files=_files("resnet101-63fe2227.pth", "resnet101-cd907fc2.pth"))
def resnet101(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-101: :class:`Bottleneck` x (3, 4, 23, 3); 44.5 M parameters."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, progress, kwargs)


@register_model(enum="ResNet152_Weights", default="IMAGENET1K_V2",
                files=_files("resnet152-394f9c45.pth", "resnet152-f82ba261.pth"))
def resnet152(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-152: :class:`Bottleneck` x (3, 8, 36, 3); 60.2 M parameters."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, progress, kwargs)


def _grouped(kwargs: dict, groups: int, width_per_group: int) -> dict:
    """torchvision's rule: the variant fixes these two, and naming them otherwise is an error."""
    for name, value in (("groups", groups), ("width_per_group", width_per_group)):
        if kwargs.get(name, value) != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got "
                             f"{kwargs[name]} instead.")
        kwargs[name] = value
    return kwargs


@register_model(enum="ResNeXt50_32X4D_Weights", default="IMAGENET1K_V2",
                files=_files("resnext50_32x4d-7cdf4587.pth", "resnext50_32x4d-1a0047aa.pth"))
def resnext50_32x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of width 4 in each 3x3 convolution."""
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, progress,
                   _grouped(kwargs, 32, 4))


@register_model(enum="ResNeXt101_32X8D_Weights", default="IMAGENET1K_V2",
                files=_files("resnext101_32x8d-8ba56ff5.pth", "resnext101_32x8d-110c445d.pth"))
def resnext101_32x8d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 32x8d: ResNet-101 with 32 groups of width 8."""
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, progress,
                   _grouped(kwargs, 32, 8))


@register_model(enum="ResNeXt101_64X4D_Weights", files=_files("resnext101_64x4d-173b62eb.pth"))
def resnext101_64x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 64x4d: ResNet-101 with 64 groups of width 4."""
    return _resnet("resnext101_64x4d", Bottleneck, [3, 4, 23, 3], weights, progress,
                   _grouped(kwargs, 64, 4))


@register_model(enum="Wide_ResNet50_2_Weights", default="IMAGENET1K_V2",
                files=_files("wide_resnet50_2-95faca4d.pth", "wide_resnet50_2-9ba9bcbe.pth"))
def wide_resnet50_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide (``width_per_group=128``)."""
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, progress,
                   _grouped(kwargs, 1, 128))


@register_model(enum="Wide_ResNet101_2_Weights", default="IMAGENET1K_V2",
                files=_files("wide_resnet101_2-32ee1156.pth", "wide_resnet101_2-d733dc28.pth"))
def wide_resnet101_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide."""
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, progress,
                   _grouped(kwargs, 1, 128))
