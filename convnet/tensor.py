"""Tensor and reverse-mode automatic differentiation.

A :class:`Tensor` wraps a NumPy array. Every operation on tensors that require
gradients records a graph node: its inputs' nodes and a ``backward`` closure that maps the
gradient of its output to the gradients of its inputs. The graph holds nodes, not arrays,
so an intermediate result is freed once neither the caller nor a closure holds it.
:meth:`Tensor.backward` walks the graph in reverse topological order, summing the
gradients that flow into each node, and accumulates the result in the ``.grad`` of leaf
tensors (like PyTorch).

New differentiable operations are added with :func:`record` and never by changing
this engine (:mod:`convnet.tensor_ops` defines Tensor's operators and methods so)::

    def double(x):
        return record(x.data * 2, (x,), lambda grad: (grad * 2,))

Example:
    >>> import convnet
    >>> w = convnet.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

import sys
import weakref
from typing import Callable, Sequence

import numpy as np

from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,  # noqa: F401
                        set_grad_enabled)
from .grad_mode import state as _mode
from .ops.elementwise_kernels import add as _add   # two gradients of one tensor
from .ops.layout import ALIGNMENT

DEFAULT_DTYPE = np.float32

_end_of_backward: list[Callable[[], None]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` once, when the next :meth:`Tensor.backward` has accumulated every
    gradient (as torch's ``queue_callback``): how data-parallel training averages the
    gradients of a step across processes.

    Example:
        >>> import convnet
        >>> w = convnet.tensor([2.0], requires_grad=True)
        >>> queue_callback(lambda: print('gradients ready:', w.grad))
        >>> (w * w).sum().backward()
        gradients ready: [4.]
    """
    _end_of_backward.append(callback)


def as_array(value, dtype=None) -> np.ndarray:
    """``value`` (Tensor, array, list or scalar) as a floating-point ndarray.

    Python scalars and lists become float32; floating arrays keep their dtype;
    integer and boolean arrays become float32.
    """
    if isinstance(value, Tensor):
        value = value.data
    array = np.asarray(value, dtype=dtype)
    if dtype is None and not np.issubdtype(array.dtype, np.floating):
        array = array.astype(DEFAULT_DTYPE)
    if dtype is None and not isinstance(value, np.ndarray) and array.dtype == np.float64:
        array = array.astype(DEFAULT_DTYPE)
    return array


def to_array(data, dtype=None) -> np.ndarray:
    """``data`` as the array ``torch.tensor(data)`` would hold: Python floats (and lists of
    them) in the default dtype (float32), ints int64, bools bool; arrays keep their dtype."""
    from . import dtypes
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtypes.as_dtype(dtype))
    array = np.asarray(data)
    if not isinstance(data, (np.ndarray, np.generic)):
        kind = array.dtype.kind
        if kind == "f":
            array = array.astype(dtypes.get_default_dtype())
        elif kind == "c":
            array = array.astype(np.complex64)
        elif kind in "iu":
            array = array.astype(np.int64)
        elif kind not in "b":
            raise TypeError(f"tensor: could not make a tensor from {type(data).__name__} "
                            f"data (NumPy dtype {array.dtype})")
    elif array.dtype.kind not in "biufc":
        raise TypeError(f"tensor: can't convert an array of dtype {array.dtype}; the supported "
                        "types are float64/32/16, complex, int64/32/16/8, uint8 and bool")
    return array



