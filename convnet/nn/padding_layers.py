"""Padding layers, named and constructed as ``torch.nn``'s: Zero/Constant/Reflection/
Replication/CircularPad 1d, 2d and 3d, each one call of :func:`convnet.functional.pad`.

``padding`` is an int (every side) or torch's tuple, last dim first:
``(left, right)``, ``(left, right, top, bottom)``, ``(left, right, top, bottom, front, back)``.

Example:
    >>> import convnet, convnet.nn as nn
    >>> nn.ReflectionPad2d(1)(convnet.arange(4.0).view(1, 1, 2, 2)).shape
    (1, 1, 4, 4)
    >>> nn.ZeroPad2d((1, 0, 0, 0))(convnet.ones(1, 1, 1, 1)).view(-1).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = []


class _Pad(Module):
    mode = "constant"
    dims = 2

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        count = 2 * self.dims
        self.padding = (padding,) * count if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != count:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a {count}-tuple, "
                             f"got {padding!r}")
        self.value = value

    def forward(self, x):
        if self.mode == "constant":
            return F.pad(x, self.padding, value=self.value)
        return F.pad(x, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


def _pad_class(name: str, mode: str, dims: int, fill: bool):
    def __init__(self, padding, value: float = 0.0):
        _Pad.__init__(self, padding, value)

    def __init_zero__(self, padding):
        _Pad.__init__(self, padding, 0.0)

    body = {"mode": mode, "dims": dims, "__module__": __name__,
            "__init__": __init__ if fill else __init_zero__,
            "__doc__": f"Pad the last {dims} dim(s) ({mode}). Example: ``nn.{name}(1)(x)``."}
    cls = type(name, (_Pad,), body)
    globals()[name] = cls
    __all__.append(name)


for _dims in (1, 2, 3):
    _pad_class(f"ZeroPad{_dims}d", "constant", _dims, fill=False)
    _pad_class(f"ConstantPad{_dims}d", "constant", _dims, fill=True)
    _pad_class(f"ReflectionPad{_dims}d", "reflect", _dims, fill=False)
    _pad_class(f"ReplicationPad{_dims}d", "replicate", _dims, fill=False)
    _pad_class(f"CircularPad{_dims}d", "circular", _dims, fill=False)
