"""Convolution (cross-correlation) by real FFTs, forward and backward, in 1, 2 or 3 dims.

Same arguments, same :class:`~convnet.ops.conv.ConvSpec` and same results as the
reference (:mod:`convnet.ops.conv.reference`); only the arithmetic differs (seed 002,
"Fast Convolution Algorithm using the FFT": transform, multiply pointwise, transform back).

With ``x_pad`` the padded input (spatial size ``P`` per dim), ``w_d`` the kernel with
``dilation - 1`` zeros inserted between its taps (size ``ke = dilation * (k - 1) + 1``)
and ``^`` the real FFT of length ``L >= P`` over the spatial dims::

    forward   z[n, o, q]  = sum_{c, j} w_d[o, c, j] * x_pad[n, c, q + j]      (stride 1)
              z^[n, o]    = sum_c conj(w_d^[o, c]) * x_pad^[n, c]      (correlation theorem)
              y           = z[..., ::stride] cut to the output size, plus the bias
    backward  dz          = dy with stride - 1 zeros between samples (zero-upsampled)
              dx_pad^[n, c] = sum_o w_d^[o, c] * dz^[n, o]             (a full convolution)
              dw_d^[o, c]   = sum_n conj(dz^[n, o]) * x_pad^[n, c]     (correlation of x with dz)
              dw          = dw_d[..., :ke][..., ::dilation];  dx = pad_backward(dx_pad)

``L >= P`` is enough for every one of these to be free of wrap-around: each needed
index ``q + j`` stays below ``P``. ``L`` is the next fast FFT length (products of
small primes). The sums over channels are complex matrix products per frequency
(batched over frequencies and groups). Stride is handled by computing the stride-1
result and keeping every ``stride``-th sample, so a strided FFT convolution costs
as much as an unstrided one; :mod:`convnet.ops.conv.dispatch` knows that.

Backends: ``scipy.fft`` when SciPy imports (keeps float32 as complex64 and is faster),
``numpy.fft`` otherwise; NumPy is the only hard dependency.

Precision: float32 inputs are transformed in complex64 and give float32 outputs whose
error is about 1e-6 of the largest output magnitude (a few float32 ulps times
``log2(L)``), against about 1e-7 for im2col; float64 inputs use complex128, error about
1e-15 of the output scale.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.arange(5.).reshape(1, 1, 5)
    >>> w = np.array([1., 1., 1.]).reshape(1, 1, 3)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, stride=2, padding='same')
    >>> y, saved = forward(x, w, None, spec)
    >>> np.round(y, 12)
    array([[[1., 6., 7.]]])
"""

from __future__ import annotations

import math

import numpy as np

from .bias import add_bias, bias_gradient
from .spec import ConvSpec
from ..padding import pad, pad_backward
from ..windows import effective_kernel

try:  # SciPy is optional: faster transforms that keep float32 in single precision
    import scipy.fft as _scipy_fft
except ImportError:  # pragma: no cover - exercised only without SciPy
    _scipy_fft = None

#: threads for one scipy.fft call; 2 helps only on batches of large transforms
FFT_WORKERS = 2
_PARALLEL_MIN_POINTS = 1 << 21

#: channel sums use a batched matrix product when every matrix dim is at least this
#: (complex64, 2-core EPYC: 0.5 vs 0.8 ns per multiply-add at 16, 1.2 vs 1.0 at 8);
#: below it a loop of broadcast multiply-adds over the summed index is faster
_MATMUL_MIN_DIM = 16


def fast_length(n: int) -> int:
    """Smallest FFT length ``>= n`` that is fast: ``scipy.fft.next_fast_len`` for real
    transforms when SciPy is there, else the smallest ``2**a * 3**b * 5**c >= n``.

    Example:
        >>> fast_length(97) in (98, 100)
        True
    """
    if n < 1:
        raise ValueError(f"n: expected a positive length, got {n}")
    if _scipy_fft is not None:
        return _scipy_fft.next_fast_len(n, real=True)
    return _next_regular(n)


