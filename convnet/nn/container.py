"""Containers: Sequential and ModuleList (PyTorch's names and keys).

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

from .module import Module


class Sequential(Module):
    """Modules applied one after another; children are named '0', '1', ...

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> nn.Sequential(nn.Flatten(), nn.Linear(12, 2))(np.ones((5, 3, 2, 2))).shape
        (5, 2)
    """

    def __init__(self, *modules: Module):
        super().__init__()
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

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


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
