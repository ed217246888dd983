"""Models by name, and any architecture written in the notes' notation.

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

Example: ``[32|5x5 s1] relu maxpool[2x2 s2] [64|5x5] relu maxpool[2x2 s2] fc128 relu fc10``.

Input channels and sizes come from the data, so ``fc`` layers know their fan-in.
A malformed string raises :class:`ArchError` pointing at the bad token.

Example:
    >>> model = build_model("[8|3x3] relu maxpool fc10", input_shape=(1, 8, 8))
    >>> model
    Sequential(
      (0): Conv2d([8 | 3x3 s 1], in_channels=1, padding='same')
      (1): ReLU()
      (2): MaxPool2d([2x2 s 2], padding='same')
      (3): Flatten(start_dim=1, end_dim=-1)
      (4): Linear(in_features=128, out_features=10, bias=True)
    )
"""

from __future__ import annotations

import re

from . import nn
from .random import resolve_rng
from .ops.windows import output_size, resolve_padding

MAX_LAYER_WEIGHTS = 2**28  # 1 GiB of float32 weights in one layer: far past any CNN of the notes

MODELS = {
    # the default for `convnet train` on the 8x8 digits
    "digits-cnn": "[16|3x3] relu [32|3x3] relu maxpool[2x2 s2] [64|3x3] relu gap fc{classes}",
    # LeNet-5 style (on 28x28 inputs 'same' padding plays the role of LeNet's 32x32 canvas)
    "lenet": "[6|5x5] relu maxpool[2x2 s2] [16|5x5 valid] relu maxpool[2x2 s2] "
             "fc120 relu fc84 relu fc{classes}",
    # the Fashion-MNIST default: two 5x5 conv layers, wider than LeNet
    "fashion-cnn": "[32|5x5] relu maxpool[2x2 s2] [64|5x5] relu maxpool[2x2 s2] "
                   "fc128 relu fc{classes}",
    # the notes' homework CIFAR net: four [conv 3x3 s1 -> relu -> maxpool 3 s2]
    "uwnet-cifar": "[8|3x3 s1] relu maxpool[3x3 s2] [16|3x3 s1] relu maxpool[3x3 s2] "
                   "[32|3x3 s1] relu maxpool[3x3 s2] [64|3x3 s1] relu maxpool[3x3 s2] fc{classes}",
    # LeCun et al. 1998's LeNet-5: trainable sum pooling and the scaled tanh after every
    # layer up to F6 (C3 fully connected to S2 and a softmax output in place of the RBF one)
    "lenet-1998": "[6|5x5] scaledtanh sumpool[2x2 s2] scaledtanh [16|5x5 valid] scaledtanh "
                  "sumpool[2x2 s2] scaledtanh [120|5x5 valid] scaledtanh fc84 scaledtanh "
                  "fc{classes}",
    # the fully connected baseline that shows why convolution helps (seed 003: 784-100-10)
    "mlp": "fc100 relu fc{classes}",
}


# classifiers that are not a chain of layers: a name -> (convnet.nn class, its arguments)
RESIDUAL_MODELS = {f"resnet{depth}": ("CifarResNet", {"depth": depth})
                   for depth in (20, 32, 44, 56, 110)}

# per-pixel classifiers (seed 002's structured outputs): a name, then options as key=value,
# e.g. "unet depth=4 width=32 bn=0"; built by build_segmentation_model
SEGMENTATION_MODELS = {
    "unet": ("UNet", {"depth": 3, "width": 16, "batch_norm": True, "up": "repeat"}),
    "unet-transpose": ("UNet", {"depth": 3, "width": 16, "batch_norm": True, "up": "transpose"}),
    "fcn": ("FCN", {"width": 32, "depth": 6, "dilation": 1, "batch_norm": True}),
    "refine": ("RecurrentRefine", {"width": 32, "steps": 3, "kernel_size": 3,
                                   "image_layers": 2}),
}
_OPTION_NAMES = {"bn": "batch_norm", "t": "steps"}


class ArchError(ValueError):
    """A malformed architecture string; the message points at the bad token."""


def describe_models() -> str:
    """One line per named model with its architecture string."""
    lines = [f"{name:<12} {arch.format(classes='<classes>')}" for name, arch in MODELS.items()]
    lines += [f"{name:<12} He et al. 2016's CIFAR ResNet, {args['depth']} layers"
              for name, (_, args) in RESIDUAL_MODELS.items()]
    return "\n".join(lines)


