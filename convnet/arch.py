"""The notes' layer notation: an architecture string read into a :class:`convnet.nn.Sequential`.

Grammar (tokens separated by spaces; case-insensitive)::

    [N|KxK]  [N|KxK sS]  [N|KxK sS valid|same|full|pP]   conv: N filters of KxK, stride S
                                                         (default s1, padding 'same': the
                                                         notes' out = (in - 1) // S + 1)
    maxpool  maxpool[KxK sS]  avgpool[KxK sS]            pooling ('same' padding, -inf for max;
                                                         default 2x2 s2)
    sumpool  sumpool[KxK sS]                             trainable sum pooling (Eq. 8.22: window
                                                         sum x weight + bias per map; LeNet's
                                                         subsampling)
    gap | gmp                                            global average / max pooling
    relu | tanh | sigmoid | leakyrelu | scaledtanh       activations (scaledtanh: 1.7159 tanh(2x/3))
    bn                                                   batch normalisation (of the last conv/fc)
    dropout | dropoutP                                   dropout, P in (0, 1) (default 0.5)
    flatten                                              explicit flatten (fc adds one if needed)
    fcN                                                  fully connected layer with N outputs
    res( ... )                                           a residual block: the layers inside, plus
                                                         the block's input (He et al. 2016)

In ``res( ... )`` the shortcut is the identity when the block keeps the shape, and He et al.'s
option A when it does not: the input subsampled by the block's stride and padded with zero
channels up to the block's width (no parameters; the block may not narrow or flatten).
``res( [16|3x3] bn relu [16|3x3] bn ) relu`` is a CIFAR ResNet's basic block.

Input channels and sizes come from the data, so ``fc`` layers know their fan-in. A malformed
string raises :class:`ArchError` pointing at the bad token.

Example:
    >>> model = build_sequential("[8|3x3] relu res( [8|3x3] bn relu [8|3x3] bn ) relu fc10",
    ...                          (1, 8, 8))
    >>> model[2]
    Residual(
      (block): Sequential(
        (0): Conv2d([8 | 3x3 s 1], in_channels=8, padding='same')
        (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
        (2): ReLU()
        (3): Conv2d([8 | 3x3 s 1], in_channels=8, padding='same')
        (4): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import nn
from .ops.windows import output_size, resolve_padding
from .random import resolve_rng

MAX_LAYER_WEIGHTS = 2**28  # 1 GiB of float32 weights in one layer: far past any CNN of the notes

_CONV = re.compile(r"\[(\d+)\|(\d+)(?:x(\d+))?((?:\s+\S+)*)\]$")
_POOL = re.compile(r"(maxpool|avgpool|sumpool)(?:\[(\d+)(?:x(\d+))?(?:\s+s(\d+))?\])?$")


class ArchError(ValueError):
    """A malformed architecture string; the message points at the bad token."""


def tokens(arch: str) -> list[tuple[str, int]]:
    """Tokens (bracketed groups kept whole, spaces around '|' and inside brackets removed,
    ``res(`` and ``)`` on their own, lower case), each with its column in ``arch``."""
    found = []
    for match in re.finditer(r"res\(|\)|[^\s()]*\[[^\]]*\]|[^\s()]+", arch, re.IGNORECASE):
        text = re.sub(r"\s*\|\s*", "|", match.group().lower())
        text = re.sub(r"\[\s+", "[", re.sub(r"\s+\]", "]", text))
        found.append((text, match.start()))
    return found


@dataclass
class _Shape:
    """What the next layer receives: channels (or features once flat) and spatial size."""
    channels: int
    height: int
    width: int
    flat: bool = False
    last_width: int | None = None       # channels or features of the last conv/fc (for bn)
    layers: list = field(default_factory=list)


def build_sequential(arch: str, input_shape: tuple[int, int, int], rng=None) -> nn.Sequential:
    """The layers of ``arch`` for inputs of ``input_shape`` (C, H, W) as a Sequential."""
    if not isinstance(arch, str) or not arch.strip():
        raise ArchError(f"arch: expected an architecture string, got {arch!r}")
    rng = resolve_rng(rng)   # one generator: layers draw in turn, never the same stream twice
    channels, height, width = input_shape
    stack = [(_Shape(channels, height, width), None)]   # (shape, where its res( opened)
    for token, column in tokens(arch):
        shape = stack[-1][0]
        if token == "res(":
            if shape.flat:
                raise _error(arch, column, token, "a residual block cannot follow a flattened "
                                                  "layer")
            stack.append((_Shape(shape.channels, shape.height, shape.width, False,
                                 shape.last_width), (column, token)))
        elif token == ")":
            if len(stack) == 1:
                raise _error(arch, column, token, "')' without a 'res(' before it")
            inner, _ = stack.pop()
            outer = stack[-1][0]
            outer.layers.append(_residual(arch, column, token, outer, inner))
            outer.channels, outer.height, outer.width = inner.channels, inner.height, inner.width
            outer.last_width = inner.last_width
        else:
            _add_layer(arch, column, token, shape, rng, inside_block=len(stack) > 1)
    if len(stack) > 1:
        column, token = stack[-1][1]
        raise _error(arch, column, token, "'res(' is never closed with ')'")
    if not stack[0][0].layers:
        raise ArchError(f"arch: no layers in {arch!r}")
    return nn.Sequential(*stack[0][0].layers)


def _residual(arch, column, token, before: _Shape, after: _Shape):
    if not after.layers:
        raise _error(arch, column, token, "an empty residual block")
    if after.channels < before.channels:
        raise _error(arch, column, token, f"the block narrows {before.channels} channels to "
                                          f"{after.channels}; its shortcut can only add channels")
    # the shortcut samples every stride-th cell: ceil(size / stride) cells, as a 'same' layer
    strides = [stride for stride in range(1, before.height + 1)
               if -(-before.height // stride) == after.height
               and -(-before.width // stride) == after.width]
    if not strides:
        raise _error(arch, column, token, f"the block maps {before.height}x{before.width} to "
                                          f"{after.height}x{after.width}, not a stride of it")
    stride = strides[0]
    return nn.Residual(nn.Sequential(*after.layers), stride=stride,
                       extra_channels=after.channels - before.channels)


def _add_layer(arch: str, column: int, token: str, shape: _Shape, rng, inside_block: bool):
    """Append ``token``'s layer to ``shape.layers`` and update the shape."""
    conv, pool = _CONV.match(token), _POOL.match(token)
    if conv:
        if shape.flat:
            raise _error(arch, column, token, "a conv layer cannot follow a flattened layer")
        filters, kh = int(conv.group(1)), int(conv.group(2))
        kw = int(conv.group(3) or kh)
        stride, padding = 1, "same"
        for option in conv.group(4).split():
            if re.fullmatch(r"s\d+", option):
                stride = int(option[1:])
            elif option in ("valid", "same", "full"):
                padding = option
            elif re.fullmatch(r"p\d+", option):
                padding = int(option[1:])
            else:
                raise _error(arch, column, token, f"unknown conv option {option!r} "
                             f"(expected sS, valid, same, full or pP)")
        if filters < 1 or kh < 1 or kw < 1 or stride < 1:
            raise _error(arch, column, token, "filters, kernel and stride must be positive")
        _check_weights(arch, column, token, filters * shape.channels * kh * kw)
        try:
            layer = nn.Conv2d(shape.channels, filters, (kh, kw), stride, padding, rng=rng)
            shape.height, shape.width = _conv_output(shape.height, shape.width, (kh, kw),
                                                     stride, padding)
        except ValueError as error:
            raise _error(arch, column, token, str(error)) from None
        shape.layers.append(layer)
        shape.channels, shape.last_width = filters, filters
    elif pool:
        if shape.flat:
            raise _error(arch, column, token, "pooling cannot follow a flattened layer")
        kh = int(pool.group(2) or 2)
        kw = int(pool.group(3) or kh)
        stride = int(pool.group(4) or kh)
        try:
            if pool.group(1) == "sumpool":
                layer = nn.WeightedSumPool2d(shape.channels, (kh, kw), stride, padding="same")
            else:
                kind = nn.MaxPool2d if pool.group(1) == "maxpool" else nn.AvgPool2d
                layer = kind((kh, kw), stride, padding="same")
            shape.height, shape.width = _conv_output(shape.height, shape.width, (kh, kw),
                                                     stride, "same")
        except ValueError as error:
            raise _error(arch, column, token, str(error)) from None
        shape.layers.append(layer)
    elif token in ("gap", "gmp"):
        shape.layers.append(nn.AdaptiveAvgPool2d(1) if token == "gap" else nn.AdaptiveMaxPool2d(1))
        shape.height = shape.width = 1
    elif token == "scaledtanh":
        shape.layers.append(nn.ScaledTanh())
    elif token in ("relu", "tanh", "sigmoid", "leakyrelu"):
        shape.layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                             "leakyrelu": nn.LeakyReLU}[token]())
    elif token == "bn":
        if shape.last_width is None:
            raise _error(arch, column, token, "bn needs a conv or fc layer before it")
        shape.layers.append(nn.BatchNorm1d(shape.last_width) if shape.flat
                            else nn.BatchNorm2d(shape.last_width))
    elif re.fullmatch(r"dropout(0?\.\d+)?", token):
        shape.layers.append(nn.Dropout(float(token[7:] or 0.5), rng=rng))
    elif token == "flatten" or re.fullmatch(r"fc\d+", token):
        if inside_block:
            raise _error(arch, column, token, "a residual block keeps its maps: no flatten or "
                                              "fc inside 'res( ... )'")
        if not shape.flat:
            shape.layers.append(nn.Flatten())
            shape.flat = True
            shape.channels = shape.channels * shape.height * shape.width
        if token != "flatten":
            features = int(token[2:])
            if features < 1:
                raise _error(arch, column, token, "fc needs a positive number of outputs")
            _check_weights(arch, column, token, shape.channels * features)
            shape.layers.append(nn.Linear(shape.channels, features, rng=rng))
            shape.channels, shape.last_width = features, features
    else:
        raise _error(arch, column, token, "unknown layer (see the grammar in the README: "
                     "[N|KxK sS], maxpool[KxK sS], avgpool, gap, relu, tanh, bn, dropout, "
                     "fcN, res( ... ))")


def _error(arch: str, column: int, token: str, why: str) -> ArchError:
    return ArchError(f"arch: {why}, at token {token!r} (column {column + 1} of {arch!r})")


def _check_weights(arch: str, column: int, token: str, count: int) -> None:
    if count > MAX_LAYER_WEIGHTS:
        raise _error(arch, column, token, f"the layer needs {count:,} weights, more than the "
                                          f"{MAX_LAYER_WEIGHTS:,} a layer may have")


def _conv_output(height: int, width: int, kernel, stride: int, padding) -> tuple[int, int]:
    pairs = resolve_padding(padding, (height, width), kernel, (stride, stride), (1, 1))
    sizes = [output_size(n, k, stride, 1, b, a)
             for n, k, (b, a) in zip((height, width), kernel, pairs)]
    if min(sizes) < 1:
        raise ValueError(f"the {height}x{width} input is too small for a {kernel[0]}x{kernel[1]} "
                         f"window")
    return sizes[0], sizes[1]
