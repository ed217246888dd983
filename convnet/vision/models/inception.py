"""Inception v3 (Szegedy et al. 2016) under torchvision's names:
``Mixed_6b.branch7x7_2.conv.weight``.

A stem of five :class:`~convnet.vision.models.inception_v1.BasicConv2d` layers and two max
pools, then the Mixed modules, each concatenating parallel branches along the channels:
three of type A (1x1; 1x1-5x5; 1x1-3x3-3x3; 3x3 average pool-1x1) at 35x35, B (a stride-2
reduction), four of type C, where 7x7 convolutions are factored into 1x7 and 7x1 pairs, at
17x17, D (reduction), two of type E, whose 3x3 branches fan out into parallel 1x3 and 3x1
convolutions, at 8x8; global average pooling, dropout, linear. The auxiliary classifier
reads Mixed_6e in training mode (``InceptionOutputs(logits, aux_logits)``). Inputs must be
at least 75x75 (299x299 for the published weights). ``transform_input`` and ``weights=``
behave as for :mod:`~convnet.vision.models.inception_v1`.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import inception_v3
    >>> model = inception_v3(num_classes=10, aux_logits=False, init_weights=True).eval()
    >>> model(np.zeros((1, 3, 75, 75), dtype=np.float32)).shape
    (1, 10)
"""

from __future__ import annotations

from collections import namedtuple

import convnet

from ... import nn
from ...nn import functional as F
from ._registry import register_model
from .inception_v1 import (BasicConv2d, default_init_weights, init_truncated_normal,
                        load_like_torchvision, transform_imagenet_input)

__all__ = ["Inception3", "InceptionOutputs", "InceptionA", "InceptionB", "InceptionC",
           "InceptionD", "InceptionE", "InceptionAux", "inception_v3"]

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])


def _chain(x, *layers):
    for layer in layers:
        x = layer(x)
    return x


