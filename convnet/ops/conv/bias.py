"""The bias of a convolution: tied (one per filter) or untied (one per output unit).

Shared by every convolution path (im2col, channels-last, FFT, transposed, locally connected).

Example:
    >>> bias_kind((4,), 4, (5, 5)), bias_kind((4, 5, 5), 4, (5, 5)), bias_kind(None, 4, (5, 5))
    ('tied', 'untied', 'none')
"""

from __future__ import annotations

import numpy as np


def bias_kind(bias_shape, out_channels: int, out_sizes: tuple[int, ...]) -> str:
    """'none', 'tied' (one per filter: (C_out,)) or 'untied' (one per output unit:
    (C_out, *out_sizes)) for a bias of ``bias_shape``; any other shape is a ValueError."""
    if bias_shape is None:
        return "none"
    bias_shape = tuple(bias_shape)
    if bias_shape == (out_channels,):
        return "tied"
    if bias_shape == (out_channels,) + tuple(out_sizes):
        return "untied"
    raise ValueError(f"bias: expected shape ({out_channels},) (tied, one per filter) or "
                     f"{(out_channels,) + tuple(out_sizes)} (untied, one per output unit), got "
                     f"{bias_shape}")


def add_bias(y: np.ndarray, bias: np.ndarray | None, spec) -> np.ndarray:
    """``y`` (N, C_out, *out) plus a tied (C_out,) or untied (C_out, *out) bias, or ``y``.

    ``spec``: a convolution spec (its ``bias`` kind and ``out_sizes`` are used). ``y`` must
    be a fresh result of the caller's: when the dtypes agree the bias is added
    in place, saving a pass over the output and an allocation.
    """
    if bias is None:
        return y
    shaped = bias.reshape((1, -1) + (1,) * len(spec.out_sizes)) if spec.bias == "tied" \
        else bias[None]
    if bias.dtype == y.dtype:
        y += shaped
        return y
    return y + shaped


def bias_gradient(dy: np.ndarray, spec) -> np.ndarray | None:
    """Gradient of :func:`add_bias` for the bias: ``dy`` summed over the batch (and, for a
    tied bias, over every output position); None when the convolution has no bias."""
    if spec.bias == "tied":
        return dy.sum(axis=(0,) + tuple(range(2, dy.ndim)))
    if spec.bias == "untied":
        return dy.sum(axis=0)
    return None
