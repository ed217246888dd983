"""Exception types that satisfy both readers: convnet's documented ``ValueError`` for a bad
argument and the type torch raises for the same mistake.

Example:
    >>> issubclass(ShapeError, ValueError) and issubclass(ShapeError, RuntimeError)
    True
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together (torch raises RuntimeError, convnet ValueError)."""


class DimensionError(ValueError, IndexError):
    """A dimension out of range (torch raises IndexError)."""


class DeviceError(RuntimeError, AssertionError):
    """A device other than the CPU (torch, built without CUDA, raises AssertionError or
    RuntimeError depending on the call)."""
