"""Linear, flatten, dropout and batch normalisation as NumPy forward/backward pairs.

Each ``*_forward`` returns ``(y, saved)`` and ``*_backward(dy, saved)`` the input
gradients. Nothing here validates arguments (the functional layer does) or keeps
state, except that :func:`batch_norm_forward` updates the running statistics it is
handed, in place, exactly as torch does.

Example:
    >>> import numpy as np
    >>> y, saved = linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4))
    >>> y.shape, [g.shape for g in linear_backward(np.ones((2, 4)), saved)]
    ((2, 4), [(2, 3), (4, 3), (4,)])
"""

from __future__ import annotations

import numpy as np


# -------------------------------------------------------------------- linear
def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None):
    """``y = x @ weight.T + bias``; x (*, in), weight (out, in), bias (out,) -> y (*, out).
    Large float32 layers run on oneDNN's inner product where it loads
    (:mod:`.linear_onednn`)."""
    from . import linear_onednn
    if linear_onednn.supports(x, weight, bias):
        y, saved = linear_onednn.forward(x, weight, bias)
        return y, ("onednn", saved)
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return y, (x, weight, bias is not None)


def linear_backward(dy: np.ndarray, saved):
    """``(dx, dweight, dbias)``: ``dy @ W``, ``sum over rows of dy^T x``, ``sum of dy``."""
    if isinstance(saved[0], str):          # ("onednn", its saved tuple)
        from . import linear_onednn
        return linear_onednn.backward(dy, saved[1])
    x, weight, has_bias = saved
    dx = dy @ weight
    rows_dy = dy.reshape(-1, dy.shape[-1])
    rows_x = x.reshape(-1, x.shape[-1])
    dweight = rows_dy.T @ rows_x
    dbias = rows_dy.sum(axis=0) if has_bias else None
    return dx, dweight, dbias


# ------------------------------------------------------------------- flatten
def flatten_forward(x: np.ndarray, start_dim: int, end_dim: int, order: str = "C"):
    """Merge dims ``start_dim..end_dim`` (non-negative, inclusive) into one.

    ``order='C'``: row-major, the last merged dim varies fastest (torch).
    ``order='F'``: the notes' vec (seed 001 eq. 8.26): the last two merged dims are a
    matrix whose columns are stacked (its row index varies fastest); earlier merged
    dims (feature maps) follow in order. Computed as: swap those two dims, then 'C'.
    """
    merged = int(np.prod(x.shape[start_dim:end_dim + 1], dtype=np.int64))
    shape = x.shape[:start_dim] + (merged,) + x.shape[end_dim + 1:]
    if order == "F" and end_dim > start_dim:
        x = np.swapaxes(x, end_dim - 1, end_dim)
        return x.reshape(shape), (x.shape, end_dim)
    return x.reshape(shape), (x.shape, None)


def flatten_backward(dy: np.ndarray, saved) -> np.ndarray:
    shape, swapped = saved
    dx = dy.reshape(shape)
    return dx if swapped is None else np.swapaxes(dx, swapped - 1, swapped)


# ------------------------------------------------------------------- dropout
def dropout_mask(shape: tuple[int, ...], p: float, dtype, rng: np.random.Generator) -> np.ndarray:
    """Inverted-dropout multiplier: 0 with probability ``p``, else ``1 / (1 - p)``."""
    if p >= 1:
        return np.zeros(shape, dtype=dtype)
    keep = rng.random(shape) >= p
    return keep.astype(dtype) * dtype.type(1 / (1 - p))


def dropout_forward(x: np.ndarray, mask: np.ndarray):
    return x * mask, mask


