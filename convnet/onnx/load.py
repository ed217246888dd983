"""``convnet.onnx.load``: an ONNX file of the CNN operator subset as a trainable convnet
module (:class:`OnnxGraph`), read defensively.

The file is a regular file of at most 16 GiB read in full (no device or FIFO); it must
parse, pass ``onnx.checker``, use the default domain at opset 7-23, declare no initializer
of more than 2**28 values and no external data outside its own folder. Every node's
operator must be one convnet computes (:data:`convnet.onnx.import_ops.OPS`); the first that
is not is named with its operator and opset. Float initializers become the module's
parameters (named after them, ``.`` and other signs as ``_``); the others (shapes, pads)
stay constants.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .import_ops import OPS, UnsupportedNode

__all__ = ["load", "OnnxGraph", "OnnxImportError"]

MAX_INITIALIZER_VALUES = 2**28
OPSETS = range(7, 26)


class OnnxImportError(ValueError):
    """An ONNX file convnet cannot read; the message names the file and what is wrong."""




class _Node:
    """A node in plain values: what forward needs, and what a saved model stores."""

    def __init__(self, op_type, inputs, outputs, attributes, name, opset):
        self.op_type, self.input, self.output = op_type, list(inputs), list(outputs)
        self.attributes, self.name, self.opset = attributes, name, opset


def _parameter_name(name: str, taken: set) -> str:
    base = re.sub(r"\W", "_", name) or "value"
    if base[0].isdigit():
        base = "p_" + base
    candidate, count = base, 1
    while candidate in taken:
        candidate, count = f"{base}_{count}", count + 1
    taken.add(candidate)
    return candidate


class OnnxGraph(Module):
    """An imported ONNX graph: its nodes run in order on convnet's differentiable ops.

    Args:
        nodes: ``[op_type, inputs, outputs, attributes, name]`` per node.
        input_name, output_name: the graph's input (or a list of inputs: ``forward`` then
            takes one array each, in order) and its output.
        parameters: ``{value name: (attribute name, shape, dtype name)}`` of the weights.
        constants: ``{value name: array}`` of the non-trainable initializers.
        opset: the file's default-domain opset.

    Example:
        >>> import numpy as np
        >>> graph = OnnxGraph([["Relu", ["x"], ["y"], {}, "relu"]], "x", "y", {}, {}, 17)
        >>> graph(np.array([[-1.0, 2.0]], np.float32)).data
        array([[0., 2.]], dtype=float32)
    """

    def __init__(self, nodes, input_name, output_name: str, parameters: dict,
                 constants: dict, opset: int):
        super().__init__()
        self.input_names = [input_name] if isinstance(input_name, str) else list(input_name)
        self.output_name, self.opset = output_name, int(opset)
        self.nodes = [_Node(op, inputs, outputs, dict(attributes), name, self.opset)
                      for op, inputs, outputs, attributes, name in nodes]
        self.parameter_names = {}
        for value_name, (attribute, shape, dtype) in parameters.items():
            self.register_parameter(attribute, Parameter(np.zeros(tuple(shape), np.dtype(dtype))))
            self.parameter_names[value_name] = attribute
        self.constants = {name: np.asarray(value) for name, value in constants.items()}

    def trace_nodes(self, *inputs) -> list:
        """``(node, input values, output value)`` of every node for these inputs (no grad)."""
        from ..tensor import no_grad
        seen = []
        self._observer = lambda node, node_inputs, outputs: seen.append(
            (node, node_inputs, outputs[0]))
        try:
            with no_grad():
                self.forward(*inputs)
        finally:
            self._observer = None
        return seen

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"the graph takes {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        values = {name: x if isinstance(x, Tensor) or not np.issubdtype(np.asarray(x).dtype,
                                                                         np.floating)
                  else Tensor(np.asarray(x))          # integer inputs stay integer arrays
                  for name, x in zip(self.input_names, inputs)}
        values.update(self.constants)
        for value_name, attribute in self.parameter_names.items():
            values[value_name] = getattr(self, attribute)
        for node in self.nodes:
            inputs = [values[name] if name else None for name in node.input]
            try:
                outputs = OPS[node.op_type](inputs, node.attributes, node)
            except UnsupportedNode as error:
                raise OnnxImportError(f"node {node.name!r} ({node.op_type}, opset {node.opset}): "
                                      f"{error}") from None
            for name, value in zip(node.output, outputs):
                if name:
                    values[name] = value
            if getattr(self, "_observer", None) is not None:
                self._observer(node, inputs, outputs)
        return values[self.output_name]


def _read(source) -> tuple[bytes, str | None]:
    if isinstance(source, (str, os.PathLike)):
        from ..io.limits import read_regular_file
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"model: no such file: {path}")
        return read_regular_file(path, "ONNX model"), os.path.dirname(os.path.abspath(path))
    return source.read(), None


def _external_data(tensor, folder, where):
    """The bytes of an initializer stored beside the model, never from outside its folder."""
    entries = {entry.key: entry.value for entry in tensor.external_data}
    location = entries.get("location", "")
    if folder is None:
        raise OnnxImportError(f"{where}: initializer {tensor.name!r} keeps its data in "
                              f"{location!r}; load the model from its path, not from a stream")
    target = os.path.realpath(os.path.join(folder, location))
    if os.path.isabs(location) or not target.startswith(os.path.realpath(folder) + os.sep):
        raise OnnxImportError(f"{where}: initializer {tensor.name!r} points outside the model's "
                              f"folder ({location!r})")
    from ..io.limits import read_regular_file
    data = read_regular_file(target, "ONNX external data")
    offset, length = int(entries.get("offset", 0)), entries.get("length")
    end = len(data) if length is None else offset + int(length)
    if offset < 0 or end > len(data):
        raise OnnxImportError(f"{where}: initializer {tensor.name!r} reads past the end of "
                              f"{location!r}")
    return data[offset:end]


def _array(tensor, folder, where) -> np.ndarray:
    from onnx import TensorProto, helper, numpy_helper
    count = int(np.prod(tensor.dims, dtype=np.float64)) if len(tensor.dims) else 1
    if any(d < 0 for d in tensor.dims) or count > MAX_INITIALIZER_VALUES:
        raise OnnxImportError(f"{where}: initializer {tensor.name!r} declares shape "
                              f"{list(tensor.dims)} ({count:.3g} values; at most "
                              f"{MAX_INITIALIZER_VALUES})")
    if tensor.data_location == TensorProto.EXTERNAL:
        raw = _external_data(tensor, folder, where)
        dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
        if len(raw) != count * np.dtype(dtype).itemsize:
            raise OnnxImportError(f"{where}: initializer {tensor.name!r} holds {len(raw)} bytes "
                                  f"for shape {list(tensor.dims)}")
        return np.frombuffer(raw, dtype=dtype).reshape(tuple(tensor.dims)).copy()
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError) as error:
        raise OnnxImportError(f"{where}: initializer {tensor.name!r} does not hold its declared "
                              f"shape {list(tensor.dims)} ({error})") from None


def load(f) -> OnnxGraph:
    """Read an ONNX model (a path or a binary file object) as a convnet module.

    Raises :class:`OnnxImportError` (a ValueError) with one line naming the problem.

    Example:
        >>> import io, numpy as np, convnet.nn as nn
        >>> from convnet.onnx import export
        >>> buffer = io.BytesIO()
        >>> _ = export(nn.Sequential(nn.Linear(3, 2, rng=0)), np.ones((1, 3), np.float32), buffer)
        >>> model = load(io.BytesIO(buffer.getvalue()))
        >>> sorted(name for name, _ in model.named_parameters())
        ['p_0_bias', 'p_0_weight']
    """
    from .export import require_onnx
    onnx = require_onnx()
    from onnx import helper
    data, folder = _read(f)
    where = f if isinstance(f, (str, os.PathLike)) else "ONNX model"
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf raises its own DecodeError, and others
        raise OnnxImportError(f"{where}: not an ONNX model ({type(error).__name__}: "
                              f"{str(error)[:120]})") from None
    opsets = {entry.domain or "": entry.version for entry in proto.opset_import}
    opset = opsets.get("", None)
    if opset not in OPSETS or set(opsets) - {"", "ai.onnx"}:
        raise OnnxImportError(f"{where}: opsets {opsets}; convnet reads the default domain at "
                              f"opset {OPSETS.start}-{OPSETS.stop - 1}")
    graph = proto.graph
    initializers = {tensor.name: _array(tensor, folder, where) for tensor in graph.initializer}
    from onnx import TensorProto, numpy_helper
    for index, tensor in enumerate(graph.initializer):   # checked inline, as it was read
        if tensor.data_location == TensorProto.EXTERNAL:
            graph.initializer[index].CopyFrom(numpy_helper.from_array(initializers[tensor.name],
                                                                      tensor.name))
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise OnnxImportError(f"{where}: not a valid ONNX model: "
                              f"{str(error).splitlines()[0][:160]}") from None
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            raise OnnxImportError(f"{where}: node {node.name!r} uses operator "
                                  f"{node.domain + '.' if node.domain else ''}{node.op_type} "
                                  f"(opset {opset}), which convnet does not import")
    inputs = [value.name for value in graph.input if value.name not in initializers]
    if not inputs or len(graph.output) != 1:
        raise OnnxImportError(f"{where}: convnet imports graphs with inputs and one output, "
                              f"this one has {len(inputs)} inputs and {len(graph.output)} outputs")
    taken: set = set()
    parameters, constants = {}, {}
    for name, array in initializers.items():
        if np.issubdtype(array.dtype, np.floating) and array.ndim >= 1:
            parameters[name] = (_parameter_name(name, taken), list(array.shape), array.dtype.name)
        else:
            constants[name] = array
    nodes = [[node.op_type, list(node.input), list(node.output),
              {attribute.name: _attribute(attribute, helper) for attribute in node.attribute},
              node.name or f"{node.op_type}_{index}"] for index, node in enumerate(graph.node)]
    model = OnnxGraph(nodes, inputs[0] if len(inputs) == 1 else inputs, graph.output[0].name,
                      parameters, constants, opset)
    for name, (attribute, _, _) in parameters.items():
        getattr(model, attribute).data[...] = initializers[name]
    return model


def _attribute(attribute, helper):
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    if hasattr(value, "dims"):        # a tensor attribute (e.g. Constant's value)
        from onnx import numpy_helper
        return numpy_helper.to_array(value)
    return value
