"""Layer-by-layer summary of a model: shapes, parameters, multiply-adds, receptive fields.

``summary(model, input_shape)`` runs the model once on zeros (under ``no_grad`` and in
eval mode, so batch-norm statistics and dropout draws are untouched) and records, for
every leaf module it calls, the output shape, trainable parameter count, multiply-adds
and the receptive field of the output units in input pixels.

Multiply-adds count products with weights only: a convolution costs
``out_elements * in_channels / groups * prod(kernel)``, a linear layer
``rows * in_features * out_features``. Bias additions, pooling compares or sums,
activations and batch norm count 0 (they are cheap next to the products and keras,
torchinfo and papers disagree on them).

Receptive fields follow Araujo et al., "Computing Receptive Fields of CNNs" (distill
2019). Per spatial dim: size ``r``, jump ``j`` (input pixels between neighbouring
output units) and ``start`` (centre of the first output unit's field; pixel ``i`` of
the input has centre ``i``)::

    k_eff = dilation * (k - 1) + 1
    r_out = r_in + (k_eff - 1) * j_in
    j_out = j_in * stride
    start_out = start_in + ((k_eff - 1) / 2 - pad_before) * j_in

for convolution and pooling (``pad_before`` from the resolved padding, 'same' included);
elementwise layers keep the field. Flatten, Linear, global and non-uniform adaptive
pooling see the whole input: ``'all'``. Layers the summary does not know, and layers
fed by something other than a recorded layer's output or an equal-shaped tensor
(assumed to be an elementwise op), get ``None`` (printed ``?``).

Nearest upsampling by an integer factor ``s`` keeps the field's size and divides its jump by
``s`` (``s`` neighbouring outputs copy one input), so the layers after it add
``(k_eff - 1) * j / s`` on average; such a size is a mean, printed rounded up with ``~``.
A layer fed by a concatenation (a U-Net's skip joined to the up-sampled map) takes the
field of the last layer whose output has the same height and width: the up-sampled path,
whose field holds the skip's.

Transposed convolutions (``ConvTranspose*d``) cost ``in_elements * out_channels /
groups * prod(kernel)`` multiply-adds (every input value times one kernel patch).
At stride 1 output ``o`` sees the inputs ``o + before - (k_eff - 1) .. o + before``
(``before`` the crop), a window like a convolution's with ``pad_before = k_eff - 1 -
before``, so the field follows the formulas above; at stride > 1 neighbouring outputs
see the same or irregularly shifted inputs (a jump of ``j_in / stride`` pixels is not
uniform), so the field is ``None``.

Example:
    >>> import convnet.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3, padding='same'), nn.ReLU(),
    ...                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 10))
    >>> info = summary(model, (3, 16, 16))
    >>> info.total_params, info.total_mult_adds
    (5354, 60416)
    >>> info.rows[2].notation, info.rows[2].output_shape, info.rows[2].receptive_field[0]
    ('maxpool[2x2 s 2]', (1, 8, 8, 8), Field(size=4, jump=2, start=0.5))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .nn.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .nn.conv import _ConvNd, notation
from .nn.conv_transpose import _ConvTransposeNd
from .nn.linear import Flatten, Identity, Linear
from .nn.local import _UnsharedConvNd
from .nn.pool import _AdaptivePool, _AvgPoolNd, _LPPoolNd, _MaxPoolNd, Maxout
from .nn.leaf_calls import watch_leaf_calls
from .nn.regularization import _BatchNorm, Dropout, Upsample
from .ops.conv.transpose import conv_transpose_spec
from .ops.windows import effective_kernel, resolve_padding, to_tuple
from .tensor import no_grad, tensor

_ELEMENTWISE = (ReLU, LeakyReLU, Sigmoid, Tanh, Dropout, _BatchNorm, Identity, Maxout)
_POOL_NAMES = ((_MaxPoolNd, "maxpool"), (_AvgPoolNd, "avgpool"), (_LPPoolNd, "lppool"))


@dataclass(frozen=True)
class Field:
    """Receptive field along one spatial dim: size, jump and start (see the module doc)."""

    size: int
    jump: int
    start: float


@dataclass
class Row:
    """One call of one leaf module."""

    name: str
    type: str
    notation: str
    input_shape: tuple
    output_shape: tuple
    params: int
    mult_adds: int
    receptive_field: Any = None  # tuple of Field per spatial dim, 'all', or None (unknown)
    activation_bytes: int = 0


@dataclass
class Summary:
    """Result of :func:`summary`; ``str()`` gives a fixed-width table."""

    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_mult_adds: int = 0
    input_bytes: int = 0
    activation_bytes: int = 0
    param_bytes: int = 0

    def to_dict(self) -> dict:
        """Plain dicts, lists, numbers and strings (JSON-ready)."""
        out = asdict(self)
        for row in out["rows"]:
            if isinstance(row["receptive_field"], tuple):
                row["receptive_field"] = [dict(f) for f in row["receptive_field"]]
        return out

    def __str__(self) -> str:
        header = ("Layer (type)", "Notation", "Output shape", "Params", "Mult-adds",
                  "RF size", "Jump", "Start")
        body = [(f"{r.name} ({r.type})" if r.name else r.type, r.notation,
                 "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.mult_adds:,}",
                 *_field_text(r.receptive_field)) for r in self.rows]
        widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def line(cells):
            left = [c.ljust(w) for c, w in zip(cells[:3], widths)]
            right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:])]
            return "  ".join(left + right).rstrip()

        footer = [f"Input shape: {'x'.join(map(str, self.input_shape))}",
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                  f"Total mult-adds: {self.total_mult_adds:,}",
                  f"Input size: {_bytes_text(self.input_bytes)}",
                  f"Forward activations: {_bytes_text(self.activation_bytes)}",
                  f"Params size: {_bytes_text(self.param_bytes)}"]
        return "\n".join([rule.replace("-", "="), line(header), rule.replace("-", "="),
                          *map(line, body), rule, *footer, rule])


def summary(model, input_shape, dtype=np.float32) -> Summary:
    """Run ``model`` once on zeros of ``input_shape`` and summarise every leaf layer call.

    Args:
        model: a :class:`convnet.nn.Module`.
        input_shape: (C, H, W), batch 1 implied; any other length is the full shape
            with the batch first ((N, C, H, W), (N, features), (N, C, D, H, W)).
        dtype: dtype of the zeros fed in.

    Returns:
        :class:`Summary` with ``rows`` (one :class:`Row` per leaf call, named by the
        ``state_dict`` prefix, e.g. ``features.3``), ``total_params``,
        ``trainable_params``, ``total_mult_adds`` and activation memory in bytes.
    """
    shape = tuple(int(n) for n in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if not shape or any(n < 1 for n in shape):
        raise ValueError(f"input_shape: expected positive sizes such as (C, H, W) or "
                         f"(N, C, H, W), got {input_shape!r}")
    if hasattr(model, "trace_nodes"):   # an imported ONNX graph: one row per node
        return _graph_summary(model, shape, dtype)
    x = tensor(np.zeros(shape, dtype=dtype))
    root_field = tuple(Field(1, 1, 0.0) for _ in shape[2:]) if len(shape) >= 3 else None
    fields = {id(x): root_field}
    keep_alive = [x]  # ids stay unique while their objects live
    last = [(x, root_field)]
    rows, counted = [], set()

    def record(name, module, args, output):
        source = args[0] if args else None
        if id(source) in fields:
            field_in = fields[id(source)]
        elif _shape(source) == _shape(last[-1][0]):
            field_in = last[-1][1]  # e.g. F.relu between layers: assumed elementwise
        elif _shape(source) and _shape(last[-1][0]) and \
                _shape(source)[2:] == _shape(last[-1][0])[2:] and len(_shape(source)) > 2:
            field_in = last[-1][1]  # e.g. F.cat of a skip and the last layer's (larger) field
        else:
            field_in = None
        in_shape, out_shape = _shape(source), _shape(output)
        field_out = _next_field(module, field_in, in_shape, out_shape)
        params = 0
        for p in module.parameters():
            if id(p) not in counted:
                counted.add(id(p))
                params += p.data.size if p.requires_grad else 0
        out_array = output[0] if isinstance(output, (tuple, list)) else output
        nbytes = getattr(getattr(out_array, "data", out_array), "nbytes", 0)
        rows.append(Row(name, type(module).__name__, _notation(module), in_shape, out_shape,
                        params, _mult_adds(module, in_shape, out_shape), field_out, nbytes))
        for obj in (output, out_array):
            fields[id(obj)] = field_out
            keep_alive.append(obj)
        last.append((out_array, field_out))

    with watch_leaf_calls(model, record), no_grad():
        model(x)

    parameters = list(model.parameters())
    return Summary(
        input_shape=shape, rows=rows,
        total_params=sum(p.data.size for p in parameters),
        trainable_params=sum(p.data.size for p in parameters if p.requires_grad),
        total_mult_adds=sum(r.mult_adds for r in rows),
        input_bytes=x.data.nbytes, activation_bytes=sum(r.activation_bytes for r in rows),
        param_bytes=sum(p.data.nbytes for p in parameters))


def _graph_summary(model, shape, dtype) -> Summary:
    """Rows of an imported ONNX graph's nodes: operator, output shape, the parameters it
    reads (each counted once) and the multiply-adds of Conv, Gemm and MatMul."""
    x = np.zeros(shape, dtype=dtype)
    parameters = {name: getattr(model, attribute).data
                  for name, attribute in model.parameter_names.items()}
    rows, counted = [], set()
    for node, inputs, output in model.trace_nodes(x):
        out_shape = tuple(np.shape(getattr(output, "data", output)))
        params = sum(parameters[name].size for name in node.input
                     if name in parameters and name not in counted)
        counted.update(name for name in node.input if name in parameters)
        mult_adds = 0
        if node.op_type == "Conv" and len(inputs) > 1:
            weight = np.shape(getattr(inputs[1], "data", inputs[1]))
            mult_adds = int(np.prod(out_shape)) * int(np.prod(weight[1:]))
        elif node.op_type in ("Gemm", "MatMul") and len(inputs) > 1:
            weight = np.shape(getattr(inputs[1], "data", inputs[1]))
            transposed = node.op_type == "Gemm" and node.attributes.get("transB")
            mult_adds = int(np.prod(out_shape)) * int(weight[-1] if transposed else weight[-2])
        kernel = node.attributes.get("kernel_shape")
        notation = "x".join(map(str, kernel)) + (f" s{node.attributes['strides'][0]}"
                                                 if node.attributes.get("strides") else "") \
            if kernel else ""
        nbytes = getattr(getattr(output, "data", output), "nbytes", 0)
        rows.append(Row(node.name, node.op_type, notation, None, out_shape, params, mult_adds,
                        None, nbytes))
    values = list(parameters.values())
    return Summary(input_shape=shape, rows=rows, total_params=sum(v.size for v in values),
                   trainable_params=sum(v.size for v in values),
                   total_mult_adds=sum(r.mult_adds for r in rows), input_bytes=x.nbytes,
                   activation_bytes=sum(r.activation_bytes for r in rows),
                   param_bytes=sum(v.nbytes for v in values))


def _shape(obj) -> tuple | None:
    if isinstance(obj, (tuple, list)):
        return _shape(obj[0]) if obj else None
    shape = getattr(obj, "shape", None)
    return None if shape is None else tuple(shape)


def _notation(module) -> str:
    if isinstance(module, _ConvNd):
        return notation(module.out_channels, module.kernel_size, module.stride)
    if isinstance(module, _ConvTransposeNd):
        return notation(module.out_channels, module.kernel_size, module.stride) + "ᵀ"
    if isinstance(module, _UnsharedConvNd):
        return module.layer_notation()  # e.g. '[16 | 3x3 s 1] unshared', 'tiled 2x2'
    for kind, label in _POOL_NAMES:
        if isinstance(module, kind):
            kernel, stride = _pool_geometry(module, module.dims)
            step = str(stride[0]) if len(set(stride)) == 1 else "x".join(map(str, stride))
            return f"{label}[{'x'.join(map(str, kernel))} s {step}]"
    return ""


def _pool_geometry(module, dims):
    kernel = to_tuple(module.kernel_size, dims, "kernel_size")
    stride = kernel if module.stride is None else to_tuple(module.stride, dims, "stride")
    return kernel, stride


def _mult_adds(module, in_shape, out_shape) -> int:
    if isinstance(module, _ConvNd) and out_shape:
        fan_in = module.in_channels // module.groups * math.prod(module.kernel_size)
        return math.prod(out_shape) * fan_in
    if isinstance(module, _ConvTransposeNd) and in_shape:
        patch = module.out_channels // module.groups * math.prod(module.kernel_size)
        return math.prod(in_shape) * patch
    if isinstance(module, _UnsharedConvNd) and out_shape:  # locally connected, tiled: as conv
        return math.prod(out_shape) * module.in_channels * math.prod(module.kernel_size)
    if isinstance(module, Linear) and out_shape:
        return math.prod(out_shape[:-1]) * module.in_features * module.out_features
    return 0


def _next_field(module, field_in, in_shape, out_shape):
    if isinstance(module, (Flatten, Linear)):
        return "all"
    if field_in is None or field_in == "all":
        return field_in
    dims = len(field_in)
    if isinstance(module, _ELEMENTWISE):
        return field_in
    if isinstance(module, (Softmax, LogSoftmax)):
        dim = module.dim
        spatial = dim is not None and (dim % len(in_shape)) >= len(in_shape) - dims
        return "all" if dim is None or spatial else field_in
    if isinstance(module, _AdaptivePool):
        in_sizes, out_sizes = in_shape[-dims:], out_shape[-dims:]
        if all(o == 1 for o in out_sizes) or any(i % o for i, o in zip(in_sizes, out_sizes)):
            return "all"  # global, or windows of unequal sizes: no uniform local field
        kernel = tuple(i // o for i, o in zip(in_sizes, out_sizes))
        return _window_field(field_in, kernel, kernel, (1,) * dims, ((0, 0),) * dims)
    if isinstance(module, Upsample):
        scales = [o / i for i, o in zip(in_shape[-dims:], out_shape[-dims:])]
        if module.mode != "nearest" or any(scale != int(scale) for scale in scales):
            return None
        # output o copies input o // s: s neighbours share a field, a jump of j / s on average
        return tuple(Field(f.size, f.jump / scale, f.start + (0.5 / scale - 0.5) * f.jump)
                     for f, scale in zip(field_in, scales))
    if isinstance(module, _ConvTransposeNd):
        if any(s != 1 for s in module.stride):
            return None  # no uniform jump (see the module doc)
        in_sizes = tuple(in_shape[-dims:])
        crops = conv_transpose_spec((1, module.in_channels) + in_sizes, np.float64,
                                    module.weight.shape, None, module.stride, module.padding,
                                    module.output_padding, module.groups,
                                    module.dilation).padding
        pads = tuple((effective_kernel(k, d) - 1 - before, 0) for k, d, (before, _)
                     in zip(module.kernel_size, module.dilation, crops))
        return _window_field(field_in, module.kernel_size, module.stride, module.dilation, pads)
    if isinstance(module, _UnsharedConvNd):  # a convolution's windows, unshared weights
        pads = resolve_padding(module.padding, tuple(in_shape[-dims:]), module.kernel_size,
                               module.stride, module.dilation)
        return _window_field(field_in, module.kernel_size, module.stride, module.dilation, pads)
    if isinstance(module, (_ConvNd, _MaxPoolNd, _AvgPoolNd, _LPPoolNd)):
        if isinstance(module, _ConvNd):
            kernel, stride, dilation = module.kernel_size, module.stride, module.dilation
        else:
            kernel, stride = _pool_geometry(module, dims)
            dilation = to_tuple(getattr(module, "dilation", 1), dims, "dilation")
        pads = resolve_padding(module.padding, tuple(in_shape[-dims:]), kernel, stride, dilation)
        return _window_field(field_in, kernel, stride, dilation, pads)
    return None


def _window_field(field_in, kernel, stride, dilation, pads):
    out = []
    for f, k, s, d, (before, _) in zip(field_in, kernel, stride, dilation, pads):
        span = effective_kernel(k, d)
        out.append(Field(f.size + (span - 1) * f.jump, f.jump * s,
                         f.start + ((span - 1) / 2 - before) * f.jump))
    return tuple(out)


def _field_text(rf) -> tuple[str, str, str]:
    if rf is None:
        return "?", "?", "?"
    if rf == "all":
        return "all", "", ""
    jumps = [f"{f.jump:g}" for f in rf]
    starts = [f"{f.start:g}" for f in rf]
    # after nearest upsampling the jump is fractional: the size is a mean, shown rounded up
    return ("x".join(str(int(f.size)) if float(f.size).is_integer() else f"~{math.ceil(f.size)}"
                     for f in rf),
            jumps[0] if len(set(jumps)) == 1 else "x".join(jumps),
            starts[0] if len(set(starts)) == 1 else ", ".join(starts))


def _bytes_text(nbytes: int) -> str:
    if nbytes >= 1 << 20:
        return f"{nbytes / (1 << 20):.2f} MiB"
    return f"{nbytes / 1024:.2f} KiB"
