"""Residual networks: a block's branch and shortcut written side by side and joined by Add.

He et al.'s option-A shortcut has an exact ONNX form: the subsampling ``x[:, :, ::s, ::s]``
is a Slice with steps ``s`` on the two spatial axes, and the zero channels are a constant
Pad on axis 1 (half before, half after, as :func:`convnet.nn.residual.option_a_shortcut`).
Option B (torchvision's 1x1 projection, ``downsample``) is an ordinary Sequential.

Example:
    >>> import io, numpy as np, convnet.nn as nn
    >>> from convnet.onnx import export
    >>> model = nn.CifarResNet(8, num_classes=3, rng=0)
    >>> proto = export(model, np.zeros((1, 3, 8, 8), np.float32), io.BytesIO())
    >>> sorted({node.op_type for node in proto.graph.node} & {"Slice", "Pad", "Add"})
    ['Add', 'Pad', 'Slice']
"""

from __future__ import annotations

import numpy as np

from ..nn.residual import option_a_shortcut
from ..tensor import Tensor, no_grad

__all__ = ["basic_block", "cifar_resnet", "residual"]


def _option_a(graph, x_name: str, x: np.ndarray, stride: int, extra_channels: int):
    """The option-A shortcut as Slice (steps) then Pad on the channel axis."""
    name = x_name
    if stride != 1:
        big = np.iinfo(np.int64).max
        name = graph.node("Slice", [name, graph.ints([0, 0], "starts"), graph.ints([big, big], "ends"),
                                    graph.ints([2, 3], "axes"), graph.ints([stride, stride], "steps")])
    if extra_channels:
        before = extra_channels // 2
        name = graph.node("Pad", [name, graph.ints([0, before, 0, 0,
                                                    0, extra_channels - before, 0, 0], "pads")],
                          mode="constant")
    with no_grad():
        return name, option_a_shortcut(Tensor(x), stride, extra_channels).data


def _add(graph, branch, shortcut):
    (branch_name, branch_value), (shortcut_name, shortcut_value) = branch, shortcut
    return graph.node("Add", [branch_name, shortcut_name]), branch_value + shortcut_value


def basic_block(graph, module, path, x_name, x):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""
    prefix = f"{path}." if path else ""
    out = (x_name, x)
    for child in ("conv1", "bn1", "relu", "conv2", "bn2"):
        out = graph.recurse(getattr(module, child), f"{prefix}{child}", *out)
    if module.downsample is not None:
        shortcut = graph.recurse(module.downsample, f"{prefix}downsample", x_name, x)
    else:
        shortcut = _option_a(graph, x_name, x, module.stride, module.extra_channels)
    return graph.recurse(module.sum_relu, f"{prefix}sum_relu", *_add(graph, out, shortcut))


def residual(graph, module, path, x_name, x):
    """block(x) + option-A shortcut(x) (the notation's ``res( ... )``)."""
    prefix = f"{path}." if path else ""
    branch = graph.recurse(module.block, f"{prefix}block", x_name, x)
    return _add(graph, branch, _option_a(graph, x_name, x, module.stride, module.extra_channels))


def cifar_resnet(graph, module, path, x_name, x):
    """Stem (conv, batch norm, ReLU), the stages, global average pooling, the classifier."""
    prefix = f"{path}." if path else ""
    out = graph.recurse(module.conv1, f"{prefix}conv1", x_name, x)
    name, value = graph.recurse(module.bn1, f"{prefix}bn1", *out)
    out = graph.node("Relu", [name]), np.maximum(value, 0)
    for stage in range(1, module.stages + 1):
        out = graph.recurse(getattr(module, f"layer{stage}"), f"{prefix}layer{stage}", *out)
    name, value = graph.recurse(module.avgpool, f"{prefix}avgpool", *out)
    out = graph.node("Flatten", [name], axis=1), value.reshape(len(value), -1)
    return graph.recurse(module.fc, f"{prefix}fc", *out)
