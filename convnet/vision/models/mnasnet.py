"""MNASNet (the B1 network of Tan et al. 2019, found by architecture search) under
torchvision's names: ``layers.8.0.layers.3.weight``.

The network is one ``layers`` Sequential: a 3x3 stride-2 stem, a depthwise-separable
block without a skip, six stacks of inverted residuals (expand 1x1 by 3 or 6, depthwise
3x3 or 5x5, project 1x1; the input added back where the shape allows), a 1x1 convolution
to 1280 channels; then the spatial mean and ``classifier`` (dropout, linear). Every width
is the base width times ``alpha``, rounded to a multiple of 8, rounding up unless that
overshoots by more than 10% (:func:`_round_to_multiple_of`). Batch norm keeps its running
statistics with momentum 0.0003 (the original's decay 0.9997).

Files of torchvision's current MNASNet (its version 2, with the stem scaled by ``alpha``)
load; the published ``mnasnet0_5`` file was saved by version 1 (a fixed 32/16 stem) and is
refused with the shape mismatches listed.

Example:
    >>> import numpy as np
    >>> from convnet.vision.models import mnasnet0_5
    >>> model = mnasnet0_5(num_classes=10).eval()
    >>> model(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape
    (1, 10)
    >>> [model.layers[i].weight.shape[0] for i in (0, 6, 14)]   # the widths alpha=0.5 gives
    [16, 8, 1280]
"""

from __future__ import annotations

from ... import nn
from ._registry import build, register_model

__all__ = ["MNASNet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"]

BN_MOMENTUM = 1 - 0.9997
BASE_DEPTHS = [32, 16, 24, 40, 80, 96, 192, 320]
# (kernel, stride, expansion, repeats) of the six stacks; each stack's output width is the
# next entry of BASE_DEPTHS (from 24 on)
STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]


class _InvertedResidual(nn.Module):
    """``layers``: 1x1 to ``in_ch * expansion_factor``, BN, ReLU, depthwise ``kernel_size``
    with ``stride``, BN, ReLU, 1x1 to ``out_ch``, BN; the input is added when
    ``in_ch == out_ch`` and the stride is 1. Shape: ``(N, in_ch, H, W) -> (N, out_ch, H/s, W/s)``.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int,
                 expansion_factor: int, bn_momentum: float = 0.1):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size should be 3 or 5 instead of {kernel_size}")
        wide = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, wide, 1, bias=False), nn.BatchNorm2d(wide, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(wide, wide, kernel_size, padding=kernel_size // 2, stride=stride,
                      groups=wide, bias=False),
            nn.BatchNorm2d(wide, momentum=bn_momentum), nn.ReLU(inplace=True),
            nn.Conv2d(wide, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch, momentum=bn_momentum))

    def forward(self, x):
        y = self.layers(x)
        return y + x if self.apply_residual else y


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion: int,
           repeats: int, bn_momentum: float) -> nn.Sequential:
    """``repeats`` inverted residuals; only the first changes the width and strides."""
    if repeats < 1:
        raise ValueError(f"repeats should be >= 1, instead got {repeats}")
    blocks = [_InvertedResidual(in_ch, out_ch, kernel_size, stride, expansion, bn_momentum)]
    blocks += [_InvertedResidual(out_ch, out_ch, kernel_size, 1, expansion, bn_momentum)
               for _ in range(repeats - 1)]
    return nn.Sequential(*blocks)


def _round_to_multiple_of(value: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """The multiple of ``divisor`` nearest ``value`` (at least ``divisor``), one step up if
    that lost more than ``1 - round_up_bias`` of ``value``: (83, 8) -> 80, (84, 8) -> 88.

    Example:
        >>> _round_to_multiple_of(83, 8), _round_to_multiple_of(84, 8), _round_to_multiple_of(3, 8)
        (80, 88, 8)
    """
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError("round_up_bias should be greater than 0.0 and smaller than 1.0 "
                         f"instead of {round_up_bias}")
    nearest = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return nearest if nearest >= round_up_bias * value else nearest + divisor


class MNASNet(nn.Module):
    """Shape: ``(N, 3, H, W) -> (N, num_classes)``; widths scaled by ``alpha`` (> 0)."""

    _version = 2

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha should be greater than 0.0 instead of {alpha}")
        self.alpha, self.num_classes = alpha, num_classes
        depths = [_round_to_multiple_of(depth * alpha, 8) for depth in BASE_DEPTHS]

        def norm(channels):
            return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)

        layers = [nn.Conv2d(3, depths[0], 3, padding=1, stride=2, bias=False), norm(depths[0]),
                  nn.ReLU(inplace=True),
                  nn.Conv2d(depths[0], depths[0], 3, padding=1, groups=depths[0], bias=False),
                  norm(depths[0]), nn.ReLU(inplace=True),
                  nn.Conv2d(depths[0], depths[1], 1, bias=False), norm(depths[1])]
        for (kernel, stride, expansion, repeats), in_ch, out_ch in zip(STACKS, depths[1:],
                                                                         depths[2:]):
            layers.append(_stack(in_ch, out_ch, kernel, stride, expansion, repeats,
                                 BN_MOMENTUM))
        layers += [nn.Conv2d(depths[7], 1280, 1, bias=False), norm(1280), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(1280, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))


def _mnasnet(name: str, alpha: float, weights, progress, kwargs) -> MNASNet:
    return build(name, lambda **config: MNASNet(alpha, **config), weights, progress, kwargs)


@register_model(enum="MNASNet0_5_Weights",
                files={"IMAGENET1K_V1": "mnasnet0.5_top1_67.823-3ffadce67e.pth"})
def mnasnet0_5(*, weights=None, progress: bool = True, **kwargs) -> MNASNet:
    """MNASNet with widths x0.5; 2.2 M parameters."""
    return _mnasnet("mnasnet0_5", 0.5, weights, progress, kwargs)


@register_model(enum="MNASNet0_75_Weights",
                files={"IMAGENET1K_V1": "mnasnet0_75-7090bc5f.pth"})
def mnasnet0_75(*, weights=None, progress: bool = True, **kwargs) -> MNASNet:
    """MNASNet with widths x0.75; 3.2 M parameters."""
    return _mnasnet("mnasnet0_75", 0.75, weights, progress, kwargs)


@register_model(enum="MNASNet1_0_Weights",
                files={"IMAGENET1K_V1": "mnasnet1.0_top1_73.512-f206786ef8.pth"})
def mnasnet1_0(*, weights=None, progress: bool = True, **kwargs) -> MNASNet:
    """MNASNet with the base widths; 4.4 M parameters."""
    return _mnasnet("mnasnet1_0", 1.0, weights, progress, kwargs)


@register_model(enum="MNASNet1_3_Weights",
                files={"IMAGENET1K_V1": "mnasnet1_3-a4c69d6f.pth"})
def mnasnet1_3(*, weights=None, progress: bool = True, **kwargs) -> MNASNet:
    """MNASNet with widths x1.3; 6.3 M parameters."""
    return _mnasnet("mnasnet1_3", 1.3, weights, progress, kwargs)
