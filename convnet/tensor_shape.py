"""Shape and indexing operations under torch's names: ``unsqueeze``, ``squeeze``,
``transpose``, ``expand``, ``repeat``, ``chunk``, ``split``, ``gather``, ``scatter``,
``index_select``, ``flip``, ``roll``, ``einsum`` ...

Operations that torch returns as views (``view``, ``transpose``, ``expand``, ``narrow``,
basic indexing) share the input's memory here too, and (through :func:`~convnet.tensor.record`)
its version counter, so an in-place change through either is seen by both.

Example:
    >>> import convnet
    >>> x = convnet.arange(6.0).view(2, 3).requires_grad_()
    >>> y = x.unsqueeze(0).expand(4, 2, 3).sum()
    >>> y.backward(); x.grad.tolist()
    [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    >>> [c.shape for c in x.chunk(2, dim=1)]
    [(2, 2), (2, 1)]
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, record
from .tensor_ops import _data, permute, reshape, unbroadcast


def _dim(dim, ndim: int) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{max(ndim, 1) - 1}], but got {dim})")
    return dim % max(ndim, 1)


def _sizes(values) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(values) == 1 and not isinstance(values[0], (int, np.integer)):
        return tuple(values[0])
    return tuple(values)


def view(a, *shape) -> Tensor:
    """Same data, another shape (``-1`` infers one size); ``view(dtype)`` is not supported."""
    shape = _sizes(shape)
    x = _data(a)
    try:
        np.empty(x.shape, dtype=bool).reshape(shape)
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}") from None
    return reshape(a, shape)


def unsqueeze(a, dim: int) -> Tensor:
    x = _data(a)
    return reshape(a, np.expand_dims(np.empty(x.shape, bool), _dim(dim, x.ndim + 1)).shape)


def squeeze(a, dim=None) -> Tensor:
    """Remove dims of size 1 (only ``dim``, or each of a tuple of dims, when given)."""
    x = _data(a)
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = {_dim(d, x.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(a, shape)


def transpose(a, dim0: int, dim1: int) -> Tensor:
    x = _data(a)
    dims = list(range(x.ndim))
    if x.ndim == 0:
        _dim(dim0, 1), _dim(dim1, 1)
        return reshape(a, ())
    first, second = _dim(dim0, x.ndim), _dim(dim1, x.ndim)
    dims[first], dims[second] = dims[second], dims[first]
    return permute(a, dims)


def t(a) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    x = _data(a)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return permute(a, tuple(reversed(range(x.ndim))))


def movedim(a, source, destination) -> Tensor:
    """Move the dims ``source`` to the positions ``destination``, the others keeping order."""
    x = _data(a)
    sources = [_dim(d, x.ndim) for d in ([source] if isinstance(source, int) else source)]
    targets = [_dim(d, x.ndim) for d in ([destination] if isinstance(destination, int)
                                         else destination)]
    order = [d for d in range(x.ndim) if d not in sources]
    for target, moved in sorted(zip(targets, sources)):
        order.insert(target, moved)
    return permute(a, order)


def expand(a, *sizes) -> Tensor:
    """Broadcast to ``sizes`` without copying (``-1`` keeps a size)."""
    sizes = _sizes(sizes)
    x = _data(a)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    try:
        out = np.broadcast_to(x, shape)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor ({shape}) must match the existing "
                           f"size {x.shape} at non-singleton dimensions") from None
    return record(out, (a,), lambda g: (unbroadcast(g, x.shape),), saved=())


def expand_as(a, other) -> Tensor:
    return expand(a, _data(other).shape)


def repeat(a, *repeats) -> Tensor:
    """Tile ``a`` ``repeats`` times along each dim (leading new dims allowed)."""
    repeats = _sizes(repeats)
    x = _data(a)
    if len(repeats) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    base = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    out = np.tile(base, repeats)

    def backward(g):
        split = []
        for count, size in zip(repeats, base.shape):
            split += [count, size]
        return (g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(x.shape),)
    return record(out, (a,), backward, saved=())


def chunk(a, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` along ``dim`` (the last smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    x = _data(a)
    axis = _dim(dim, x.ndim)
    size = -(-x.shape[axis] // chunks) if x.shape[axis] else 1
    return split(a, size, dim)


def split(a, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` (the last may be smaller) or of the listed sizes along ``dim``."""
    x = _data(a)
    axis = _dim(dim, x.ndim)
    length = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and length:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {length}")
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {length} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(a[index] if isinstance(a, Tensor) else Tensor(x[index]))
        start += size
    return tuple(pieces)