_CONV = re.compile(r"\[(\d+)\|(\d+)(?:x(\d+))?((?:\s+\S+)*)\]$")
_POOL = re.compile(r"(maxpool|avgpool|sumpool)(?:\[(\d+)(?:x(\d+))?(?:\s+s(\d+))?\])?$")


def _tokens(arch: str) -> list[tuple[str, int]]:
    """Tokens (bracketed groups kept whole, spaces around '|' and inside brackets removed,
    lower case), each with its column in ``arch``."""
    tokens = []
    for match in re.finditer(r"\S*\[[^\]]*\]|\S+", arch):
        text = re.sub(r"\s*\|\s*", "|", match.group().lower())
        text = re.sub(r"\[\s+", "[", re.sub(r"\s+\]", "]", text))
        tokens.append((text, match.start()))
    return tokens


def _error(arch: str, column: int, token: str, why: str) -> ArchError:
    return ArchError(f"arch: {why}, at token {token!r} (column {column + 1} of {arch!r})")


def is_segmentation_model(arch) -> bool:
    """True when ``arch`` names a per-pixel model of :data:`SEGMENTATION_MODELS`."""
    return isinstance(arch, str) and arch.split()[:1] != [] and \
        arch.split()[0].lower() in SEGMENTATION_MODELS


def build_segmentation_model(arch: str, input_shape, num_classes: int, rng=None) -> nn.Module:
    """A per-pixel model from ``"NAME key=value ..."`` (names in :data:`SEGMENTATION_MODELS`).

    Example:
        >>> model = build_segmentation_model("unet depth=2 width=4 up=transpose", (3, 20, 20), 5)
        >>> type(model).__name__, model.depth, model.up_mode
        ('UNet', 2, 'transpose')
        >>> build_segmentation_model("fcn colour=2", (1, 8, 8), 2)
        Traceback (most recent call last):
        ...
        convnet.models.ArchError: fcn colour=2: unknown option 'colour' (fcn takes width, depth, dilation, batch_norm)
    """
    name, *options = arch.split()
    class_name, defaults = SEGMENTATION_MODELS[name.lower()]
    settings = dict(defaults)
    for option in options:
        key, _, text = option.partition("=")
        key = _OPTION_NAMES.get(key.lower(), key.lower())
        if key not in defaults:
            raise ArchError(f"{arch}: unknown option {key!r} ({name} takes "
                            f"{', '.join(defaults)})")
        if isinstance(defaults[key], str):
            settings[key] = text
            continue
        if not re.fullmatch(r"\d{1,4}", text):
            raise ArchError(f"{arch}: option {key} expects a whole number, got {text!r}")
        settings[key] = bool(int(text)) if isinstance(defaults[key], bool) else int(text)
    if num_classes is None:
        raise ValueError(f"num_classes: model {name!r} needs the number of classes")
    try:
        return getattr(nn, class_name)(input_shape[0], num_classes, **settings, rng=rng)
    except ValueError as error:
        raise ArchError(f"{arch}: {error}") from None


