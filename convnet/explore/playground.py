"""The hyperparameter playground: a small input, padded and convolved by the library, with
the output size the notes' rule gives.

Example:
    >>> answer = playground(size=5, kernel=3, stride=2, padding="same")
    >>> answer["output_size"], answer["rule"]
    (3, "'same': (in - 1) // stride + 1 = (5 - 1) // 2 + 1 = 3")
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..ops.windows import effective_kernel, output_size, resolve_padding

MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


def _small_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}: expected a whole number in [{low}, {high}], got {value!r}")
    return value


def playground(size=7, kernel=3, stride=1, padding="same", padding_mode="zeros", dilation=1):
    """A ``size x size`` ramp input (values 1, 2, ...) padded as asked, the padded grid with
    the border marked, the output of a 'sum of the window' convolution and the size rule."""
    size = _small_int("size", size, 1, 16)
    kernel = _small_int("kernel", kernel, 1, 9)
    stride = _small_int("stride", stride, 1, 8)
    dilation = _small_int("dilation", dilation, 1, 4)
    if padding_mode not in MODES:
        raise ValueError(f"padding_mode: expected one of {MODES}, got {padding_mode!r}")
    if isinstance(padding, str):
        if padding not in ("same", "valid", "full"):
            raise ValueError(f"padding: expected 'same', 'valid', 'full' or a number, got {padding!r}")
    else:
        padding = _small_int("padding", padding, 0, 8)
    (before, after), = resolve_padding(padding, (size,), (kernel,), (stride,), (dilation,))
    span = effective_kernel(kernel, dilation)
    out = output_size(size, kernel, stride, dilation, before, after)
    if padding_mode in ("reflect",) and max(before, after) >= size:
        raise ValueError(f"padding_mode 'reflect': padding {max(before, after)} must be smaller "
                         f"than the input size {size}")
    image = np.arange(1, size * size + 1, dtype=np.float64).reshape(1, 1, size, size)
    mode = "constant" if padding_mode == "zeros" else padding_mode
    padded = F.pad(image, (before, after, before, after), mode=mode).data[0, 0]
    border = np.ones(padded.shape, bool)
    border[before:before + size, before:before + size] = False
    output = F.conv2d(image, np.ones((1, 1, kernel, kernel)), stride=stride,
                      padding=((before, after), (before, after)), dilation=dilation,
                      padding_mode=padding_mode).data[0, 0] if out > 0 else np.zeros((0, 0))
    if padding == "same":
        rule = f"'same': (in - 1) // stride + 1 = ({size} - 1) // {stride} + 1 = {out}"
    else:
        rule = (f"(in + before + after - span) // stride + 1 = ({size} + {before} + {after} - "
                f"{span}) // {stride} + 1 = {out}")
    return {"size": size, "kernel": kernel, "stride": stride, "dilation": dilation,
            "padding": padding, "padding_mode": padding_mode, "pads": [before, after],
            "padded": padded.tolist(), "border": border.tolist(), "output": output.tolist(),
            "output_size": out, "rule": rule}