def dropout_backward(dy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return dy * mask


# ------------------------------------------------------------- batch norm
def _channel_view(vector: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) shaped to broadcast along axis 1 of an (N, C, *spatial) array."""
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_forward(x, running_mean, running_var, weight, bias, training: bool,
                       momentum: float, eps: float):
    """Normalise each channel of x (N, C, *spatial), then scale by ``weight`` and shift by ``bias``.

    training: statistics of this batch over (N, *spatial), the biased variance to
    normalise; ``running_mean``/``running_var`` (when not None) become
    ``(1 - momentum) * running + momentum * batch`` in place, with the unbiased variance
    (``var * M / (M - 1)``, ``M = N * prod(spatial)``).
    eval: the running statistics normalise.

    Returns ``(y, saved)``; y has x's shape. float32 input goes to oneDNN's primitive where
    the library is loaded (:mod:`.batch_norm_onednn`); else a channels-last (or 2-D) float
    input goes through the compiled kernels of :mod:`.batch_norm_kernels` and gives channels-last
    outputs; other inputs through NumPy.
    """
    from . import batch_norm_onednn
    if batch_norm_onednn.supports(x, weight, bias):
        return batch_norm_onednn.forward(x, running_mean, running_var, weight, bias, training,
                                         momentum, eps)
    if x.dtype in (np.float32, np.float64) and x.size and x.ndim >= 2:
        from . import batch_norm_kernels as kernels
        rows = kernels.rows_view(x)
        if rows is not None:
            return _batch_norm_rows(x, rows, running_mean, running_var, weight, bias, training,
                                    momentum, eps)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        count = x.size // x.shape[1]
        mean = x.mean(axis=axes)
        centred = x - _channel_view(mean, x.ndim)
        var = np.mean(centred * centred, axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.astype(running_mean.dtype, copy=False)
        if running_var is not None:
            unbiased = var * (count / (count - 1))
            running_var *= 1 - momentum
            running_var += momentum * unbiased.astype(running_var.dtype, copy=False)
    else:
        mean = running_mean.astype(x.dtype, copy=False)
        var = running_var.astype(x.dtype, copy=False)
        centred = x - _channel_view(mean, x.ndim)
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    normalised = centred * _channel_view(inv_std, x.ndim)
    y = normalised
    if weight is not None:
        y = y * _channel_view(weight, x.ndim)
    if bias is not None:
        y = y + _channel_view(bias, x.ndim)
    return y, (normalised, inv_std, weight, bias is not None, training, axes)


def _batch_norm_rows(x, rows, running_mean, running_var, weight, bias, training, momentum, eps):
    """Batch norm of a channels-last ``x`` seen as ``rows`` (M, C): compiled, float64 sums."""
    from . import batch_norm_kernels as kernels
    channels = x.shape[1]
    if training:
        mean, var = kernels.column_stats(rows)
        count = rows.shape[0]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
        if running_var is not None:
            unbiased = var * (count / max(count - 1, 1))
            running_var *= 1 - momentum
            running_var += (momentum * unbiased).astype(running_var.dtype, copy=False)
    else:
        mean = running_mean.astype(np.float64)
        var = running_var.astype(np.float64)
    inv_std = 1 / np.sqrt(var + eps)
    dtype = x.dtype
    scale = np.ones(channels, dtype) if weight is None else weight.astype(dtype, copy=False)
    shift = np.zeros(channels, dtype) if bias is None else bias.astype(dtype, copy=False)
    xhat_rows, y_rows = np.empty_like(rows), np.empty_like(rows)
    kernels.normalise(rows, mean.astype(dtype), inv_std.astype(dtype), scale, shift, xhat_rows,
                      y_rows)
    shape = (x.shape[0],) + x.shape[2:] + (channels,)
    to_layout = lambda matrix: np.moveaxis(matrix.reshape(shape), -1, 1)  # noqa: E731
    saved = ("rows", xhat_rows, inv_std, weight, bias is not None, training, shape)
    return to_layout(y_rows), saved


def _batch_norm_rows_backward(dy, saved):
    from . import batch_norm_kernels as kernels
    _, xhat_rows, inv_std, weight, has_bias, training, shape = saved
    channels = shape[-1]
    dy_rows = kernels.rows_view(dy)
    if dy_rows is None or dy_rows.dtype != xhat_rows.dtype:
        dy_rows = np.ascontiguousarray(np.moveaxis(dy, 1, -1), dtype=xhat_rows.dtype).reshape(
            -1, channels)
    sum_dy, sum_dy_xhat = kernels.backward_sums(dy_rows, xhat_rows)
    count = dy_rows.shape[0]
    scale = np.ones(channels) if weight is None else weight.astype(np.float64)
    factor = (scale * inv_std).astype(dy_rows.dtype)
    if training:
        mean_dy = (sum_dy / count).astype(dy_rows.dtype)
        mean_dy_xhat = (sum_dy_xhat / count).astype(dy_rows.dtype)
    else:
        mean_dy = mean_dy_xhat = np.zeros(channels, dy_rows.dtype)
    dx_rows = np.empty_like(dy_rows)
    kernels.backward_input(dy_rows, xhat_rows, factor, mean_dy, mean_dy_xhat, dx_rows)
    dx = np.moveaxis(dx_rows.reshape(shape), -1, 1)
    dweight = None if weight is None else sum_dy_xhat.astype(weight.dtype)
    dbias = sum_dy.astype(dy_rows.dtype) if has_bias else None
    return dx, dweight, dbias


def batch_norm_backward(dy: np.ndarray, saved):
    """``(dx, dweight, dbias)``; dweight/dbias are None when there is no weight/bias.

    training (the batch statistics depend on x), per channel with ``M`` values:
    ``dx = inv_std / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))``,
    ``dxhat = dy * weight``. eval: ``dx = dy * weight * inv_std``.
    """
    if isinstance(saved[0], str):   # oneDNN's, or the compiled channels-last path
        if saved[0] == "onednn":
            from . import batch_norm_onednn
            return batch_norm_onednn.backward(dy, saved)
        return _batch_norm_rows_backward(dy, saved)
    normalised, inv_std, weight, has_bias, training, axes = saved
    ndim = dy.ndim
    dnormalised = dy if weight is None else dy * _channel_view(weight, ndim)
    if training:
        mean_d = dnormalised.mean(axis=axes, keepdims=True)
        mean_dx = (dnormalised * normalised).mean(axis=axes, keepdims=True)
        dx = (dnormalised - mean_d - normalised * mean_dx) * _channel_view(inv_std, ndim)
    else:
        dx = dnormalised * _channel_view(inv_std, ndim)
    dweight = None if weight is None else np.sum(dy * normalised, axis=axes)
    dbias = np.sum(dy, axis=axes) if has_bias else None
    return dx, dweight, dbias
