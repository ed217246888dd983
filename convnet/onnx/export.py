"""``convnet.onnx.export``: write a convnet model as an ONNX file that computes exactly what
the model computes (in eval mode), or refuse with a one-line reason.

The model is run once on the example input; every layer writes its nodes with the sizes it
saw (the batch dimension stays free with ``dynamic_batch``). The opset is the lowest that
holds the model: 17, or 19 when a circular padding needs Pad's 'wrap' mode. The file is
checked with ``onnx.checker.check_model(full_check=True)`` (which runs ONNX's shape
inference) before it is written, atomically.
"""

from __future__ import annotations

import os

import numpy as np

from .graph import DEFAULT_OPSET, ExportError, GraphBuilder

__all__ = ["export", "required_opset"]

INSTALL_HINT = 'pip install "convnet[onnx]"'


def require_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"ONNX export and import need the onnx package: {INSTALL_HINT}") from error
    return onnx


def required_opset(model) -> int:
    """The lowest opset that holds every layer of ``model`` (17 unless a layer needs more)."""
    needed = DEFAULT_OPSET
    for module in model.modules():
        if getattr(module, "padding_mode", None) == "circular":
            needed = max(needed, 19)   # Pad's 'wrap' mode
    return needed


def export(model, args, f, opset_version: int | None = None, input_names=None, output_names=None,
           dynamic_batch: bool = True, metadata: dict | None = None):
    """Write ``model`` applied to ``args`` as an ONNX model to ``f`` (a path or a binary file).

    Args:
        model: a :class:`convnet.nn.Module` (exported in eval mode; its mode is restored).
        args: the example input, an array or Tensor (N, C, ...), or a 1-tuple of one.
        f: a file path (written atomically) or a writable binary file object.
        opset_version: None for the lowest that holds the model; a lower one is refused.
        input_names, output_names: one name each (default ``input`` and ``output``).
        dynamic_batch: leave the batch size free (``batch``) in the file.
        metadata: plain values stored as JSON under the file's ``convnet`` metadata key
            (``convnet train`` puts the class names, input shape and normalisation there).

    Returns:
        The ``onnx.ModelProto`` written.

    Example:
        >>> import io, numpy as np, convnet.nn as nn
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding='same', rng=0), nn.ReLU(),
        ...                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10, rng=0))
        >>> proto = export(model, np.zeros((1, 1, 8, 8), np.float32), io.BytesIO())
        >>> [node.op_type for node in proto.graph.node], proto.opset_import[0].version
        (['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm'], 17)
    """
    onnx = require_onnx()
    from onnx import TensorProto, helper
    from ..tensor import Tensor
    if isinstance(args, tuple):
        if len(args) != 1:
            raise ExportError(f"args: expected one example input, got a tuple of {len(args)}")
        args = args[0]
    x = np.asarray(args.data if isinstance(args, Tensor) else args)
    if x.dtype not in (np.float32, np.float64) or x.ndim < 2:
        raise ExportError(f"args: expected a float32 or float64 array (N, C, ...), got "
                          f"{x.dtype} of shape {x.shape}")
    needed = required_opset(model)
    opset = needed if opset_version is None else int(opset_version)
    if opset < needed:
        raise ExportError(f"opset_version {opset}: the model needs opset {needed} (a circular "
                          f"padding is Pad's 'wrap' mode, new in opset 19)")
    if opset < DEFAULT_OPSET:
        raise ExportError(f"opset_version {opset}: convnet writes opset {DEFAULT_OPSET} or newer")
    input_name = (input_names or ["input"])[0]
    output_name = (output_names or ["output"])[0]
    from .handlers import export_module
    graph = GraphBuilder(x.dtype, opset)
    graph.used.update({input_name})
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        y_name, y = export_module(graph, model, "", input_name, x)
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    if graph.nodes and list(graph.nodes[-1].output) == [y_name]:
        graph.nodes[-1].output[0] = output_name     # the last node writes the output itself
    else:                                           # e.g. a model of Dropout only
        graph.nodes.append(helper.make_node("Identity", [y_name], [output_name], name="output"))
    elem = TensorProto.FLOAT if x.dtype == np.float32 else TensorProto.DOUBLE
    batch = "batch" if dynamic_batch else x.shape[0]
    inputs = [helper.make_tensor_value_info(input_name, elem, [batch, *x.shape[1:]])]
    outputs = [helper.make_tensor_value_info(output_name, elem, [batch, *y.shape[1:]])]
    proto = helper.make_model(helper.make_graph(graph.nodes, "convnet", inputs, outputs,
                                                graph.initializers),
                              opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="convnet")
    proto.ir_version = min(proto.ir_version, 10)   # readable by the onnxruntime releases in use
    if metadata:
        import json
        helper.set_model_props(proto, {"convnet": json.dumps(metadata)})
    onnx.checker.check_model(proto, full_check=True)
    _write(proto, f)
    return proto


def _write(proto, f) -> None:
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        from ..io.atomic import atomic_write_bytes
        atomic_write_bytes(os.fspath(f), data)
    else:
        f.write(data)