def _owned_copy(array: np.ndarray) -> np.ndarray:
    """``array`` itself when nothing else can reach it (CPython's reference count shows only
    the caller's variable and this call's two, and the array owns its memory or is the one
    view of a buffer that only it holds: the gradient a backward function just made), else a
    copy in the same memory order (a channels-last gradient stays channels-last). A ``.grad``
    must never share memory with another gradient: an in-place change of one (clipping,
    scaling) would change the other."""
    if sys.getrefcount(array) <= 3:
        if array.flags.owndata:
            return array
        base = array.base       # a layout view (channels-last) of a buffer nothing else holds,
        padding = base.nbytes - array.nbytes if type(base) is np.ndarray else -1   # or of an
        if ((padding == 0 or (0 < padding <= ALIGNMENT and base.dtype == np.uint8))  # aligned
                and base.flags.owndata and sys.getrefcount(base) <= 3):   # one (ops.layout)
            return array        # (the references: the view's, `base`, the call's)
    return array.copy(order="K")


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like, typed as ``torch.tensor`` types it: arrays keep their dtype,
            Python floats become float32, ints int64, bools bool.
        requires_grad: whether gradients with respect to this tensor are wanted (floating
            tensors only).

    Example:
        >>> import convnet
        >>> x = convnet.Tensor([[1.0, 2.0]], requires_grad=True)
        >>> (x @ x.T).backward()
        >>> x.grad
        array([[2., 4.]], dtype=float32)
    """

    __slots__ = ("data", "grad", "_requires_grad", "_node", "_version_cell", "_base",
                 "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        self.data = to_array(data)
        self.grad: np.ndarray | None = None
        self._requires_grad = False
        self._node: _Node | None = None
        self._version_cell = [0]
        self._base = None
        if requires_grad:
            self.requires_grad = True

    # ----------------------------------------------------------------- basics
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(this one is {self.data.dtype})")
        if not value and not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self._requires_grad = bool(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> "_Size":
        """The number of elements (as NumPy's ``size``), and callable as torch's ``size()``:
        ``t.size()`` is the shape, ``t.size(dim)`` one dimension."""
        return _Size(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.backward is None

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (torch's version counter)."""
        return self._version_cell[0]

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[index] for index in range(len(self.data)))

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is "
                               f"ambiguous (shape {self.shape})")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to "
                            "an index")
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    __hash__ = object.__hash__

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted "
                               f"to Scalar")
        return self.data.item()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter), cut from the graph."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._requires_grad, out._node = self.data, None, False, None
        out._version_cell, out._base = self._version_cell, None
        return out

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (as torch's)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if not self.is_leaf:
            self._node.retained = weakref.ref(self)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}{grad})"

    # --------------------------------------------------------------- backward
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False,
                 inputs=None, *, grad=None) -> None:
        """Accumulate d(self)/d(leaf) * ``gradient`` into every leaf's ``.grad``.

        As in PyTorch, each operation's saved arrays (column matrices, masks, inputs) are
        released as soon as its backward has run, so memory falls during the backward
        pass; a second backward through the same graph then raises RuntimeError unless
        the first was called with ``retain_graph=True``. A tensor that a backward needs and
        that was changed in place since the forward pass raises RuntimeError (torch's
        version counter), never a silently wrong gradient.

        Args:
            gradient: upstream gradient with this tensor's shape; may be omitted only
                when the tensor has one element (a loss), where it defaults to 1
                (``grad=`` is accepted as an older name).
            retain_graph: keep the saved arrays for another backward pass.
        """
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): convnet computes first "
                                      "derivatives only")
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...): not supported; every leaf that "
                                      "requires grad receives its gradient")
        grad = gradient if gradient is not None else grad
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn (was it computed under no_grad(), or from inputs "
                               "without requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                                   f"(this tensor has shape {self.shape}); pass gradient=")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise RuntimeError(f"backward(): gradient has shape {grad.shape}, expected "
                               f"{self.shape}")

        root = _node_of(self)
        order = _topological_order(root)
        grads: dict[int, np.ndarray] = {id(root): grad}
        for node in reversed(order):
            node_grad = grads.pop(id(node), None)
            if node_grad is None:
                continue
            if node.backward is None:                    # a leaf: accumulate into .grad
                leaf = node.leaf()
                if leaf is not None:
                    leaf.grad = _owned_copy(node_grad) if leaf.grad is None \
                        else leaf.grad + node_grad
                continue
            if node.retained is not None and node.retained() is not None:
                node.retained().grad = node_grad.copy()
            for cell, version in node.checks:
                if cell[0] != version:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: it is at version {cell[0]}; "
                        f"expected version {version} instead")
            parent_grads = node.backward(node_grad)
            if not retain_graph:
                node.backward = _released_backward       # drops the saved arrays
            for parent, parent_grad in zip(node.parents, parent_grads):
                if parent_grad is None or parent is None:
                    continue
                key = id(parent)
                grads[key] = parent_grad if key not in grads else _add(grads[key], parent_grad)
            parent_grads = parent_grad = None     # the dict holds them alone (see _owned_copy)
        while _end_of_backward:
            _end_of_backward.pop(0)()

    # Arithmetic operators, comparisons and the differentiable methods (sum, reshape, relu,
    # ...) are attached by convnet.tensor_ops and its companions, where each is defined once.


