"""Which handler writes which convnet layer, and the recursion through a model's tree.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> from convnet.onnx.graph import GraphBuilder
    >>> graph = GraphBuilder(np.float32)
    >>> name, y = export_module(graph, nn.ReLU(), "act", "x", np.array([[-1.0, 2.0]], np.float32))
    >>> name, y.tolist()
    ('act/Relu_out', [[0.0, 2.0]])
"""

from __future__ import annotations

import numpy as np

from .. import nn
from . import export_layers as layers
from . import export_models as models
from . import export_residual as residual
from .graph import ExportError, GraphBuilder

__all__ = ["export_module"]


def _table():
    from ..nn.conv import _ConvNd
    from ..nn.conv_transpose import _ConvTransposeNd
    from ..nn.local import _UnsharedConvNd
    from ..nn.pool import _AdaptivePool, _AvgPoolNd, _LPPoolNd, _MaxPoolNd
    from ..nn.regularization import _BatchNorm
    return [
        (nn.Sequential, layers.sequential), (_ConvNd, layers.conv),
        (_ConvTransposeNd, layers.conv_transpose), (_UnsharedConvNd, layers.unshared_conv),
        (_MaxPoolNd, layers.max_pool), (_AvgPoolNd, layers.avg_pool), (_LPPoolNd, layers.lp_pool),
        (_AdaptivePool, layers.adaptive_pool), (nn.Maxout, layers.maxout),
        (nn.WeightedSumPool2d, layers.weighted_sum_pool), (nn.Linear, layers.linear),
        (nn.Flatten, layers.flatten), (_BatchNorm, layers.batch_norm),
        (nn.Upsample, layers.upsample),
        (nn.ReLU, layers.activation("Relu")), (nn.Sigmoid, layers.activation("Sigmoid")),
        (nn.Tanh, layers.activation("Tanh")),
        (nn.LeakyReLU, layers.activation("LeakyRelu", alpha=lambda m: float(m.negative_slope))),
        (nn.Softmax, layers.softmax("Softmax")), (nn.LogSoftmax, layers.softmax("LogSoftmax")),
        (nn.ScaledTanh, layers.scaled_tanh), (nn.Dropout, layers.passthrough),
        (nn.Identity, layers.passthrough), (nn.UNet, models.unet), (nn.FCN, models.fcn),
        (nn.RecurrentRefine, models.recurrent_refine), (nn.BasicBlock, residual.basic_block),
        (nn.Residual, residual.residual), (nn.CifarResNet, residual.cifar_resnet),
    ]


def export_module(graph: GraphBuilder, module, path: str, x_name: str, x: np.ndarray):
    """Write ``module`` applied to value ``x_name`` (array ``x``); ``(name, array)`` out."""
    graph.recurse = lambda child, child_path, name, value: export_module(graph, child, child_path,
                                                                         name, value)
    for cls, handler in _table():
        if isinstance(module, cls):
            outer, graph.scope = graph.scope, path
            try:
                return handler(graph, module, path, x_name, x)
            finally:
                graph.scope = outer
    raise ExportError(f"{path or 'model'}: no exact ONNX form for {type(module).__name__}; "
                      f"nothing was written")
