"""The notes' two other routes to a label per pixel (seed 002, "Structured Outputs").

- :class:`FCN`: only 'same'-padded convolutions, no pooling, so the output keeps the
  input's height and width; a 1x1 convolution gives one score map per class.
- :class:`RecurrentRefine`: a first labelling refined by stages that share parameters. At
  every step ``t`` the hidden maps are ``H = relu(U * X + V * Y_{t-1})`` and the class
  scores ``W * H`` (``*`` a 'same' convolution; ``Y_{t-1} = softmax`` of the previous scores,
  absent at the first step). ``U``, ``V`` and ``W`` are the same at every step: the
  recurrent convolutional network of the notes' figure. ``U * X`` is computed once.

Example:
    >>> import numpy as np
    >>> FCN(1, 3, width=4, depth=2, rng=0)(np.zeros((2, 1, 9, 7), np.float32)).shape
    (2, 3, 9, 7)
    >>> RecurrentRefine(1, 3, width=4, steps=3, rng=0)(np.zeros((2, 1, 9, 7), np.float32)).shape
    (2, 3, 9, 7)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..random import resolve_rng
from .activation import ReLU
from .container import Sequential
from .conv import Conv2d
from .module import Module
from .regularization import BatchNorm2d

__all__ = ["FCN", "RecurrentRefine"]


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return value


class FCN(Module):
    """Same-padded 3x3 convolutions only: (N, in_channels, H, W) -> (N, num_classes, H, W).

    Args:
        in_channels, num_classes: image channels and classes.
        width: channels of every hidden layer; depth: number of 3x3 layers.
        dilation: dilation of the 3x3 layers (1; larger grows the receptive field,
            ``1 + 2 * depth * dilation`` pixels, without pooling).
        batch_norm: batch normalisation after every hidden layer.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 32,
                 depth: int = 6, dilation: int = 1, batch_norm: bool = True,
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes),
                            ("width", width), ("depth", depth), ("dilation", dilation)):
            _positive(name, value)
        rng = resolve_rng(rng)
        layers = []
        for layer in range(depth):
            layers.append(Conv2d(in_channels if layer == 0 else width, width, 3, padding="same",
                                 dilation=dilation, bias=not batch_norm, dtype=dtype, rng=rng))
            if batch_norm:
                layers.append(BatchNorm2d(width, dtype=dtype))
            layers.append(ReLU())
        layers.append(Conv2d(width, num_classes, 1, dtype=dtype, rng=rng))
        self.layers = Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class RecurrentRefine(Module):
    """A labelling refined ``steps`` times by one shared stage; returns the last class scores.

    Args:
        in_channels, num_classes: image channels and classes.
        width: hidden maps of the stage; kernel_size: of ``U``, ``V`` and ``W`` (3).
        image_layers: 'same' conv + ReLU layers that compute the image features ``U * X``
            (1: the notes' single ``U``; more widen what each pixel sees).
        steps: T, the number of labellings (1 = no refinement).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 32,
                 steps: int = 3, kernel_size: int = 3, image_layers: int = 2,
                 dtype=None, rng=None):
        dtype = parameter_dtype(dtype)
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes),
                            ("width", width), ("steps", steps), ("kernel_size", kernel_size),
                            ("image_layers", image_layers)):
            _positive(name, value)
        rng = resolve_rng(rng)
        self.steps = steps
        features = []
        for layer in range(image_layers - 1):
            features += [Conv2d(in_channels if layer == 0 else width, width, kernel_size,
                                padding="same", dtype=dtype, rng=rng), ReLU()]
        features.append(Conv2d(width if image_layers > 1 else in_channels, width, kernel_size,
                               padding="same", dtype=dtype, rng=rng))
        self.U = Sequential(*features)
        self.V = Conv2d(num_classes, width, kernel_size, padding="same", bias=False, dtype=dtype,
                        rng=rng)
        self.W = Conv2d(width, num_classes, kernel_size, padding="same", dtype=dtype, rng=rng)

    def forward(self, x):
        image_term = self.U(x)
        scores = self.W(F.relu(image_term))
        for _ in range(self.steps - 1):
            scores = self.W(F.relu(image_term + self.V(F.softmax(scores, dim=1))))
        return scores
