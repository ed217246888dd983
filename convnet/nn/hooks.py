"""Module hooks, as torch's: forward pre-hooks, forward hooks and full backward hooks, each
removable through the handle its registration returns.

A full backward hook sees ``grad_input`` (the gradients with respect to the module's
positional Tensor inputs, None for inputs without gradient) and ``grad_output``; it runs
when the gradients of all inputs that need one have been computed (or, if none does, when
the output's gradient arrives), and may return a replacement ``grad_input``.

Example:
    >>> import convnet, convnet.nn as nn
    >>> layer = nn.Linear(3, 2)
    >>> seen = []
    >>> handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    >>> _ = layer(convnet.zeros(4, 3)); handle.remove(); _ = layer(convnet.zeros(1, 3))
    >>> seen
    [(4, 2)]
"""

from __future__ import annotations

import itertools

from ..tensor import Tensor, is_grad_enabled, record

_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_*_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, table: dict, key: int):
        self.table, self.id = table, key

    def remove(self) -> None:
        self.table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def register(module, table_name: str, hook, prepend: bool, with_kwargs: bool) -> RemovableHandle:
    table = module.__dict__[table_name]
    key = next(_ids)
    table[key] = (hook, with_kwargs)
    if prepend:
        table.move_to_end(key, last=False)
    return RemovableHandle(table, key)


def _identity(value: Tensor, on_grad) -> Tensor:
    """``value`` on the graph again, with ``on_grad(grad) -> grad`` seeing its gradient."""
    return record(value.data, (value,), lambda g: (on_grad(g),), saved=())


def call_with_hooks(module, args: tuple, kwargs: dict):
    for hook, with_kwargs in list(module._forward_pre_hooks.values()):
        result = hook(module, args, kwargs) if with_kwargs else hook(module, args)
        if result is not None:
            if with_kwargs:
                args, kwargs = result
            else:
                args = result if isinstance(result, tuple) else (result,)
    backward_hooks = list(module._backward_hooks.values())
    state = None
    if backward_hooks and is_grad_enabled():
        state = _BackwardState(module, backward_hooks, args)
        args = state.wrap_inputs(args)
    output = module.forward(*args, **kwargs)
    for hook, with_kwargs in list(module._forward_hooks.values()):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    if state is not None:
        output = state.wrap_outputs(output)
    return output


class _BackwardState:
    """Collects one call's input and output gradients and runs the backward hooks."""

    def __init__(self, module, hooks, args):
        self.module, self.hooks = module, hooks
        self.inputs = [isinstance(a, Tensor) and a.requires_grad for a in args]
        self.grad_inputs = [None] * len(args)
        self.pending = sum(self.inputs)
        self.grad_outputs = None

    def wrap_inputs(self, args: tuple) -> tuple:
        wrapped = list(args)
        for index, needs in enumerate(self.inputs):
            if needs:
                wrapped[index] = _identity(args[index], lambda g, i=index: self._input_grad(i, g))
        return tuple(wrapped)

    def wrap_outputs(self, output):
        outputs = output if isinstance(output, tuple) else (output,)
        self.grad_outputs = [None] * len(outputs)
        wrapped = tuple(_identity(o, lambda g, i=i: self._output_grad(i, g))
                        if isinstance(o, Tensor) and o.requires_grad else o
                        for i, o in enumerate(outputs))
        return wrapped if isinstance(output, tuple) else wrapped[0]

    def _output_grad(self, index: int, grad):
        self.grad_outputs[index] = grad
        if self.pending == 0:
            self._run(tuple(None for _ in self.inputs))
        return grad

    def _input_grad(self, index: int, grad):
        self.grad_inputs[index] = grad
        self.pending -= 1
        if self.pending:
            return grad
        replaced = self._run(tuple(self.grad_inputs))
        return replaced[index] if replaced is not None else grad

    def _run(self, grad_input: tuple):
        as_tensor = tuple(None if g is None else Tensor(g) for g in grad_input)
        grad_output = tuple(None if g is None else Tensor(g) for g in self.grad_outputs)
        result = None
        for hook, _ in self.hooks:
            answer = hook(self.module, as_tensor, grad_output)
            if answer is not None:
                as_tensor = tuple(answer)
                result = tuple(None if a is None else getattr(a, "data", a) for a in answer)
        return result
