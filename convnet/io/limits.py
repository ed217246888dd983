"""What a file may make convnet read, build or allocate: one budget, checked before the work.

A model file is data from elsewhere. Its header decides how many bytes are read, how many
modules are built and how large an input the model is fed; these bounds keep a damaged or
hostile file from deciding how much memory or time the process spends. Each is far above
what a real CNN needs, and each error names the bound.

Example:
    >>> check_input_shape([1, 28, 28], 'input_shape')
    (1, 28, 28)
    >>> check_input_shape([1, 100000, 100000], 'input_shape')
    Traceback (most recent call last):
    ...
    ValueError: input_shape: 1x100000x100000 is 10,000,000,000 values an image, more than the 16,777,216 an input may have
"""

from __future__ import annotations

import math
import os
import stat

__all__ = ["MAX_FILE_BYTES", "MAX_MODULES", "MAX_INPUT_VALUES", "read_regular_file",
           "check_module_count", "check_input_shape"]

MAX_FILE_BYTES = 16 * 2**30      # a model or checkpoint file
MAX_MODULES = 10_000             # modules an architecture may declare
MAX_INPUT_VALUES = 2**24         # C*H*W of one input image (e.g. 3x2048x2048 fits)


def read_regular_file(path, what: str = "file") -> bytes:
    """The bytes of ``path``, a regular file of at most :data:`MAX_FILE_BYTES`.

    Devices (``/dev/zero``), FIFOs and directories are refused before anything is read, so a
    read can neither block forever nor run out of memory.
    """
    path = os.fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{path}: is a directory, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file (a device, FIFO or socket), expected a {what}")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: {info.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} a "
                         f"{what} may have")
    with open(path, "rb") as handle:
        return handle.read(info.st_size)


def check_module_count(count: int, where: str) -> None:
    """Refuse an architecture that declares more than :data:`MAX_MODULES` modules."""
    if count > MAX_MODULES:
        raise ValueError(f"{where}: declares {count:,} modules, more than the {MAX_MODULES:,} a "
                         f"model may have")


def check_input_shape(shape, where: str) -> tuple[int, int, int]:
    """``shape`` as a ``(C, H, W)`` tuple of positive ints within :data:`MAX_INPUT_VALUES`."""
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(isinstance(size, int) and not isinstance(size, bool) and size > 0
                       for size in shape)):
        raise ValueError(f"{where}: expected three positive sizes C, H, W, got {shape!r:.80}")
    values = math.prod(shape)
    if values > MAX_INPUT_VALUES:
        raise ValueError(f"{where}: {'x'.join(map(str, shape))} is {values:,} values an image, "
                         f"more than the {MAX_INPUT_VALUES:,} an input may have")
    return tuple(shape)
