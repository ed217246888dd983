"""The per-pixel models, whose forward is more than a chain: U-Net's skips (Concat after a
centred crop or pad to the skip's size), FCN, and the recurrent refinement's shared stage
(the same initializers used at every step).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor, no_grad
from .export_layers import conv


def _recurse(graph):
    """``export_module(graph, module, path, name, x)`` through the graph's recursion hook."""
    return lambda _graph, module, path, name, x: graph.recurse(module, path, name, x)


def _match_size(graph, name, y: np.ndarray, size):
    """F.match_size as Slice (crop) and Pad (zeros), centred."""
    height, width = y.shape[-2:]
    crop_h, crop_w = max(height - size[0], 0), max(width - size[1], 0)
    if crop_h or crop_w:
        starts = [crop_h // 2, crop_w // 2]
        ends = [starts[0] + min(height, size[0]), starts[1] + min(width, size[1])]
        name = graph.node("Slice", [name, graph.ints(starts, "starts"), graph.ints(ends, "ends"),
                                    graph.ints([2, 3], "axes")])
    grow_h, grow_w = max(size[0] - height, 0), max(size[1] - width, 0)
    if grow_h or grow_w:
        name = graph.pad(name, ((grow_h // 2, grow_h - grow_h // 2),
                                (grow_w // 2, grow_w - grow_w // 2)), "zeros", 4)
    with no_grad():
        return name, F.match_size(Tensor(y), tuple(size)).data


def unet(graph, module, path, x_name, x):
    export_module = _recurse(graph)
    prefix = f"{path}." if path else ""
    skips = []
    for level, block in enumerate(module.encoder):
        x_name, x = export_module(graph, block, f"{prefix}encoder.{level}", x_name, x)
        if level < module.depth:
            skips.append((x_name, x))
            x_name, x = export_module(graph, module.pool, f"{prefix}pool", x_name, x)
    for index, (up, block, (skip_name, skip)) in enumerate(zip(module.ups, module.decoder,
                                                                 reversed(skips))):
        x_name, x = export_module(graph, up, f"{prefix}ups.{index}", x_name, x)
        x_name, x = _match_size(graph, x_name, x, skip.shape[-2:])
        joined = graph.node("Concat", [skip_name, x_name], axis=1)
        x_name, x = export_module(graph, block, f"{prefix}decoder.{index}", joined,
                                  np.concatenate([skip, x], axis=1))
    return export_module(graph, module.head, f"{prefix}head", x_name, x)


def fcn(graph, module, path, x_name, x):
    return _recurse(graph)(graph, module.layers, f"{path}.layers" if path else "layers", x_name, x)


def recurrent_refine(graph, module, path, x_name, x):
    """``scores = W(relu(U x))``, then ``T - 1`` times ``W(relu(U x + V softmax(scores)))``,
    the stage's weights written once and read at every step."""
    export_module = _recurse(graph)
    prefix = f"{path}." if path else ""
    image_name, image = export_module(graph, module.U, f"{prefix}U", x_name, x)
    weight_names = {}

    def shared_conv(layer, name, value, key):
        """A conv whose initializers are written the first time and reused after."""
        before = len(graph.initializers)
        out_name, out = conv(graph, layer, f"{prefix}{key}", name, value)
        if key in weight_names:   # reuse: drop the copies just written, point at the first
            copies = graph.initializers[before:]
            del graph.initializers[before:]
            node = graph.nodes[-1]
            for copy, original in zip(copies, weight_names[key]):
                node.input[list(node.input).index(copy.name)] = original
        else:
            weight_names[key] = [init.name for init in graph.initializers[before:]]
        return out_name, out

    relu = graph.node("Relu", [image_name])
    scores_name, scores = shared_conv(module.W, relu, np.maximum(image, 0), "W")
    for _ in range(module.steps - 1):
        probabilities = graph.node("Softmax", [scores_name], axis=1)
        with no_grad():
            p = F.softmax(Tensor(scores), dim=1).data
        label_name, label = shared_conv(module.V, probabilities, p, "V")
        hidden = graph.node("Relu", [graph.node("Add", [image_name, label_name])])
        scores_name, scores = shared_conv(module.W, hidden, np.maximum(image + label, 0), "W")
    return scores_name, scores