def _next_regular(n: int) -> int:
    best = 1 << max(0, (n - 1).bit_length())
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < n:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def fft_lengths(spec: ConvSpec) -> tuple[int, ...]:
    """FFT length per spatial dim: the next fast length of the padded input size."""
    return tuple(fast_length(size) for size in spec.padded_shape[2:])


def _workers(array: np.ndarray, lengths: tuple[int, ...]) -> int:
    batch = math.prod(array.shape[:-len(lengths)])
    return FFT_WORKERS if batch > 1 and batch * math.prod(lengths) >= _PARALLEL_MIN_POINTS else 1


def _call(name: str, array: np.ndarray, workers: int, **kwargs) -> np.ndarray:
    if _scipy_fft is not None:
        return getattr(_scipy_fft, name)(array, workers=workers, **kwargs)
    return getattr(np.fft, name)(array, **kwargs)


def rfftn(x: np.ndarray, lengths: tuple[int, ...]) -> np.ndarray:
    """Real FFT over the last ``len(lengths)`` axes, zero-padded to ``lengths``.

    (..., *spatial) -> (..., *lengths[:-1], lengths[-1] // 2 + 1), complex64 for float32.
    An input much smaller than ``lengths`` (a kernel) is transformed one axis at a time,
    last axis first, so its zero padding is never transformed along the axes still to
    come (about half the work of a full transform in 2-D).

    Example:
        >>> kernel = np.ones((2, 3, 4))
        >>> np.allclose(rfftn(kernel, (8, 8)), np.fft.rfftn(kernel, (8, 8), axes=(1, 2)))
        True
    """
    ndim = len(lengths)
    sizes = x.shape[-ndim:]
    workers = _workers(x, lengths)
    complex_dtype = np.result_type(x.dtype, np.complex64)
    if ndim == 1 or 2 * math.prod(sizes) > math.prod(lengths):
        result = _call("rfftn", x, workers, s=lengths, axes=tuple(range(-ndim, 0)))
    else:
        result = _call("rfft", x, workers, n=lengths[-1], axis=-1)
        for axis in range(-2, -ndim - 1, -1):
            result = _call("fft", result, workers, n=lengths[axis], axis=axis)
    return result.astype(complex_dtype, copy=False)


def irfftn(x_hat: np.ndarray, lengths: tuple[int, ...], keep: tuple[slice, ...] | None = None
           ) -> np.ndarray:
    """Inverse of :func:`rfftn`: (..., *half_spectrum) -> real (..., *lengths).

    With ``keep`` (one slice per spatial axis) returns ``result[..., *keep]``, cropping
    each axis right after its transform so later axes transform fewer lines.

    Example:
        >>> x = np.arange(12.).reshape(3, 4)
        >>> np.allclose(irfftn(rfftn(x, (6, 8)), (6, 8), (slice(0, 3), slice(0, 4))), x)
        True
    """
    ndim = len(lengths)
    workers = _workers(x_hat, lengths)
    real_dtype = np.float32 if x_hat.dtype == np.complex64 else np.float64
    if keep is None:
        result = _call("irfftn", x_hat, workers, s=lengths, axes=tuple(range(-ndim, 0)))
        return result.astype(real_dtype, copy=False)
    result = x_hat
    for axis in range(-ndim, -1):
        result = _call("ifft", result, workers, n=lengths[axis], axis=axis)
        result = result[(Ellipsis, keep[axis]) + (slice(None),) * (-axis - 1)]
    result = _call("irfft", result, workers, n=lengths[-1], axis=-1)[..., keep[-1]]
    return result.astype(real_dtype, copy=False)


