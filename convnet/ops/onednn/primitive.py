"""oneDNN primitives: create one from a primitive descriptor, execute it on the CPU stream
with NumPy buffers, and reorder between layouts.

Every primitive uses a user-provided scratchpad (attribute ``scratchpad_mode_user``) whose
buffer is kept with it, so no call allocates inside the library.

Example:
    >>> import numpy as np
    >>> from convnet.ops.onednn import library
    >>> if library.available():
    ...     from convnet.ops.onednn.memory import plain_md
    ...     x = np.arange(6, dtype=np.float32).reshape(2, 3)
    ...     y = np.empty_like(x)
    ...     Reorder(plain_md(x.shape, x.dtype), plain_md(y.shape, y.dtype))(x, y)
    ...     assert (x == y).all()
"""

from __future__ import annotations

import ctypes

from . import library as L
from .memory import Memory, aligned_buffer, md_size, query_md


def user_scratchpad_attr():
    attr = L.handle()
    L.check(L.lib().dnnl_primitive_attr_create(ctypes.byref(attr)), "primitive attributes")
    L.check(L.lib().dnnl_primitive_attr_set_scratchpad_mode(attr, L.SCRATCHPAD_USER),
            "scratchpad mode")
    return attr


def implementation_name(pd) -> str:
    """The implementation oneDNN chose for primitive descriptor ``pd``, e.g.
    'jit:avx512_core' or 'ref:any' (its slow reference kernel)."""
    name = ctypes.c_char_p()
    L.check(L.lib().dnnl_primitive_desc_query(pd, L.QUERY_IMPL_INFO, 0, ctypes.byref(name)),
            "implementation query")
    return name.value.decode()


class Primitive:
    """A primitive built from descriptor ``pd`` (which it owns), named ``what`` in errors."""

    def __init__(self, pd, what: str):
        self.pd, self.what = pd, what
        self.handle = L.handle()
        L.check(L.lib().dnnl_primitive_create(ctypes.byref(self.handle), pd), f"{what} primitive")
        scratch = query_md(pd, "scratchpad")
        size = md_size(scratch) if scratch else 0
        self._scratch_buffer = aligned_buffer(size) if size else None   # lives as long as we do
        self.scratchpad = Memory(scratch).bind(self._scratch_buffer) if size else None

    def md(self, what: str):
        return query_md(self.pd, what)

    def execute(self, arguments: dict) -> None:
        """Run with ``{ARG_*: Memory}`` (each already bound to its buffer)."""
        if self.scratchpad is not None:
            arguments = {**arguments, L.ARG_SCRATCHPAD: self.scratchpad}
        args = (L.ExecArg * len(arguments))(*[L.ExecArg(key, memory.handle)
                                               for key, memory in arguments.items()])
        try:
            L.check(L.lib().dnnl_primitive_execute(self.handle, L.stream(), len(arguments),
                                                   args), f"{self.what} execute")
            L.check(L.lib().dnnl_stream_wait(L.stream()), f"{self.what} wait")
        finally:
            for key, memory in arguments.items():   # the buffers may go (the scratchpad's
                if key != L.ARG_SCRATCHPAD:          # is ours for the primitive's life)
                    memory.array = None

    def __del__(self):
        library = L._state.get("lib")
        if library is not None:
            if self.handle:
                library.dnnl_primitive_destroy(self.handle)
            if self.pd:
                library.dnnl_primitive_desc_destroy(self.pd)


class Reorder:
    """Copy between two layouts of the same tensor: ``reorder(source, target)``."""

    def __init__(self, source_md, target_md):
        pd = L.handle()
        L.check(L.lib().dnnl_reorder_primitive_desc_create(
            ctypes.byref(pd), source_md, L.engine(), target_md, L.engine(),
            user_scratchpad_attr()), "reorder")
        self.primitive = Primitive(pd, "reorder")
        self.source, self.target = Memory(source_md), Memory(target_md)

    def __call__(self, source, target) -> None:
        self.primitive.execute({L.ARG_FROM: self.source.bind(source),
                                L.ARG_TO: self.target.bind(target)})