class _Size(int):
    """A tensor's element count that is also torch's ``size()`` method."""

    def __new__(cls, array: np.ndarray):
        size = super().__new__(cls, array.size)
        size._shape = array.shape
        return size

    def __call__(self, dim=None):
        if dim is None:
            return self._shape
        if not -len(self._shape) <= dim < max(len(self._shape), 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-len(self._shape)}, {len(self._shape) - 1}], but got {dim})")
        return self._shape[dim]


class _Node:
    """A tensor's place in the graph, apart from its data (as torch's ``grad_fn``): the
    graph holds nodes, so an intermediate result's array is freed as soon as neither the
    caller nor a backward closure holds it. ``backward`` maps the output gradient to one
    gradient per parent; ``parents`` are the parents' nodes (None where no gradient
    flows); a leaf has no backward and a weak reference to its tensor. ``checks`` pairs the
    version cells of the tensors the backward reads with their versions when it was made."""

    __slots__ = ("backward", "parents", "leaf", "checks", "retained")

    def __init__(self, backward, parents, leaf, checks=()):
        self.backward, self.parents, self.leaf = backward, parents, leaf
        self.checks, self.retained = checks, None


def _node_of(tensor: Tensor) -> _Node:
    """The node of a tensor that requires grad (a leaf gets one on first use)."""
    if tensor._node is None:
        tensor._node = _Node(None, (), weakref.ref(tensor))
    return tensor._node


def _topological_order(root: _Node) -> list[_Node]:
    """Nodes reachable from ``root``, each after all of its parents."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node.parents:
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _released_backward(grad):
    raise RuntimeError("backward(): trying to backward through the graph a second time; its "
                       "saved arrays were freed after the first backward. Call "
                       "backward(retain_graph=True) the first time to keep them.")


def record(data: np.ndarray, parents: Sequence[Tensor | object], backward: Callable,
           saved: Sequence[Tensor] | None = None, saves_output: bool = False) -> Tensor:
    """Wrap ``data`` as the output of an operation on ``parents``.

    ``backward(grad)`` must return one gradient (or None) per parent, each shaped
    like that parent. Parents that are not Tensors (arrays, numbers) are ignored.
    The graph is recorded only when gradients are enabled and a parent requires them.

    ``saved`` names the tensors whose data ``backward`` reads (default: every Tensor
    parent; ``()`` for operations such as addition or reshaping that read none), and
    ``saves_output`` says it reads the output's data: an in-place change to any of them
    before the backward pass makes it raise instead of computing a wrong gradient.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)   # NumPy scalars too
    out.grad = None
    out._version_cell = [0]
    out._base = None
    parents = tuple(parents)
    needs_grad = _mode.enabled and out.data.dtype.kind in "fc" and any(
        isinstance(p, Tensor) and p._requires_grad for p in parents)
    out._requires_grad = needs_grad
    for parent in parents:                 # an output that is a view of an input (reshape,
        if isinstance(parent, Tensor) and np.may_share_memory(out.data, parent.data):
            out._version_cell = parent._version_cell     # dropout in eval, ...) shares its
            out._base = parent if parent._base is None else parent._base   # version counter
            break
    if needs_grad:
        watched = parents if saved is None else saved
        checks = [(t._version_cell, t._version_cell[0]) for t in watched if isinstance(t, Tensor)]
        if saves_output:
            checks.append((out._version_cell, out._version_cell[0]))
        out._node = _Node(backward, tuple(
            _node_of(p) if isinstance(p, Tensor) and p._requires_grad else None
            for p in parents), None, checks)
    else:
        out._node = None
    return out


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Create a :class:`Tensor` holding a copy of ``data`` (the ``torch.tensor`` of convnet).

    Python floats become float32, ints int64, bools bool; arrays keep their dtype unless
    ``dtype`` is given. ``device`` may only be the CPU.

    Example:
        >>> import convnet
        >>> convnet.tensor([[1, 2], [3, 4]]).shape
        (2, 2)
        >>> convnet.tensor([1, 2]).dtype, convnet.tensor([1, 2], dtype=convnet.float64).dtype
        (dtype('int64'), dtype('float64'))
    """
    from .device import check_device
    check_device(device)
    array = to_array(data, dtype)
    if isinstance(data, (np.ndarray, Tensor)) and np.may_share_memory(array, np.asarray(
            data.data if isinstance(data, Tensor) else data)):
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)