def dilate_kernel(weight: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """The kernel with ``dilation - 1`` zeros between taps: (O, C, *k) -> (O, C, *ke).

    Example:
        >>> dilate_kernel(np.array([[[1., 2., 3.]]]), (2,))
        array([[[1., 0., 2., 0., 3.]]])
    """
    if all(d == 1 for d in dilation):
        return weight
    kernel_size = weight.shape[2:]
    spans = tuple(effective_kernel(k, d) for k, d in zip(kernel_size, dilation))
    dilated = np.zeros(weight.shape[:2] + spans, dtype=weight.dtype)
    dilated[(Ellipsis,) + tuple(slice(None, None, d) for d in dilation)] = weight
    return dilated


def contract(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[g, m, p, f] = sum_k a[g, m, k, f] * b[g, k, p, f]``: a matrix product per
    group ``g`` and frequency ``f`` (the channel sums of an FFT convolution).

    Args:
        a: (G, M, K, F); b: (G, K, P, F); out: (G, M, P, F), written in place (may be a
            strided view, e.g. a transposed view of the next transform's input).

    Example:
        >>> a = np.ones((1, 2, 3, 4)); b = np.ones((1, 3, 5, 4)); out = np.empty((1, 2, 5, 4))
        >>> float(contract(a, b, out)[0, 0, 0, 0])
        3.0
    """
    groups, rows, inner, freqs = a.shape
    cols = b.shape[2]
    if min(rows, inner, cols) >= _MATMUL_MIN_DIM:
        # frequency-major contiguous copies, so each product is one BLAS call
        a_f = np.ascontiguousarray(a.transpose(0, 3, 1, 2))        # (G, F, M, K)
        b_f = np.ascontiguousarray(b.transpose(0, 3, 1, 2))        # (G, F, K, P)
        out[...] = np.matmul(a_f, b_f).transpose(0, 2, 3, 1)
        return out
    # few channels: broadcast multiply-adds, one pass per summed index
    term = None
    for k in range(inner):
        a_k = a[:, :, k, None, :]                                   # (G, M, 1, F)
        b_k = b[:, None, k, :, :]                                   # (G, 1, P, F)
        if k == 0:
            np.multiply(a_k, b_k, out=out)
        else:
            term = np.multiply(a_k, b_k, out=term)
            out += term
    return out


def _complex_dtype(*dtypes) -> np.dtype:
    return np.result_type(*dtypes, np.complex64)


def supports(spec: ConvSpec, x: np.ndarray, weight: np.ndarray) -> bool:
    """Any non-empty convolution (chosen by the cost model of :mod:`.dispatch`)."""
    return x.size > 0 and weight.size > 0


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec: ConvSpec) -> tuple[np.ndarray, tuple]:
    """Convolve ``x`` (N, C_in, *spatial) with ``weight`` (C_out, C_in/groups, *k) by FFT.

    Returns ``(y, saved)``: ``y`` of shape (N, C_out, *spec.out_sizes) and dtype
    ``result_type(x, weight)``, exactly what :func:`convnet.ops.conv.reference.forward` computes
    (within float tolerance); ``saved`` holds the spectra :func:`backward` reuses.

    Example (a 31x31 box filter on a 64x64 image, 'same' size):
        >>> from convnet.ops.conv import conv_spec
        >>> x = np.ones((1, 1, 64, 64), np.float32); w = np.ones((1, 1, 31, 31), np.float32)
        >>> spec = conv_spec(x.shape, x.dtype, w.shape, padding='same')
        >>> y, _ = forward(x, w, None, spec)
        >>> y.shape, y.dtype, round(float(y[0, 0, 32, 32]))
        ((1, 1, 64, 64), dtype('float32'), 961)
    """
    batch, in_channels = x.shape[:2]
    out_channels, group_channels = weight.shape[:2]
    groups = spec.groups
    group_out = out_channels // groups
    lengths = fft_lengths(spec)
    complex_dtype = _complex_dtype(x.dtype, weight.dtype)

    x_hat = rfftn(pad(x, spec.padding, spec.padding_mode), lengths).astype(complex_dtype,
                                                                          copy=False)
    w_hat = rfftn(dilate_kernel(weight, spec.dilation), lengths).astype(complex_dtype,
                                                                       copy=False)
    freq_shape = x_hat.shape[2:]
    freqs = math.prod(freq_shape)
    y_hat = np.empty((batch, out_channels) + freq_shape, dtype=complex_dtype)
    contract(x_hat.reshape(batch, groups, group_channels, freqs).transpose(1, 0, 2, 3),
             np.conj(w_hat).reshape(groups, group_out, group_channels, freqs)
             .transpose(0, 2, 1, 3),
             y_hat.reshape(batch, groups, group_out, freqs).transpose(1, 0, 2, 3))
    # the stride-1 correlation, cut to every stride-th sample of the output positions
    keep = tuple(slice(0, (size - 1) * step + 1, step)
                 for size, step in zip(spec.out_sizes, spec.stride))
    y = irfftn(y_hat, lengths, keep)
    del y_hat
    y = np.ascontiguousarray(y, dtype=np.result_type(x.dtype, weight.dtype))
    saved = (x_hat, w_hat, lengths, x.dtype, weight.dtype)
    return add_bias(y, bias, spec), saved


def backward(dy: np.ndarray, saved: tuple, spec: ConvSpec,
             need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients ``(dx, dweight, dbias)`` of :func:`forward` for upstream ``dy``
    (N, C_out, *out_sizes); ``dx`` is None when ``need_input_grad`` is False.

    Example (the gradient of a sum is the kernel's window count per input pixel):
        >>> from convnet.ops.conv import conv_spec
        >>> x = np.zeros((1, 1, 5)); w = np.ones((1, 1, 3))
        >>> spec = conv_spec(x.shape, x.dtype, w.shape)
        >>> y, saved = forward(x, w, None, spec)
        >>> dx, dw, db = backward(np.ones_like(y), saved, spec)
        >>> np.round(dx, 12).tolist()
        [[[1.0, 2.0, 3.0, 2.0, 1.0]]]
    """
    x_hat, w_hat, lengths, x_dtype, w_dtype = saved
    batch = spec.input_shape[0]
    out_channels, group_channels = spec.weight_shape[:2]
    groups = spec.groups
    group_out = out_channels // groups
    freq_shape = x_hat.shape[2:]
    freqs = math.prod(freq_shape)
    complex_dtype = x_hat.dtype

    if any(step > 1 for step in spec.stride):
        upsampled = np.zeros(dy.shape[:2] + tuple((size - 1) * step + 1 for size, step
                                                  in zip(spec.out_sizes, spec.stride)),
                             dtype=dy.dtype)
        upsampled[(Ellipsis,) + tuple(slice(None, None, step) for step in spec.stride)] = dy
    else:
        upsampled = dy
    dz_hat = rfftn(upsampled, lengths).astype(complex_dtype, copy=False)
    del upsampled

    dweight_hat = np.empty((out_channels, group_channels) + freq_shape, dtype=complex_dtype)
    contract(np.conj(dz_hat).reshape(batch, groups, group_out, freqs).transpose(1, 2, 0, 3),
             x_hat.reshape(batch, groups, group_channels, freqs).transpose(1, 0, 2, 3),
             dweight_hat.reshape(groups, group_out, group_channels, freqs))
    spans = tuple(effective_kernel(k, d) for k, d in zip(spec.kernel_size, spec.dilation))
    dweight = irfftn(dweight_hat, lengths,
                     tuple(slice(0, span, d) for span, d in zip(spans, spec.dilation)))
    dweight = np.ascontiguousarray(dweight, dtype=np.result_type(w_dtype, dy.dtype))
    del dweight_hat

    dx = None
    if need_input_grad:
        in_channels = spec.input_shape[1]
        dx_hat = np.empty((batch, in_channels) + freq_shape, dtype=complex_dtype)
        contract(dz_hat.reshape(batch, groups, group_out, freqs).transpose(1, 0, 2, 3),
                 w_hat.reshape(groups, group_out, group_channels, freqs),
                 dx_hat.reshape(batch, groups, group_channels, freqs).transpose(1, 0, 2, 3))
        del dz_hat
        padded = spec.padded_shape[2:]
        dx_padded = irfftn(dx_hat, lengths, tuple(slice(0, p) for p in padded))
        dx = pad_backward(dx_padded, spec.input_shape, spec.padding, spec.padding_mode)
        dx = np.ascontiguousarray(dx, dtype=np.result_type(x_dtype, dy.dtype))
    return dx, dweight, bias_gradient(dy, spec)
