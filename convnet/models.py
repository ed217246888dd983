"""Models by name, and any architecture written in the notes' notation (its grammar, with
residual blocks ``res( ... )``, is in :mod:`convnet.arch`).

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
from .arch import MAX_LAYER_WEIGHTS, ArchError, build_sequential, tokens

__all__ = ["MODELS", "RESIDUAL_MODELS", "SEGMENTATION_MODELS", "ArchError", "MAX_LAYER_WEIGHTS",
           "build_model", "build_segmentation_model", "describe_models", "is_segmentation_model",
           "tokens"]

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
# ResNet-18 for 32x32 images: torchvision's stages and projection shortcuts on a 3x3 stem
RESIDUAL_MODELS["resnet18-cifar"] = ("CifarResNet", {"depth": 18, "blocks": (2, 2, 2, 2),
                                                     "width": 64, "shortcut": "B"})

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


def describe_models() -> str:
    """One line per named model with its architecture string."""
    lines = [f"{name:<12} {arch.format(classes='<classes>')}" for name, arch in MODELS.items()]
    for name, (_, args) in RESIDUAL_MODELS.items():
        kind = ("ResNet-18 for 32x32 images (3x3 stem, projection shortcuts)" if "blocks" in args
                else "He et al. 2016's CIFAR ResNet")
        lines.append(f"{name:<12} {kind}, {args['depth']} layers")
    return "\n".join(lines)


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
        convnet.arch.ArchError: fcn colour=2: unknown option 'colour' (fcn takes width, depth, dilation, batch_norm)
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
    return build_sequential(arch, input_shape, rng)