def build_model(arch: str, input_shape: tuple[int, int, int], num_classes: int | None = None,
                rng=None) -> nn.Module:
    """A :class:`convnet.nn.Sequential` from a model name or an architecture string, or a
    per-pixel model from a name in :data:`SEGMENTATION_MODELS`.

    Args:
        arch: a name in :data:`MODELS` or a string in the grammar above.
        input_shape: (C, H, W) of one input image.
        num_classes: fills ``{classes}`` in named models.
        rng: Generator or seed for the initial weights.
    """
    if is_segmentation_model(arch):
        return build_segmentation_model(arch, input_shape, num_classes, rng)
    if arch in RESIDUAL_MODELS:
        if num_classes is None:
            raise ValueError(f"num_classes: model {arch!r} needs the number of classes")
        class_name, arguments = RESIDUAL_MODELS[arch]
        return getattr(nn, class_name)(num_classes=num_classes, in_channels=input_shape[0],
                                       rng=rng, **arguments)
    if arch in MODELS:
        if num_classes is None:
            raise ValueError(f"num_classes: model {arch!r} needs the number of classes")
        arch = MODELS[arch].format(classes=num_classes)
    if not isinstance(arch, str) or not arch.strip():
        raise ArchError(f"arch: expected a model name ({', '.join(MODELS)}) or an architecture "
                        f"string, got {arch!r}")
    channels, height, width = input_shape
    # one generator for the whole model: layers draw in turn, never the same stream twice
    rng = resolve_rng(rng)
    layers, flat = [], False
    last_width = None  # channels or features of the last parameterised layer (for bn)
    for token, column in _tokens(arch):
        conv = _CONV.match(token)
        pool = _POOL.match(token)
        if conv:
            if flat:
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
            _check_weights(arch, column, token, filters * channels * kh * kw)
            try:
                layer = nn.Conv2d(channels, filters, (kh, kw), stride, padding, rng=rng)
                height, width = _conv_output(height, width, (kh, kw), stride, padding)
            except ValueError as error:
                raise _error(arch, column, token, str(error)) from None
            layers.append(layer)
            channels, last_width = filters, filters
        elif pool:
            if flat:
                raise _error(arch, column, token, "pooling cannot follow a flattened layer")
            kh = int(pool.group(2) or 2)
            kw = int(pool.group(3) or kh)
            stride = int(pool.group(4) or kh)
            cls = nn.MaxPool2d if pool.group(1) == "maxpool" else nn.AvgPool2d
            try:
                if pool.group(1) == "sumpool":
                    layer = nn.WeightedSumPool2d(channels, (kh, kw), stride, padding="same")
                else:
                    layer = cls((kh, kw), stride, padding="same")
                height, width = _conv_output(height, width, (kh, kw), stride, "same")
            except ValueError as error:
                raise _error(arch, column, token, str(error)) from None
            layers.append(layer)
        elif token in ("gap", "gmp"):
            layers.append(nn.AdaptiveAvgPool2d(1) if token == "gap" else nn.AdaptiveMaxPool2d(1))
            height = width = 1
        elif token == "scaledtanh":
            layers.append(nn.ScaledTanh())
        elif token in ("relu", "tanh", "sigmoid", "leakyrelu"):
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                           "leakyrelu": nn.LeakyReLU}[token]())
        elif token == "bn":
            if last_width is None:
                raise _error(arch, column, token, "bn needs a conv or fc layer before it")
            layers.append(nn.BatchNorm1d(last_width) if flat else nn.BatchNorm2d(last_width))
        elif re.fullmatch(r"dropout(0?\.\d+)?", token):
            layers.append(nn.Dropout(float(token[7:] or 0.5), rng=rng))
        elif token == "flatten":
            if not flat:
                layers.append(nn.Flatten())
                flat = True
        elif re.fullmatch(r"fc\d+", token):
            features = int(token[2:])
            if features < 1:
                raise _error(arch, column, token, "fc needs a positive number of outputs")
            if not flat:
                layers.append(nn.Flatten())
                flat = True
                channels = channels * height * width
            _check_weights(arch, column, token, channels * features)
            layers.append(nn.Linear(channels, features, rng=rng))
            channels, last_width = features, features
        else:
            raise _error(arch, column, token, "unknown layer (see the grammar in the README: "
                         "[N|KxK sS], maxpool[KxK sS], avgpool, gap, relu, tanh, bn, dropout, fcN)")
    if not layers:
        raise ArchError(f"arch: no layers in {arch!r}")
    return nn.Sequential(*layers)


def _check_weights(arch: str, column: int, token: str, count: int) -> None:
    if count > MAX_LAYER_WEIGHTS:
        raise _error(arch, column, token, f"the layer needs {count:,} weights, more than the "
                                          f"{MAX_LAYER_WEIGHTS:,} a layer may have")


def _conv_output(height: int, width: int, kernel, stride: int, padding) -> tuple[int, int]:
    pairs = resolve_padding(padding, (height, width), kernel, (stride, stride), (1, 1))
    sizes = [output_size(n, k, stride, 1, b, a) for n, k, (b, a) in zip((height, width), kernel, pairs)]
    if min(sizes) < 1:
        raise ValueError(f"the {height}x{width} input is too small for a {kernel[0]}x{kernel[1]} "
                         f"window")
    return sizes[0], sizes[1]
