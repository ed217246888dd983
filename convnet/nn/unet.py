"""U-Net (Ronneberger et al. 2015) for per-pixel classification, as seed 002 describes it.

An encoder of two 3x3 'same' convolutions per level with 2x2 max pooling between levels, a
decoder that up-samples, joins the encoder's map of the same level (the skip) and convolves
twice, and a 1x1 convolution to one score map per class, at the input's size. The notes'
"up-convolution" is upsampling by repetition followed by a 2x2 'same' convolution
(``up='repeat'``, the default); the paper's released model uses a 2x2 stride-2 transposed
convolution (``up='transpose'``). Odd sizes work: the up-sampled map is padded (or cropped) to
its skip's size (:func:`convnet.functional.match_size`).

Example:
    >>> import numpy as np
    >>> model = UNet(in_channels=1, num_classes=3, depth=2, width=4, rng=0)
    >>> model(np.zeros((1, 1, 13, 10), np.float32)).shape
    (1, 3, 13, 10)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..random import resolve_rng
from .activation import ReLU
from .container import ModuleList, Sequential
from .conv import Conv2d
from .conv_transpose import ConvTranspose2d
from .module import Module
from .pool import MaxPool2d
from .regularization import BatchNorm2d, Upsample

__all__ = ["UNet"]

UP_CONVOLUTIONS = ("repeat", "transpose")


def _double_conv(in_channels, out_channels, batch_norm, dtype, rng):
    layers = []
    for channels in (in_channels, out_channels):
        layers.append(Conv2d(channels, out_channels, 3, padding="same", bias=not batch_norm,
                             dtype=dtype, rng=rng))
        if batch_norm:
            layers.append(BatchNorm2d(out_channels, dtype=dtype))
        layers.append(ReLU())
    return Sequential(*layers)


def _up(channels, up, dtype, rng):
    if up == "transpose":
        return ConvTranspose2d(channels, channels // 2, 2, stride=2, dtype=dtype, rng=rng)
    return Sequential(Upsample(scale_factor=2, mode="nearest"),
                      Conv2d(channels, channels // 2, 2, padding="same", dtype=dtype, rng=rng))


class UNet(Module):
    """U-Net: (N, in_channels, H, W) -> class scores (N, num_classes, H, W), any H and W.

    Args:
        in_channels, num_classes: image channels and classes.
        depth: number of poolings (the encoder has depth + 1 levels).
        width: channels of the first level; each level doubles them.
        batch_norm: batch normalisation after every 3x3 convolution.
        up: 'repeat' (the notes' up-convolution) or 'transpose' (the paper's).
        dtype, rng: parameter dtype and the generator of the initial weights.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, depth: int = 3,
                 width: int = 16, batch_norm: bool = True, up: str = "repeat",
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        if up not in UP_CONVOLUTIONS:
            raise ValueError(f"up: expected one of {UP_CONVOLUTIONS}, got {up!r}")
        for name, value in (("depth", depth), ("width", width), ("num_classes", num_classes),
                            ("in_channels", in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        rng = resolve_rng(rng)
        widths = [width * 2 ** level for level in range(depth + 1)]
        self.depth, self.up_mode = depth, up
        self.encoder = ModuleList([_double_conv(in_channels if level == 0 else widths[level - 1],
                                                widths[level], batch_norm, dtype, rng)
                                   for level in range(depth + 1)])
        self.pool = MaxPool2d(2)
        self.ups = ModuleList([_up(widths[level], up, dtype, rng)
                               for level in range(depth, 0, -1)])
        self.decoder = ModuleList([_double_conv(widths[level], widths[level - 1], batch_norm,
                                                dtype, rng)
                                   for level in range(depth, 0, -1)])
        self.head = Conv2d(width, num_classes, 1, dtype=dtype, rng=rng)

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x)
            if level < self.depth:
                skips.append(x)
                x = self.pool(x)
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips)):
            x = F.match_size(up(x), skip.shape[-2:])
            x = block(F.cat([skip, x], dim=1))
        return self.head(x)
