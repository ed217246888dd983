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

import contextlib
import weakref
from typing import Callable, Iterable, Sequence

import numpy as np

DEFAULT_DTYPE = np.float32

_grad_enabled = True
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


@contextlib.contextmanager
def no_grad():
    """Context manager in which operations record no graph (inference, updates).

    Example:
        >>> import convnet
        >>> w = convnet.tensor([1.0], requires_grad=True)
        >>> with convnet.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (False inside :func:`no_grad`)."""
    return _grad_enabled


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


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like; floating arrays keep their dtype, everything else
            becomes float32.
        requires_grad: whether gradients with respect to this tensor are wanted.

    Example:
        >>> import convnet
        >>> x = convnet.Tensor([[1.0, 2.0]], requires_grad=True)
        >>> (x @ x.T).backward()
        >>> x.grad
        array([[2., 4.]], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        self.data = as_array(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._node: _Node | None = None

    # ----------------------------------------------------------------- basics
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
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.backward is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}{grad})"

    # --------------------------------------------------------------- backward
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * ``grad`` into every leaf's ``.grad``.

        As in PyTorch, each operation's saved arrays (column matrices, masks, inputs) are
        released as soon as its backward has run, so memory falls during the backward
        pass; a second backward through the same graph then raises RuntimeError unless
        the first was called with ``retain_graph=True``.

        Args:
            grad: upstream gradient with this tensor's shape; may be omitted only
                when the tensor has one element (a loss), where it defaults to 1.
            retain_graph: keep the saved arrays for another backward pass.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph "
                               "(was it computed under no_grad(), or from inputs without "
                               "requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward(): grad must be given for a tensor of shape "
                                 f"{self.shape}; it may be omitted only for one element")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, expected {self.shape}")

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
                    leaf.grad = node_grad.copy() if leaf.grad is None else leaf.grad + node_grad
                continue
            parent_grads = node.backward(node_grad)
            if not retain_graph:
                node.backward = _released_backward       # drops the saved arrays
            for parent, parent_grad in zip(node.parents, parent_grads):
                if parent_grad is None or parent is None:
                    continue
                key = id(parent)
                grads[key] = parent_grad if key not in grads else grads[key] + parent_grad
        while _end_of_backward:
            _end_of_backward.pop(0)()

    # comparisons give plain boolean arrays: they have no gradient
    def __lt__(self, other):
        return self.data < as_array(other)

    def __le__(self, other):
        return self.data <= as_array(other)

    def __gt__(self, other):
        return self.data > as_array(other)

    def __ge__(self, other):
        return self.data >= as_array(other)

    # Arithmetic operators and the differentiable methods (sum, reshape, relu, ...) are
    # attached by convnet.tensor_ops, where each operation is defined once.


class _Node:
    """A tensor's place in the graph, apart from its data (as torch's ``grad_fn``): the
    graph holds nodes, so an intermediate result's array is freed as soon as neither the
    caller nor a backward closure holds it. ``backward`` maps the output gradient to one
    gradient per parent; ``parents`` are the parents' nodes (None where no gradient
    flows); a leaf has no backward and a weak reference to its tensor."""

    __slots__ = ("backward", "parents", "leaf")

    def __init__(self, backward, parents, leaf):
        self.backward, self.parents, self.leaf = backward, parents, leaf


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


def record(data: np.ndarray, parents: Sequence[Tensor | object], backward: Callable) -> Tensor:
    """Wrap ``data`` as the output of an operation on ``parents``.

    ``backward(grad)`` must return one gradient (or None) per parent, each shaped
    like that parent. Parents that are not Tensors (arrays, numbers) are ignored.
    The graph is recorded only when gradients are enabled and a parent requires them.
    """
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    parents = tuple(parents)
    needs_grad = _grad_enabled and any(isinstance(p, Tensor) and p.requires_grad for p in parents)
    out.requires_grad = needs_grad
    out._node = _Node(backward, tuple(
        _node_of(p) if isinstance(p, Tensor) and p.requires_grad else None
        for p in parents), None) if needs_grad else None
    return out


def tensor(data, requires_grad: bool = False) -> Tensor:
    """Create a :class:`Tensor` (the ``torch.tensor`` of convnet).

    Example:
        >>> import convnet
        >>> convnet.tensor([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    return Tensor(data, requires_grad=requires_grad)
