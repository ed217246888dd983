"""Module and Parameter: the stateful layer API, named and behaving like ``torch.nn``.

A Module owns Parameters (trainable Tensors), buffers (non-trainable arrays such as
batch-norm running statistics) and child Modules, all registered by attribute
assignment. ``state_dict()`` lists them under the keys PyTorch gives the same model
(``features.3.weight``), in PyTorch's order (a module's parameters, then its
buffers, then its children), so weights move between the two libraries.

Every Module records the arguments it was constructed with (``module.init_args``),
which is what lets :func:`convnet.save` store an architecture as data and
:func:`convnet.load` rebuild it without running code from the file.

Example:
    >>> import convnet.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> sum(p.size for p in model.parameters())
    23
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from typing import Iterator

import numpy as np

from ..device import check_device, is_device
from ..tensor import Tensor
from . import hooks


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (``requires_grad`` defaults to True).

    Example:
        >>> import numpy as np
        >>> Parameter(np.zeros(3)).requires_grad
        True
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model.

    Subclasses set Parameters, buffers (:meth:`register_buffer`) and child Modules
    as attributes in ``__init__`` and define ``forward``; calling the module calls
    ``forward``.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> class Scale(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.gain = nn.Parameter(np.ones(n))
        ...     def forward(self, x):
        ...         return x * self.gain
        >>> Scale(3)(np.arange(3.0)).data
        array([0., 1., 2.])
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__init__)

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        if not hasattr(self, "init_args"):
            object.__setattr__(self, "init_args", {})

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attribute {name!r}")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str):
        for table in ("_parameters", "_modules", "_buffers"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array, persistent: bool = True) -> None:
        """Register a non-trainable array (e.g. running statistics) saved in ``state_dict``."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        self.__dict__.pop(name, None)
        self._buffers[name] = None if array is None else np.asarray(array)
        if not persistent:
            self._non_persistent.add(name)

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register ``parameter`` under ``name`` (None records an absent parameter, as bias=False)."""
        if parameter is None:
            self._parameters[name] = None
        else:
            setattr(self, name, parameter)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register a child module under ``name``."""
        self._modules[name] = module

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        hooked = self.__dict__.get("_forward_hooks") or self.__dict__.get(
            "_forward_pre_hooks") or self.__dict__.get("_backward_hooks")
        if not hooked:
            return self.forward(*args, **kwargs)
        return hooks.call_with_hooks(self, args, kwargs)

    # ------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> "hooks.RemovableHandle":
        """``hook(module, args)`` before each forward; a non-None result replaces the args."""
        return hooks.register(self, "_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> "hooks.RemovableHandle":
        """``hook(module, args, output)`` after each forward; a non-None result replaces the
        output."""
        return hooks.register(self, "_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend: bool = False
                                    ) -> "hooks.RemovableHandle":
        """``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's inputs are computed; a non-None result replaces ``grad_input``."""
        return hooks.register(self, "_backward_hooks", hook, prepend, False)

    register_backward_hook = register_full_backward_hook

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo: set | None = None
                      ) -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) in ``state_dict`` order; shared parameters appear once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if parameter is None or id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, np.ndarray]]:
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameters and persistent buffers as arrays, keyed and ordered as PyTorch does.

        The arrays are the live storage (not copies), as PyTorch's are.
        """
        state = OrderedDict()
        self._save_state(state, "")
        return state

    def _save_state(self, state: dict, prefix: str) -> None:
        for name, parameter in self._parameters.items():
            if parameter is not None:
                state[prefix + name] = parameter.data
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                state[prefix + name] = buffer
        for name, child in self._modules.items():
            if child is not None:
                child._save_state(state, f"{prefix}{name}.")

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays from ``state_dict`` into this module's parameters and buffers.

        With ``strict`` every key must match. Values are copied in place, cast to
        each parameter's dtype. Shapes must match exactly. Errors list every
        missing, unexpected and wrongly shaped key at once.

        Returns:
            (missing_keys, unexpected_keys), as PyTorch.
        """
        own = self.state_dict()
        targets = {}
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, parameter in module._parameters.items():
                if parameter is not None:
                    targets[prefix + name] = ("parameter", module, name)
            for name in module._buffers:
                if module._buffers[name] is not None and name not in module._non_persistent:
                    targets[prefix + name] = ("buffer", module, name)
        given = {key: np.asarray(getattr(value, "data", value)) for key, value in state_dict.items()}
        # as PyTorch: checkpoints from before BatchNorm counted batches lack num_batches_tracked
        missing = [key for key in own if key not in given
                   and not key.endswith("num_batches_tracked")]
        unexpected = [key for key in given if key not in own]
        wrong_shape = [f"{key}: expected {own[key].shape}, got {given[key].shape}"
                       for key in own if key in given and given[key].shape != own[key].shape]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if wrong_shape:
            problems.append("wrong shapes: " + "; ".join(wrong_shape))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        for key, value in given.items():
            if key not in targets:
                continue
            kind, module, name = targets[key]
            if kind == "parameter":
                np.copyto(module._parameters[name].data, value, casting="unsafe")
            else:
                np.copyto(module._buffers[name], value, casting="unsafe")
        return missing, unexpected

    # ------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch norm on batch statistics) recursively."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode recursively (same as ``train(False)``)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    def apply(self, function) -> "Module":
        """Call ``function(module)`` on every descendant, children first, then on self."""
        for child in self.children():
            child.apply(function)
        function(self)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``: floating parameters and
        buffers converted in place (the same Parameter objects, as torch's); only the CPU
        exists."""
        dtype = kwargs.pop("dtype", None)
        check_device(kwargs.pop("device", None))
        kwargs.pop("non_blocking", None), kwargs.pop("memory_format", None)
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif is_device(arg):
                check_device(arg)
            elif not isinstance(arg, bool):
                dtype = np.dtype(arg)
        if dtype is not None:
            self._cast_floats(np.dtype(dtype))
        return self

    def _cast_floats(self, dtype: np.dtype) -> "Module":
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")
        for module in self.modules():
            for parameter in module._parameters.values():
                if parameter is not None and parameter.data.dtype.kind == "f":
                    parameter.data = parameter.data.astype(dtype)
                    if parameter.grad is not None:
                        parameter.grad = parameter.grad.astype(dtype)
            for name, buffer in module._buffers.items():
                if buffer is not None and buffer.dtype.kind == "f":
                    module._buffers[name] = buffer.astype(dtype)
        return self

    def float(self) -> "Module":
        return self._cast_floats(np.dtype(np.float32))

    def double(self) -> "Module":
        return self._cast_floats(np.dtype(np.float64))

    def half(self) -> "Module":
        return self._cast_floats(np.dtype(np.float16))

    def cpu(self) -> "Module":
        return self

    def cuda(self, device=None) -> "Module":
        check_device("cuda" if device is None else device)
        return self

    def get_submodule(self, target: str) -> "Module":
        """The descendant at dotted path ``target`` ('' is self)."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = module._modules[part]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def register_module(self, name: str, module: "Module | None") -> None:
        self.add_module(name, module)

    def share_memory(self) -> "Module":
        return self

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr``."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("
        return head + "\n" + "\n".join(lines) + "\n)"


def _recording_init(init):
    """Wrap ``__init__`` so the outermost call stores its arguments in ``self.init_args``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        outermost = "init_args" not in self.__dict__
        if outermost:
            bound = signature.bind(self, *args, **kwargs)
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(signature.parameters)))
            object.__setattr__(self, "init_args", arguments)
        init(self, *args, **kwargs)

    wrapper.__signature__ = signature
    return wrapper