class InceptionA(nn.Module):
    """``224 + pool_features`` channels out: 1x1 (64), 1x1-5x5 (64), 1x1-3x3-3x3 (96),
    average pool-1x1 (``pool_features``)."""

    def __init__(self, in_channels: int, pool_features: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch1x1 = conv(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = conv(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = conv(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return convnet.cat([
            self.branch1x1(x), _chain(x, self.branch5x5_1, self.branch5x5_2),
            _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
            self.branch_pool(pooled)], 1)


class InceptionB(nn.Module):
    """Grid reduction (stride 2): 3x3 (384), 1x1-3x3-3x3 (96), max pool (the input's)."""

    def __init__(self, in_channels: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch3x3 = conv(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return convnet.cat([
            self.branch3x3(x),
            _chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
            F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """768 channels out: 1x1; 1x1, 1x7, 7x1; 1x1, then 7x1, 1x7 twice; average pool-1x1
    (192 each); ``channels_7x7`` inside the factored branches."""

    def __init__(self, in_channels: int, channels_7x7: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        c7 = channels_7x7
        row, column = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1),
                                                                     padding=(3, 0))
        self.branch1x1 = conv(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = conv(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = conv(c7, c7, **row)
        self.branch7x7_3 = conv(c7, 192, **column)
        self.branch7x7dbl_1 = conv(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = conv(c7, c7, **column)
        self.branch7x7dbl_3 = conv(c7, c7, **row)
        self.branch7x7dbl_4 = conv(c7, c7, **column)
        self.branch7x7dbl_5 = conv(c7, 192, **row)
        self.branch_pool = conv(in_channels, 192, kernel_size=1)

    def forward(self, x):
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return convnet.cat([
            self.branch1x1(x),
            _chain(x, self.branch7x7_1, self.branch7x7_2, self.branch7x7_3),
            _chain(x, self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                   self.branch7x7dbl_4, self.branch7x7dbl_5),
            self.branch_pool(pooled)], 1)


class InceptionD(nn.Module):
    """Grid reduction: 1x1-3x3/2 (320), 1x1-1x7-7x1-3x3/2 (192), max pool."""

    def __init__(self, in_channels: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch3x3_1 = conv(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = conv(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        return convnet.cat([
            _chain(x, self.branch3x3_1, self.branch3x3_2),
            _chain(x, self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3,
                   self.branch7x7x3_4),
            F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """2048 channels out: 1x1 (320); 1x1 then parallel 1x3 and 3x1 (384 each); 1x1-3x3
    then parallel 1x3 and 3x1 (384 each); average pool-1x1 (192)."""

    def __init__(self, in_channels: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        row, column = dict(kernel_size=(1, 3), padding=(0, 1)), dict(kernel_size=(3, 1),
                                                                     padding=(1, 0))
        self.branch1x1 = conv(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = conv(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = conv(384, 384, **row)
        self.branch3x3_2b = conv(384, 384, **column)
        self.branch3x3dbl_1 = conv(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = conv(384, 384, **row)
        self.branch3x3dbl_3b = conv(384, 384, **column)
        self.branch_pool = conv(in_channels, 192, kernel_size=1)

    def forward(self, x):
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return convnet.cat([
            self.branch1x1(x),
            convnet.cat([self.branch3x3_2a(single), self.branch3x3_2b(single)], 1),
            convnet.cat([self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double)], 1),
            self.branch_pool(pooled)], 1)


class InceptionAux(nn.Module):
    """Average pool 5x5 stride 3, 1x1 to 128, 5x5 to 768, global average, linear."""

    def __init__(self, in_channels: int, num_classes: int, conv_block=None):
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.conv0 = conv(in_channels, 128, kernel_size=1)
        self.conv1 = conv(128, 768, kernel_size=5)
        self.conv1.stddev = 0.01
        self.fc = nn.Linear(768, num_classes)
        self.fc.stddev = 0.001

    def forward(self, x):
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(convnet.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    """Shape: ``(N, 3, H, W) -> (N, num_classes)`` (H, W >= 75); in training with
    ``aux_logits``, an :data:`InceptionOutputs` of two such arrays."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, inception_blocks=None,
                 init_weights: bool | None = None, dropout: float = 0.5):
        super().__init__()
        if inception_blocks is None:
            inception_blocks = [BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD,
                                InceptionE, InceptionAux]
        init_weights = default_init_weights(init_weights, "inception_v3")
        if len(inception_blocks) != 7:
            raise ValueError("length of inception_blocks should be 7 instead of "
                             f"{len(inception_blocks)}")
        conv, block_a, block_b, block_c, block_d, block_e, aux = inception_blocks
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.Conv2d_1a_3x3 = conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = block_a(192, pool_features=32)
        self.Mixed_5c = block_a(256, pool_features=64)
        self.Mixed_5d = block_a(288, pool_features=64)
        self.Mixed_6a = block_b(288)
        self.Mixed_6b = block_c(768, channels_7x7=128)
        self.Mixed_6c = block_c(768, channels_7x7=160)
        self.Mixed_6d = block_c(768, channels_7x7=160)
        self.Mixed_6e = block_c(768, channels_7x7=192)
        self.AuxLogits = aux(768, num_classes) if aux_logits else None
        self.Mixed_7a = block_d(768)
        self.Mixed_7b = block_e(1280)
        self.Mixed_7c = block_e(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        if init_weights:
            init_truncated_normal(self, 0.1)

    def forward(self, x):
        if self.transform_input:
            x = transform_imagenet_input(x)
        x = _chain(x, self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3,
                   self.maxpool1, self.Conv2d_3b_1x1, self.Conv2d_4a_3x3, self.maxpool2,
                   self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                   self.Mixed_6c, self.Mixed_6d, self.Mixed_6e)
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = _chain(x, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c, self.avgpool, self.dropout)
        x = self.fc(convnet.flatten(x, 1))
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x


def _drop_inception_aux(model: Inception3) -> None:
    model.aux_logits = False
    model.AuxLogits = None


@register_model(enum="Inception_V3_Weights",
                files={"IMAGENET1K_V1": "inception_v3_google-0cc3c7bd.pth"})
def inception_v3(*, weights=None, progress: bool = True, **kwargs) -> Inception3:
    """Inception v3; 27.2 M parameters (23.8 M without the auxiliary head)."""
    return load_like_torchvision("inception_v3", Inception3, weights, progress, kwargs,
                                 _drop_inception_aux)
