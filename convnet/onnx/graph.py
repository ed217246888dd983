"""Building an ONNX graph node by node: unique names, weights as initializers, and the
padding helpers every layer shares (ONNX's Pad modes, and the notes' 'symmetric' mode,
which ONNX lacks, as slices and a concatenation).

Example:
    >>> import numpy as np
    >>> graph = GraphBuilder(np.float32)
    >>> weight = graph.initializer(np.ones((2, 3), np.float32), "fc.weight")
    >>> graph.scope = "fc"
    >>> graph.node("Gemm", ["x", weight], transB=1)
    'fc/Gemm_out'
"""

from __future__ import annotations

import numpy as np

__all__ = ["GraphBuilder", "ExportError", "ONNX_PAD_MODES", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17
# convnet padding modes -> ONNX Pad modes (and the opset a mode needs)
ONNX_PAD_MODES = {"zeros": ("constant", 17), "constant": ("constant", 17),
                  "reflect": ("reflect", 17), "replicate": ("edge", 17),
                  "circular": ("wrap", 19)}


class ExportError(ValueError):
    """A model or layer that cannot be written to ONNX exactly; the message says which."""


class GraphBuilder:
    """Nodes and initializers of one graph, in order, with unique value names.

    ``opset`` is fixed before the first node (the exporter scans the model for what needs a
    higher one) so every node is written in the form of that opset.
    """

    def __init__(self, dtype, opset: int = DEFAULT_OPSET):
        self.dtype, self.opset = np.dtype(dtype), opset
        self.nodes, self.initializers, self.used = [], [], set()
        self.counts: dict[str, int] = {}
        self.scope = ""     # the module path whose nodes are being written (names them)
        self.recurse = None  # writes a child module: set by convnet.onnx.handlers

    def unique(self, hint: str) -> str:
        name = hint
        while name in self.used:
            self.counts[hint] = self.counts.get(hint, 0) + 1
            name = f"{hint}_{self.counts[hint]}"
        self.used.add(name)
        return name

    def initializer(self, array, hint: str) -> str:
        """A stored tensor (weights keep their state_dict names) -> its value name."""
        from onnx import numpy_helper
        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, values, hint: str = "shape") -> str:
        return self.initializer(np.asarray(values, np.int64), hint)

    def node(self, op: str, inputs, outputs: int = 1, name: str | None = None, **attributes):
        """Append a node; returns its output name (or list of names when ``outputs`` > 1)."""
        from onnx import helper
        base = name or op
        prefix = f"{self.scope}/" if self.scope else ""
        names = [self.unique(f"{base}_{index}" if outputs > 1 else base) for index in range(outputs)] \
            if name else [self.unique(f"{prefix}{op}_out") for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=self.unique(f"{prefix}{op}"),
                                           **{k: v for k, v in attributes.items() if v is not None}))
        return names[0] if outputs == 1 else names

    # ------------------------------------------------------------------ padding
    def pad(self, x: str, pairs, mode: str, rank: int, value: float = 0.0) -> str:
        """Pad the trailing ``len(pairs)`` dims of a rank-``rank`` value by ``pairs`` =
        ((before, after), ...) in ``mode`` (a convnet padding mode)."""
        if all(before == 0 and after == 0 for before, after in pairs):
            return x
        if any(before < 0 or after < 0 for before, after in pairs):
            raise ExportError(f"negative padding {pairs} (a crop) is not exported")
        if mode == "symmetric":
            return self._symmetric(x, pairs, rank)
        onnx_mode, needed = ONNX_PAD_MODES[mode]
        if needed > self.opset:
            raise ExportError(f"padding mode {mode!r} needs opset {needed} (Pad mode "
                              f"'{onnx_mode}'), the graph is written in opset {self.opset}")
        lead = rank - len(pairs)
        pads = [0] * lead + [b for b, _ in pairs] + [0] * lead + [a for _, a in pairs]
        inputs = [x, self.ints(pads, "pads")]
        if onnx_mode == "constant" and value != 0.0:
            inputs.append(self.initializer(np.array(value, self.dtype), "pad_value"))
        return self.node("Pad", inputs, mode=onnx_mode)

    def _symmetric(self, x: str, pairs, rank: int) -> str:
        """Mirror padding that repeats the edge (``c b a | a b c``): for each dim, the first
        ``before`` and last ``after`` entries reversed, concatenated around the input."""
        for offset, (before, after) in enumerate(pairs):
            axis = rank - len(pairs) + offset
            parts = []
            if before:      # entries before-1, ..., 0
                parts.append(self._reverse_slice(x, axis, before - 1, -(2**62), "left"))
            parts.append(x)
            if after:       # entries n-1, ..., n-after (from the end)
                parts.append(self._reverse_slice(x, axis, -1, -1 - after, "right"))
            if len(parts) > 1:
                x = self.node("Concat", parts, axis=axis)
        return x

    def _reverse_slice(self, x, axis, start, end, hint):
        return self.node("Slice", [x, self.ints([start], f"{hint}_start"),
                                   self.ints([end], f"{hint}_end"), self.ints([axis], "axis"),
                                   self.ints([-1], "step")])
