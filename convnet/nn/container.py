"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict (PyTorch's
names and keys).

Example:
    >>> import convnet.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU())
    >>> model[0]
    Conv2d([8 | 3x3 s 1], in_channels=1)
    >>> len(model)
    2
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from .module import Module, Parameter


class Sequential(Module):
    """Modules applied one after another; children are named '0', '1', ...

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Sequential(nn.Flatten(), nn.Linear(12, 2))(np.ones((5, 3, 2, 2))).shape
        (5, 2)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):      # Sequential(OrderedDict(...))
            for name, module in modules[0].items():
                self.add_module(str(name), module)
            return
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, "
                                f"expected a Module")
            self.add_module(str(index), module)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the child at ``index`` (negative counts from the end), keeping its name,
        as ``torch.nn.Sequential``: ``model.classifier[-1] = nn.Linear(1024, 3)``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: can only assign a Module, got {type(module).__name__}")
        names = list(self._modules)
        if not -len(names) <= index < len(names):
            raise IndexError(f"index {index} is out of range for a Sequential of {len(names)}")
        self._modules[names[index]] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        """Each module in turn; in inference, a (convolution, batch norm, activation) run
        is one fused oneDNN primitive (:mod:`convnet.nn.fusion`)."""
        from .fusion import run_sequence
        return run_sequence(list(self._modules.values()), x)


class ModuleList(Module):
    """A list of Modules whose parameters are registered (keys '0', '1', ...).

    Example:
        >>> import convnet.nn as nn
        >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    """Modules registered under string keys, in insertion order.

    Example:
        >>> import convnet.nn as nn
        >>> heads = nn.ModuleDict({'cls': nn.Linear(4, 2), 'box': nn.Linear(4, 4)})
        >>> list(heads.keys()), list(heads.state_dict())[:2]
        (['cls', 'box'], ['cls.weight', 'cls.bias'])
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, dict) or hasattr(modules, "keys") \
            else modules
        for key, module in pairs:
            self.add_module(str(key), module)


def _as_parameter(value) -> Parameter:
    return value if isinstance(value, Parameter) else Parameter(
        np.asarray(getattr(value, "data", value)))


class ParameterList(Module):
    """Parameters registered under keys '0', '1', ...

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> scales = nn.ParameterList([nn.Parameter(np.ones(2)) for _ in range(3)])
        >>> len(scales), list(scales.state_dict())
        (3, ['0', '1', '2'])
    """

    def __init__(self, values=None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value) -> "ParameterList":
        setattr(self, str(len(self)), _as_parameter(value))
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        values = list(self._parameters.values())
        return values[index]

    def __setitem__(self, index: int, value) -> None:
        setattr(self, str(index % len(self)), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


class ParameterDict(Module):
    """Parameters registered under string keys.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> gains = nn.ParameterDict({'a': nn.Parameter(np.ones(2))})
        >>> gains['a'].shape, 'a' in gains
        ((2,), True)
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key: str) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def update(self, parameters) -> None:
        pairs = parameters.items() if hasattr(parameters, "keys") else parameters
        for key, value in pairs:
            self[str(key)] = value
