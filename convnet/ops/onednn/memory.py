"""oneDNN memory descriptors and memory objects over NumPy buffers.

A descriptor says shape, data type and layout (a plain row-major tag, or ``any`` to let a
primitive choose its blocked layout); a :class:`Memory` binds a descriptor to a NumPy
buffer for one call (``bind``), so one memory object serves every call of a cached
primitive. Buffers for oneDNN's own layouts come from :func:`aligned_buffer` (64-byte
aligned, as its kernels prefer).

Example:
    >>> from convnet.ops.onednn import library
    >>> if library.available():
    ...     md = plain_md((2, 3, 4, 5), 'float32')
    ...     assert md_size(md) == 2 * 3 * 4 * 5 * 4
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..layout import aligned_bytes as aligned_buffer  # noqa: F401 (the backends' name)
from ..layout import aligned_contiguous, aligned_empty, to_first, to_last
from . import library as L


def _dtype_code(dtype) -> int:
    name = np.dtype(dtype).name
    if name not in L.DATA_TYPES:
        raise L.OneDNNError(f"oneDNN: unsupported data type {name}")
    return L.DATA_TYPES[name]


def tagged_md(shape, dtype, tag: int) -> L.handle:
    """A descriptor of ``shape`` with oneDNN format tag ``tag``."""
    md = L.handle()
    L.check(L.lib().dnnl_memory_desc_create_with_tag(ctypes.byref(md), len(shape), L.dims(shape),
                                                     _dtype_code(dtype), tag),
            f"memory descriptor {tuple(shape)} {np.dtype(dtype).name}")
    return md


def plain_md(shape, dtype) -> L.handle:
    """A row-major (C-contiguous) descriptor of ``shape``."""
    return tagged_md(shape, dtype, L.PLAIN_TAGS[len(shape)])


def any_md(shape, dtype) -> L.handle:
    """A descriptor whose layout the primitive chooses (``format_tag_any``)."""
    return tagged_md(shape, dtype, L.TAG_ANY)


CHANNELS_LAST_TAGS = {3: 15, 4: 22, 5: 33}          # oneDNN's nwc, nhwc, ndhwc


def is_channels_last(array: np.ndarray) -> bool:
    """Whether ``array`` (N, C, *spatial) is a view of channels-last memory."""
    return (not array.flags.c_contiguous and array.ndim in CHANNELS_LAST_TAGS
            and to_last(array).flags.c_contiguous)


def activation_md(shape, dtype, channels_last: bool) -> L.handle:
    """A descriptor of an (N, C, *spatial) tensor in row-major or channels-last memory."""
    return (tagged_md(shape, dtype, CHANNELS_LAST_TAGS[len(shape)]) if channels_last
            else plain_md(shape, dtype))


def in_layout(array: np.ndarray, channels_last: bool) -> np.ndarray:
    """``array`` (N, C, *spatial) as the contiguous buffer a primitive of that layout reads:
    (N, *spatial, C) memory for channels-last, else row-major; a view where it already is."""
    return aligned_contiguous(to_last(array) if channels_last else array)


def empty_in_layout(shape, channels_last: bool, dtype=np.float32):
    """``(buffer, the same memory viewed as (N, C, *spatial))`` for an output ``shape``."""
    if channels_last:
        buffer = aligned_empty((shape[0],) + tuple(shape[2:]) + (shape[1],), dtype)
        return buffer, to_first(buffer)
    buffer = aligned_empty(shape, dtype)
    return buffer, buffer


def md_size(md) -> int:
    return L.lib().dnnl_memory_desc_get_size(md)


def md_equal(a, b) -> bool:
    return bool(L.lib().dnnl_memory_desc_equal(a, b))


def query_md(pd, what: str) -> L.handle:
    """The descriptor ``what`` ('src', 'weights', 'dst', 'diff_src', ...) a primitive chose."""
    return L.lib().dnnl_primitive_desc_query_md(pd, L.QUERY[what], 0)


class Memory:
    """A oneDNN memory object for descriptor ``md``, bound to a buffer per call.

    The memory object holds the array it is bound to until the primitive that reads it has
    run (:meth:`Primitive.execute` lets go), so ``memory.bind(np.ascontiguousarray(x))``
    cannot hand oneDNN the address of a copy that Python has already freed."""

    def __init__(self, md):
        self.md = md
        self.array = None
        self.handle = L.handle()
        L.check(L.lib().dnnl_memory_create(ctypes.byref(self.handle), md, L.engine(), None),
                "memory")

    def bind(self, array: np.ndarray) -> "Memory":
        L.check(L.lib().dnnl_memory_set_data_handle(self.handle, array.ctypes.data),
                "set data handle")
        self.array = array
        return self

    def __del__(self):
        library = L._state.get("lib")
        if library is not None and self.handle:
            library.dnnl_memory_destroy(self.handle)
