"""Looking inside a model: one layer's feature maps, and input-gradient saliency.

Both run the model in evaluation mode on one image (C, H, W) and put every mode,
method and flag they touch back as they found it, even when the model raises.
"""

from __future__ import annotations

import numpy as np

from ..nn.leaf_calls import evaluation_mode
from ..nn.module import Module
from ..tensor import Tensor, is_grad_enabled, no_grad
from ._figure import as_numpy, colormap, mosaic_figure, new_figure, save_figure, show_image

__all__ = ["feature_maps", "plot_feature_maps", "saliency_map", "plot_saliency"]


class _StopForward(Exception):
    """Raised once the wanted layer has run, so the rest of the model is skipped."""


def _as_batch(image, model: Module) -> np.ndarray:
    """(1, C, H, W) copy of ``image`` in the dtype of the model's parameters."""
    array = as_numpy(image, "image")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] != 1:
        raise ValueError(f"image: expected one image of shape (C, H, W) or (1, C, H, W), "
                         f"got {array.shape}")
    dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
    return np.array(array, dtype=dtype)


def _find_layer(model: Module, layer) -> tuple[str, Module]:
    named = list(model.named_modules())
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        leaves = [(name, module) for name, module in named if next(module.children(), None) is None]
        if not -len(leaves) <= layer < len(leaves):
            raise ValueError(f"layer: index {layer} is out of range for the {len(leaves)} leaf "
                             f"modules {[name for name, _ in leaves]}")
        return leaves[layer]
    if isinstance(layer, str):
        for name, module in named:
            if name == layer:
                return name, module
        raise ValueError(f"layer: no module named {layer!r}; the model has "
                         f"{[name for name, _ in named if name]}")
    raise TypeError(f"layer: expected a module name such as 'features.3' or an int index, "
                    f"got {type(layer).__name__}")


def find_node(graph, layer):
    """The node of an imported ONNX graph by name or by index (the graph's layers)."""
    nodes = graph.nodes
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(nodes) <= layer < len(nodes):
            raise ValueError(f"layer: index {layer} is out of range for the {len(nodes)} nodes")
        return nodes[layer]
    for node in nodes:
        if node.name == layer:
            return node
    raise ValueError(f"layer: no node named {layer!r}; the graph has "
                     f"{[node.name for node in nodes][:12]}")


def feature_maps(model, image, layer):
    """The output of one layer of ``model`` for one image.

    The layer's ``forward`` is wrapped on the instance for the duration of the call
    (and restored afterwards, even on error) to capture its output; the layers after
    it are not run. The model runs in eval mode without recording gradients.

    Args:
        model: a :class:`convnet.nn.Module`.
        image: (C, H, W) or (1, C, H, W) array or Tensor.
        layer: a ``state_dict``-style module name (``'0'``, ``'features.3'``) or an int
            index into the leaf modules (those without children) in ``named_modules()``
            order; negative indices count from the end.

    Returns:
        That layer's output without the batch axis: (C_out, H_out, W_out) for a
        convolution or pooling layer, (features,) after Flatten or Linear.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        >>> feature_maps(model, np.ones((1, 8, 8)), '2').shape
        (4, 4, 4)
    """
    if not isinstance(model, Module):
        raise TypeError(f"model: expected a convnet.nn.Module, got {type(model).__name__}")
    if hasattr(model, "trace_nodes"):   # an imported ONNX graph: its nodes are the layers
        node = find_node(model, layer)
        with evaluation_mode(model):
            for traced, _, output in model.trace_nodes(_as_batch(image, model)):
                if traced is node:
                    return np.array(as_numpy(output, "layer output")[0])
    name, module = _find_layer(model, layer)
    batch = _as_batch(image, model)
    captured = []
    own_forward = module.__dict__.get("forward")
    original = module.forward

    def capturing_forward(*args, **kwargs):
        captured.append(original(*args, **kwargs))
        raise _StopForward

    module.forward = capturing_forward
    try:
        with no_grad(), evaluation_mode(model):
            try:
                model(batch)
            except _StopForward:
                pass
    finally:
        if own_forward is None:
            del module.forward
        else:
            module.forward = own_forward
    if not captured:
        raise ValueError(f"layer: module {name!r} was not called by the model's forward")
    return np.array(as_numpy(captured[0], "layer output")[0])