def unbind(a, dim: int = 0) -> tuple:
    x = _data(a)
    axis = _dim(dim, x.ndim)
    return tuple(a[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def narrow(a, dim: int, start: int, length: int) -> Tensor:
    x = _data(a)
    axis = _dim(dim, x.ndim)
    start = start % x.shape[axis] if start < 0 else start
    if start + length > x.shape[axis]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({x.shape[axis]}).")
    return a[(slice(None),) * axis + (slice(start, start + length),)]


def contiguous(a) -> Tensor:
    x = _data(a)
    if x.flags.c_contiguous:
        return a
    return record(np.ascontiguousarray(x), (a,), lambda g: (g,), saved=())


def flip(a, dims) -> Tensor:
    x = _data(a)
    axes = tuple(_dim(d, x.ndim) for d in ((dims,) if isinstance(dims, int) else dims))
    return record(np.flip(x, axes).copy(), (a,), lambda g: (np.flip(g, axes),), saved=())


def roll(a, shifts, dims=None) -> Tensor:
    x = _data(a)
    if dims is None:
        out = np.roll(x.reshape(-1), shifts).reshape(x.shape)
        return record(out, (a,), lambda g: (np.roll(g.reshape(-1), -shifts).reshape(x.shape),),
                      saved=())
    shift = np.negative(shifts)
    return record(np.roll(x, shifts, dims), (a,), lambda g: (np.roll(g, shift, dims),), saved=())


def _index_array(index, name: str) -> np.ndarray:
    array = _data(index)
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def gather(a, dim: int, index) -> Tensor:
    """``out[i][j] = a[index[i][j]][j]`` for ``dim = 0`` (and so on for the other dims)."""
    x, where = _data(a), _index_array(index, "gather")
    axis = _dim(dim, x.ndim)
    if where.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if where.size and (where.max() >= x.shape[axis] or where.min() < -x.shape[axis]):
        raise RuntimeError(f"index {where.max()} is out of bounds for dimension {dim} with size "
                           f"{x.shape[axis]}")
    region = x[tuple(slice(0, n) if i != axis else slice(None) for i, n in enumerate(where.shape))]
    out = np.take_along_axis(region, where, axis)

    def backward(g):
        grad = np.zeros_like(x)
        view_of = grad[tuple(slice(0, n) if i != axis else slice(None)
                             for i, n in enumerate(where.shape))]
        np.add.at(view_of, _along(where, axis), g)
        return (grad,)
    return record(out, (a,), backward, saved=())


def _along(where: np.ndarray, axis: int) -> tuple:
    """Fancy-index tuple addressing ``where``'s entries along ``axis``."""
    grid = list(np.indices(where.shape, sparse=True))
    grid[axis] = where
    return tuple(grid)


def scatter(a, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``a`` with ``src`` (or ``value``) written at ``index`` along ``dim``
    (``reduce='add'`` or ``'multiply'`` combines instead)."""
    x, where = _data(a), _index_array(index, "scatter")
    axis = _dim(dim, x.ndim)
    source = src if src is not None else value
    if source is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    values = _data(source)
    if values.ndim:
        values = values[tuple(slice(0, n) for n in where.shape)]
    values = np.broadcast_to(values.astype(x.dtype), where.shape)
    out = x.copy()
    if reduce is None:
        out[_along(where, axis)] = values
    elif reduce == "add":
        np.add.at(out, _along(where, axis), values)
    elif reduce == "multiply":
        np.multiply.at(out, _along(where, axis), values)
    else:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}")

    def backward(g):
        grad_x = g.copy()
        if reduce is None:
            grad_x[_along(where, axis)] = 0
        grad_src = None
        if isinstance(src, Tensor) and reduce in (None, "add"):
            grad_src = np.zeros_like(_data(src))
            grad_src[tuple(slice(0, n) for n in where.shape)] = g[_along(where, axis)]
        return grad_x, grad_src
    return record(out, (a, src), backward, saved=())


def scatter_add(a, dim: int, index, src) -> Tensor:
    return scatter(a, dim, index, src, reduce="add")


def index_select(a, dim: int, index) -> Tensor:
    x, where = _data(a), _index_array(index, "index_select")
    axis = _dim(dim, x.ndim)
    if where.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return a[(slice(None),) * axis + (where.reshape(-1),)]


def masked_select(a, mask) -> Tensor:
    x, m = _data(a), _data(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {m.dtype}")
    full = np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))
    return expand(a, full.shape)[full] if x.shape != full.shape else a[full]


def nonzero(a, as_tuple: bool = False):
    x = _data(a)
    found = np.nonzero(x)
    if as_tuple:
        return tuple(Tensor(index.astype(np.int64)) for index in found)
    return Tensor(np.stack(found, axis=1).astype(np.int64) if found else
                  np.zeros((0, x.ndim), np.int64))


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation; each operand's gradient is the einsum of the upstream gradient
    with the other operands (letters summed within one operand only are broadcast back)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    arrays = [_data(o) for o in operands]
    out = np.asarray(np.einsum(equation, *arrays, optimize=len(arrays) > 2))
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if not arrow:
        letters = inputs.replace(",", "")
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))

    def backward(g):
        if "." in equation or any(len(set(term)) != len(term) for term in terms):
            raise NotImplementedError(f"einsum backward: '...' and repeated letters in one "
                                      f"operand ({equation!r}) are not supported")
        grads = []
        for i, term in enumerate(terms):
            other_terms = terms[:i] + terms[i + 1:]
            others = arrays[:i] + arrays[i + 1:]
            available = set(output).union(*other_terms)
            kept = "".join(c for c in term if c in available)
            part = np.einsum(",".join([output] + other_terms) + "->" + kept, g, *others)
            shape = arrays[i].shape
            part = part.reshape([n if c in kept else 1 for c, n in zip(term, shape)])
            grads.append(np.broadcast_to(part, shape).astype(arrays[i].dtype))
        return tuple(grads)
    return record(out, operands, backward)
