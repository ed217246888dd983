"""GoogLeNet (Inception v1, Szegedy et al. 2015) under torchvision's names:
``inception4a.branch2.1.conv.weight``.

An Inception module runs four branches on the same input and concatenates them along the
channels: a 1x1 convolution; 1x1 then 3x3; 1x1 then 3x3 (torchvision's stand-in for the
paper's 5x5, kept so its weights load); 3x3 max pooling (stride 1) then 1x1. Every
convolution is :class:`BasicConv2d` (no bias, batch norm with eps 0.001, ReLU). Nine
modules (3a-5b) sit between ceil-mode max poolings; the head is global average pooling,
dropout and a linear layer. With ``aux_logits`` two auxiliary classifiers (after 4a and
4d) are built; in training mode the model then returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in eval mode the logits alone.
``transform_input`` maps inputs normalised with ImageNet's mean and std to the
``(x - 0.5) / 0.5`` scaling the original weights were trained on.

With ``weights=`` (a file or state dict of torchvision's GoogLeNet) the model is built as
torchvision does for its weights: ``transform_input=True`` unless given, the auxiliary
heads loaded and then dropped unless ``aux_logits=True`` is asked for.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import googlenet
    >>> model = googlenet(num_classes=10, aux_logits=False, init_weights=True).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> model.inception3a.branch4[0]
    MaxPool2d([3x3 s 1], padding=1, ceil_mode=True)
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import convnet

from ... import nn
from ...nn import functional as F
from ._registry import build, register_model

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "BasicConv2d", "Inception", "InceptionAux",
           "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU; ``kwargs`` go to Conv2d."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def transform_imagenet_input(x):
    """Inputs normalised by ImageNet's mean and std, rescaled to ``(x - 0.5) / 0.5`` per
    channel (what Google's Inception weights expect). Shape: ``(N, 3, H, W)``, unchanged."""
    channels = [convnet.unsqueeze(x[:, c], 1) * (std / 0.5) + (mean - 0.5) / 0.5
                for c, (mean, std) in enumerate(((0.485, 0.229), (0.456, 0.224),
                                                 (0.406, 0.225)))]
    return convnet.cat(channels, 1)


def init_truncated_normal(model: nn.Module, default_std: float) -> None:
    """Convolution and linear weights from N(0, std^2) cut at +-2 (a layer's ``stddev``
    attribute, else ``default_std``); batch norm scale 1, shift 0."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            std = float(getattr(module, "stddev", default_std))
            nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2, b=2)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.constant_(module.weight, 1)
            nn.init.constant_(module.bias, 0)


def default_init_weights(init_weights, model_name: str) -> bool:
    """torchvision's rule for ``init_weights=None``: initialise, and warn that the default
    may change."""
    if init_weights is None:
        warnings.warn(f"{model_name}: init_weights=None initialises with truncated normals, "
                      "as torchvision does today; torchvision says this default will change, "
                      "so pass init_weights=True to keep it", FutureWarning, stacklevel=3)
        return True
    return init_weights


class Inception(nn.Module):
    """Four branches concatenated: ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels out."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, conv_block=None):
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv_block(in_channels, ch3x3red, kernel_size=1),
                                     conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv_block(in_channels, ch5x5red, kernel_size=1),
                                     conv_block(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return convnet.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)],
                           1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 adaptive average pool, 1x1 to 128, linear 2048 -> 1024,
    ReLU, dropout, linear to ``num_classes``."""

    def __init__(self, in_channels: int, num_classes: int, conv_block=None,
                 dropout: float = 0.7):
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = convnet.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


# in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection
MODULES = {"3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
           "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
           "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
           "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
           "5b": (832, 384, 192, 384, 48, 128, 128)}


class GoogLeNet(nn.Module):
    """Shape: ``(N, 3, H, W) -> (N, num_classes)`` (H, W >= 15); in training with
    ``aux_logits``, a :data:`GoogLeNetOutputs` of three such arrays."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 blocks=None, dropout: float = 0.2, dropout_aux: float = 0.7):
        super().__init__()
        blocks = [BasicConv2d, Inception, InceptionAux] if blocks is None else blocks
        init_weights = default_init_weights(init_weights, "GoogLeNet")
        if len(blocks) != 3:
            raise ValueError(f"blocks length should be 3 instead of {len(blocks)}")
        conv_block, inception_block, aux_block = blocks
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("3a", "3b"):
            setattr(self, f"inception{name}", inception_block(*MODULES[name]))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("4a", "4b", "4c", "4d", "4e"):
            setattr(self, f"inception{name}", inception_block(*MODULES[name]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        for name in ("5a", "5b"):
            setattr(self, f"inception{name}", inception_block(*MODULES[name]))
        if aux_logits:
            self.aux1 = aux_block(512, num_classes, dropout=dropout_aux)
            self.aux2 = aux_block(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            init_truncated_normal(self, 0.01)

    def forward(self, x):
        if self.transform_input:
            x = transform_imagenet_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(convnet.flatten(self.avgpool(x), 1)))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def load_like_torchvision(name: str, make, weights, progress, kwargs, drop_aux):
    """What torchvision does for published Inception weights: ``transform_input=True``
    unless given, built with the auxiliary head(s) so the file's load strictly, no initial
    draws, then ``drop_aux(model)`` unless ``aux_logits=True`` was asked for."""
    if weights is None:
        return build(name, make, weights, progress, kwargs)
    wanted_aux = kwargs.get("aux_logits", False)
    kwargs = {"transform_input": True, **kwargs, "aux_logits": True, "init_weights": False}
    model = build(name, make, weights, progress, kwargs)
    if not wanted_aux:
        drop_aux(model)
    return model


def _drop_googlenet_aux(model: GoogLeNet) -> None:
    model.aux_logits = False
    model.aux1 = model.aux2 = None


@register_model(enum="GoogLeNet_Weights", files={"IMAGENET1K_V1": "googlenet-1378be20.pth"})
def googlenet(*, weights=None, progress: bool = True, **kwargs) -> GoogLeNet:
    """GoogLeNet; 6.6 M parameters (13.0 M with the auxiliary heads)."""
    return load_like_torchvision("googlenet", GoogLeNet, weights, progress, kwargs,
                                 _drop_googlenet_aux)