def plot_feature_maps(model, image, layer, path, max_maps=64):
    """A grid of the first ``max_maps`` channels of :func:`feature_maps`, each on its own scale.

    Args:
        model, image, layer: as for :func:`feature_maps`; the layer's output must be
            spatial, (C, H, W).
        path: the PNG file to write.
        max_maps: the most channels to show.

    Returns:
        ``path``.

    Example:
        >>> import os, tempfile, numpy as np, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> path = plot_feature_maps(model, np.random.rand(3, 16, 16), 1,
        ...                          os.path.join(folder.name, 'maps.png'))
        >>> folder.cleanup()
    """
    maps = feature_maps(model, image, layer)
    if maps.ndim != 3:
        raise ValueError(f"layer: {layer!r} gives an output of shape {maps.shape} per image; "
                         f"feature maps need (C, H, W)")
    if int(max_maps) < 1:
        raise ValueError(f"max_maps: expected a positive int, got {max_maps!r}")
    shown = maps[:int(max_maps)]
    name, _ = _find_layer(model, layer)
    title = (f"layer {name!r}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}"
             + (f" (first {len(shown)})" if len(shown) < len(maps) else ""))
    low = shown.min(axis=(1, 2), keepdims=True)
    spread = shown.max(axis=(1, 2), keepdims=True) - low
    tiles = colormap("viridis")((shown - low) / np.where(spread > 0, spread, 1))
    return save_figure(mosaic_figure(tiles, title, labelled=len(shown) <= 64), path)


def _saliency(model, image, target):
    """(saliency (H, W), target class, class scores (classes,))."""
    if not isinstance(model, Module):
        raise TypeError(f"model: expected a convnet.nn.Module, got {type(model).__name__}")
    if not is_grad_enabled():
        raise RuntimeError("saliency_map needs gradients: call it outside convnet.no_grad()")
    pixels = Tensor(_as_batch(image, model), requires_grad=True)
    parameters = list(model.parameters())
    flags = [parameter.requires_grad for parameter in parameters]
    try:
        for parameter in parameters:  # so backward leaves the model's .grad alone
            parameter.requires_grad = False
        with evaluation_mode(model):
            scores = model(pixels)
        if not isinstance(scores, Tensor) or scores.ndim != 2 or scores.shape[0] != 1:
            raise ValueError(f"model: expected class scores of shape (1, classes), got "
                             f"{getattr(scores, 'shape', type(scores).__name__)}")
        classes = scores.shape[1]
        if target is None:
            target = int(np.argmax(scores.data[0]))
        elif not isinstance(target, (int, np.integer)) or not 0 <= target < classes:
            raise ValueError(f"target: expected a class index in [0, {classes}), got {target!r}")
        upstream = np.zeros(scores.shape, dtype=scores.dtype)
        upstream[0, target] = 1
        if scores.requires_grad:
            scores.backward(upstream)
    finally:
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad = flag
    gradient = pixels.grad if pixels.grad is not None else np.zeros_like(pixels.data)
    return np.abs(gradient[0]).max(axis=0), int(target), np.array(scores.data[0])


def saliency_map(model, image, target=None):
    """Which pixels the class score is most sensitive to: ``max_c |d score / d x[c, i, j]|``.

    The score is the logit (pre-softmax output) of class ``target`` for one image,
    the gradient comes from convnet's autograd (one backward pass with a one-hot
    upstream gradient, model in eval mode; parameter gradients are not touched).

    Args:
        model: a Module mapping (1, C, H, W) to class scores (1, classes).
        image: (C, H, W) or (1, C, H, W) array or Tensor.
        target: class index; default the predicted class (largest score).

    Returns:
        (H, W) non-negative array.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
        ...                       nn.Linear(4 * 8 * 8, 10))
        >>> saliency_map(model, np.random.rand(3, 8, 8), target=2).shape
        (8, 8)
    """
    return _saliency(model, image, target)[0]


def plot_saliency(model, image, path, target=None):
    """The image beside its :func:`saliency_map` (hot colormap), titled with the class.

    Args:
        model, image, target: as for :func:`saliency_map`; the image is drawn in RGB
            when it has 3 channels, else as the channel mean in gray.
        path: the PNG file to write.

    Returns:
        ``path``.

    Example:
        >>> import os, tempfile, numpy as np, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
        >>> path = plot_saliency(model, np.random.rand(1, 8, 8), os.path.join(folder.name, 's.png'))
        >>> folder.cleanup()
    """
    saliency, target, scores = _saliency(model, image, target)
    pixels = as_numpy(image, "image").reshape(-1, *saliency.shape).astype(np.float64)
    figure = new_figure(8.0, 4.2)
    image_ax, saliency_ax = figure.subplots(1, 2)
    show_image(image_ax, pixels)
    image_ax.set_title("image")
    drawn = saliency_ax.imshow(saliency, cmap="hot", interpolation="nearest")
    figure.colorbar(drawn, ax=saliency_ax, fraction=0.046, pad=0.04)
    saliency_ax.set_title(f"saliency of class {target} (score {scores[target]:.3g})")
    for ax in (image_ax, saliency_ax):
        ax.set_axis_off()
    figure.tight_layout()
    return save_figure(figure, path)
