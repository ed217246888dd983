"""Choosing how to compute a convolution: im2col + matrix product, or real FFTs.

``algorithm='im2col'`` (:mod:`.reference`, or :mod:`.channels_last` where it applies) does ``prod(kernel)`` multiply-adds
per output value; ``algorithm='fft'`` (:mod:`.fft`) costs a few transforms
of the padded image, ``O(P log P)`` whatever the kernel size, plus one complex
multiply-add per frequency and channel pair. ``algorithm='auto'`` estimates both
forward times from the shapes alone and takes the smaller; an explicit choice always
wins. Backward passes follow the forward's choice (each costs about twice its forward).

Cost model (seconds, forward pass), with ``N`` batch, ``C_in``, ``C_out``, ``G`` groups,
``K = prod(kernel_size)``, ``O = prod(out_sizes)``, ``L`` the FFT lengths (next fast
length of the padded input size per dim), ``T = prod(L)`` and
``F = prod(L[:-1]) * (L[-1] // 2 + 1)`` the number of stored frequencies::

    im2col = IM2COL_CALL_SECONDS
           + N * C_in * K * O            * COLUMN_SECONDS   (build and read the column matrix)
           + N * C_out * C_in/G * K * O  * GEMM_SECONDS     (real multiply-adds, BLAS)

    fft    = FFT_CALL_SECONDS
           + (N * C_in + C_out * C_in/G * S + N * C_out) * T * log2(T) * FFT_SECONDS
           + N * C_out * C_in/G * F      * CMAC_SECONDS     (complex multiply-adds)

``S <= 1`` is the share of a full transform that a kernel's transform needs
(:func:`transform_work`: about ``(1 + k_0 / L_0) / 2`` in 2-D). ``COLUMN_SECONDS`` is
``COLUMN_CACHED_SECONDS`` while the column matrix fits in ``COLUMN_CACHE_BYTES`` and
``COLUMN_MEMORY_SECONDS`` (about 3x more) beyond; ``CMAC_SECONDS`` is ``CMAC_LOOP_SECONDS``
when a channel count or the batch is below 16 (broadcast multiply-adds,
:func:`.fft.contract`) and ``CMAC_MATMUL_SECONDS`` otherwise.

The constants are a least-squares fit to measured forward times; their history and the
measurements are in docs/performance.md, and :func:`measure_constants` re-measures the main
terms on another machine. Only the ratios matter: near the crossover both algorithms take
about the same time, and ``benchmarks/fft.py`` checks the choice against measured times.

Backends: :mod:`.reference` (any convolution, and every empty one), :mod:`.direct`
(stride 1, few input channels and filters: first layers), :mod:`.onednn` (oneDNN's JIT
kernels, float32 with zero padding, when the library is installed: chosen first by
``'auto'`` under ``CONVNET_BACKEND=onednn``), :mod:`.depthwise` (one filter per channel,
2-D: MobileNet's layers without oneDNN), :mod:`.channels_last` (1-D and 2-D without groups,
one dtype: the usual case without oneDNN) and :mod:`.fft`; each is
``supports(spec, x, weight)``, ``forward(x, weight, bias, spec) -> (y, saved)`` and
``backward(dy, saved, spec, need_input_grad) -> (dx, dweight, dbias)``.

Example:
    >>> from convnet.ops.conv import conv_spec
    >>> small = conv_spec((1, 1, 32, 32), 'float32', (1, 1, 3, 3), padding='same')
    >>> large = conv_spec((1, 1, 128, 128), 'float32', (1, 1, 31, 31), padding='same')
    >>> choose_algorithm(small), choose_algorithm(large)
    ('im2col', 'fft')
    >>> choose_algorithm(large, 'im2col')
    'im2col'
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from . import channels_last, depthwise, direct, fft, onednn, reference
from .spec import ConvSpec

BACKENDS = {"reference": reference, "channels_last": channels_last, "direct": direct,
            "fft": fft, "onednn": onednn, "depthwise": depthwise}

# oneDNN's kernels run the im2col-shaped work several times faster than NumPy's columns, so
# FFT is taken over oneDNN only where the cost model says it is this much cheaper
FFT_OVER_ONEDNN = 0.25

ALGORITHMS = ("auto", "im2col", "fft")

# least-squares fit to measured times (see the module docstring); seconds per unit
IM2COL_CALL_SECONDS = 22e-6       # fixed Python/NumPy overhead of one im2col call
COLUMN_CACHED_SECONDS = 0.24e-9   # per element of a column matrix that fits in cache
COLUMN_MEMORY_SECONDS = 0.69e-9   # per element of a larger column matrix
COLUMN_CACHE_BYTES = 16e6         # column matrices up to this size count as cached
GEMM_SECONDS = 0.010e-9           # per real float32 multiply-add in the BLAS product
FFT_CALL_SECONDS = 58e-6          # fixed overhead of one FFT convolution call
FFT_SECONDS = 0.22e-9             # per point * log2(points) of one real FFT
CMAC_LOOP_SECONDS = 1.5e-9        # per complex multiply-add, broadcast loop
CMAC_MATMUL_SECONDS = 1.0e-9      # per complex multiply-add, batched small matmuls


def check_algorithm(algorithm) -> str:
    """``algorithm`` if it is one of :data:`ALGORITHMS`, else a ValueError naming it."""
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm: expected one of {', '.join(map(repr, ALGORITHMS))}, "
                         f"got {algorithm!r}")
    return algorithm


def im2col_seconds(spec: ConvSpec) -> float:
    """Estimated forward time of the im2col algorithm for ``spec`` (see the module docstring)."""
    batch, in_channels = spec.input_shape[:2]
    out_channels, group_channels = spec.weight_shape[:2]
    kernel = math.prod(spec.kernel_size)
    outputs = math.prod(spec.out_sizes)
    columns = batch * in_channels * kernel * outputs
    macs = batch * out_channels * group_channels * kernel * outputs
    cached = columns * 4 <= COLUMN_CACHE_BYTES                  # float32 bytes
    column = COLUMN_CACHED_SECONDS if cached else COLUMN_MEMORY_SECONDS
    return IM2COL_CALL_SECONDS + columns * column + macs * GEMM_SECONDS


def fft_seconds(spec: ConvSpec) -> float:
    """Estimated forward time of the FFT algorithm for ``spec`` (see the module docstring)."""
    batch, in_channels = spec.input_shape[:2]
    out_channels, group_channels = spec.weight_shape[:2]
    lengths = fft.fft_lengths(spec)
    points = math.prod(lengths)
    freqs = math.prod(lengths[:-1]) * (lengths[-1] // 2 + 1)
    # the kernel's transform skips its zero padding along all but the last transformed axis
    spans = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel_size, spec.dilation))
    kernel_share = (transform_work(spans, lengths) / transform_work(lengths, lengths)
                    if 2 * math.prod(spans) <= points else 1.0)
    transforms = (batch * in_channels + out_channels * group_channels * kernel_share
                  + batch * out_channels)
    group_out = out_channels // spec.groups
    small = min(batch, group_channels, group_out) < fft._MATMUL_MIN_DIM
    cmac = CMAC_LOOP_SECONDS if small else CMAC_MATMUL_SECONDS
    return (FFT_CALL_SECONDS + transforms * points * math.log2(max(points, 2)) * FFT_SECONDS
            + batch * out_channels * group_channels * freqs * cmac)


def transform_work(sizes: tuple[int, ...], lengths: tuple[int, ...]) -> float:
    """Butterfly work (lines x length x log2 length) of an FFT that pads ``sizes`` to
    ``lengths`` one axis at a time, last axis first: ``prod(lengths) * log2(prod(lengths))``
    for a full-size input, less for a kernel (see :func:`.fft.rfftn`)."""
    shape, work = list(sizes), 0.0
    for axis in reversed(range(len(lengths))):
        shape[axis] = lengths[axis]
        work += math.prod(shape) * math.log2(max(lengths[axis], 2))
    return work


def choose_algorithm(spec: ConvSpec, algorithm: str = "auto") -> str:
    """``'im2col'`` or ``'fft'``: ``algorithm`` itself unless it is ``'auto'``, then the
    one with the smaller estimated time (:func:`im2col_seconds`, :func:`fft_seconds`)."""
    check_algorithm(algorithm)
    if algorithm != "auto":
        return algorithm
    return _cheaper_algorithm(spec)


@functools.lru_cache(maxsize=1024)
def _cheaper_algorithm(spec: ConvSpec) -> str:
    """The automatic choice for a spec, estimated once (a training loop repeats its specs)."""
    return "fft" if fft_seconds(spec) < im2col_seconds(spec) else "im2col"


def choose_backend(x: np.ndarray, weight: np.ndarray, spec: ConvSpec, algorithm: str = "auto"):
    """The backend module that computes this call (see the module docstring)."""
    if x.size == 0 or weight.size == 0:
        return reference
    if algorithm == "auto" and onednn.L.preferred() and onednn.supports(spec, x, weight) \
            and not _fft_far_cheaper(spec):
        return onednn
    if algorithm == "auto" and depthwise.supports(spec, x, weight) and not _fft_far_cheaper(spec):
        return depthwise
    if choose_algorithm(spec, algorithm) == "fft":
        return fft
    if direct.supports(spec, x, weight):
        return direct
    return channels_last if channels_last.supports(spec, x, weight) else reference


@functools.lru_cache(maxsize=1024)
def _fft_far_cheaper(spec: ConvSpec) -> bool:
    return fft_seconds(spec) < FFT_OVER_ONEDNN * im2col_seconds(spec)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, spec: ConvSpec,
            algorithm: str = "auto") -> tuple[np.ndarray, tuple]:
    """Forward by the chosen backend; ``saved`` remembers it for :func:`backward`.

    Example:
        >>> from convnet.ops.conv import conv_spec
        >>> x, w = np.ones((1, 1, 5)), np.ones((1, 1, 3))
        >>> spec = conv_spec(x.shape, x.dtype, w.shape)
        >>> y, saved = forward(x, w, None, spec, algorithm='fft')
        >>> saved[0].__name__, np.round(y, 12).tolist()
        ('convnet.ops.conv.fft', [[[3.0, 3.0, 3.0]]])
    """
    backend = choose_backend(x, weight, spec, algorithm)
    y, saved = backend.forward(x, weight, bias, spec)
    return y, (backend, saved)


def backward(dy: np.ndarray, saved: tuple, spec: ConvSpec, need_input_grad: bool = True):
    """``(dx, dweight, dbias)`` by the backend :func:`forward` used."""
    backend, inner = saved
    return backend.backward(dy, inner, spec, need_input_grad=need_input_grad)


def measure_constants(repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """Re-measure the main cost-model terms on this machine with one micro-benchmark each
    (about 3 s); returns a dict named like the module constants. Not called at import.

    Each term is timed alone, so the results differ from the shipped constants (fitted to
    whole convolutions, see the module docstring) by up to 2x; the ratios are what count.

    Example (slow, so not run as a doctest):
        >>> measure_constants()  # doctest: +SKIP
        {'COLUMN_CACHED_SECONDS': 2.4e-10, 'COLUMN_MEMORY_SECONDS': 6.6e-10, ...}
    """
    from ..windows import im2col
    rng = np.random.default_rng(seed)

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    def column_seconds(size, kernel):
        x = rng.standard_normal((1, 1, size + kernel - 1, size + kernel - 1)).astype(np.float32)
        build = best(lambda: im2col(x, (kernel, kernel), (1, 1), (1, 1), (size, size)))
        return build / (kernel * kernel * size * size)

    a = rng.standard_normal((64, 576)).astype(np.float32)
    b = rng.standard_normal((576, 16384)).astype(np.float32)
    images = rng.standard_normal((8, 256, 256)).astype(np.float32)
    lengths = (256, 256)
    spectra = fft.rfftn(images, lengths)

    def complex_array(shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    freqs = 128 * 65
    a_loop, b_loop = complex_array((1, 1, 4, freqs * 8)), complex_array((1, 4, 4, freqs * 8))
    out_loop = np.empty((1, 1, 4, freqs * 8), np.complex64)
    a_mm, b_mm = complex_array((1, 16, 16, freqs)), complex_array((1, 16, 16, freqs))
    out_mm = np.empty((1, 16, 16, freqs), np.complex64)
    fft_count = 8 * 65536 * 16
    one = np.ones((1, 1, 2, 2), np.float32)
    from .spec import conv_spec
    tiny = conv_spec(one.shape, np.float32, (1, 1, 1, 1))
    return {
        "IM2COL_CALL_SECONDS": best(lambda: reference.forward(one, one[:, :, :1, :1], None,
                                                              tiny)),
        "COLUMN_CACHED_SECONDS": column_seconds(64, 7),           # 0.8 MB
        "COLUMN_MEMORY_SECONDS": column_seconds(256, 15),         # 59 MB
        "GEMM_SECONDS": best(lambda: a @ b) / (64 * 576 * 16384),
        "FFT_CALL_SECONDS": best(lambda: fft.forward(one, one[:, :, :1, :1], None, tiny)),
        "FFT_SECONDS": (best(lambda: fft.rfftn(images, lengths))
                        + best(lambda: fft.irfftn(spectra, lengths))) / (2 * fft_count),
        "CMAC_LOOP_SECONDS": best(lambda: fft.contract(a_loop, b_loop, out_loop))
        / (16 * freqs * 8),
        "CMAC_MATMUL_SECONDS": best(lambda: fft.contract(a_mm, b_mm, out_mm))
        / (16 ** 3 * freqs),
    }
