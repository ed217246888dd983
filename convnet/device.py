"""Devices under torch's names: convnet computes on the CPU, and says so in one line.

``convnet.device('cpu')``, ``tensor.to('cpu')``, ``model.to(device)`` and
``torch.device('cuda' if torch.cuda.is_available() else 'cpu')`` all work unchanged;
asking for any other device raises a ``RuntimeError`` naming the CPU as the only one.

Example:
    >>> import convnet
    >>> convnet.device('cuda' if convnet.cuda.is_available() else 'cpu')
    device(type='cpu')
    >>> convnet.tensor([1.0]).to('cuda')
    Traceback (most recent call last):
    ...
    convnet.errors.DeviceError: device 'cuda': convnet runs on the CPU only (the one device is 'cpu')
"""

from __future__ import annotations

from .errors import DeviceError


class device:  # noqa: N801 - torch.device
    """A device: only ``'cpu'`` (or ``'cpu:0'``) exists.

    Example:
        >>> device('cpu').type
        'cpu'
    """

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, _, number = name.partition(":")
            index = int(number) if number.isdigit() else number
        if name != "cpu" or index not in (None, 0):
            raise DeviceError(f"device {str(type)!r}: convnet runs on the CPU only (the one "
                               f"device is 'cpu')")
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        return "device(type='cpu')" if self.index is None else f"device(type='cpu', index={self.index})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            return other in ("cpu", "cpu:0")
        return isinstance(other, device)

    def __hash__(self) -> int:
        return hash("cpu")


CPU = device("cpu")


def check_device(value) -> device | None:
    """None, a :class:`device` or a device string, checked to be the CPU."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        raise DeviceError(f"device {value}: convnet runs on the CPU only (the one device is "
                           f"'cpu')")
    return device(value)


def is_device(value) -> bool:
    """Whether ``value`` names a device (a :class:`device` or a string such as 'cpu')."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        name = value.partition(":")[0]
        return name in ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hip", "npu")
    return False
