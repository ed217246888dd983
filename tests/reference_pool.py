"""Slow, obviously-correct loop references for pooling (test oracles).

Written from the notes' formulas, independent of convnet and of torch. Every
function loops explicitly over the output positions and over the taps of each
window (row-major order); only the leading (batch, channel) axes are handled as
whole NumPy slices, which keeps the references fast enough for the notes' real
feature-map shapes without hiding any index arithmetic.

Coordinates: for each spatial dimension the input (length ``n``) sits inside a
padded line ``[0, before + n + after)``; output position ``o`` reads taps
``q = o*stride + a*dilation`` (``a`` = 0 .. k-1) of that padded line. A tap is

* *real* when ``before <= q < before + n`` (input sample ``q - before``);
* *padding* when it falls in ``[0, before)`` or ``[before + n, before + n + after)``:
  with implicit padding (``padding_mode=None``) it holds a fill value (``-inf`` for
  max pooling, ``0`` for average / Lp pooling); with ``padding_mode='zeros'`` it holds
  0; with 'reflect' / 'replicate' / 'circular' / 'symmetric' it maps to an input
  sample by index arithmetic (``source_index``);
* *overhang* when ``q >= before + n + after`` (only ``ceil_mode`` windows reach there):
  it does not exist at all (not in the max, not in any divisor).

Output size per dimension (torch's rule, generalised to per-side pairs)::

    L = before + n + after;  ke = dilation*(k - 1) + 1
    out = (L - ke) // stride + 1                      (floor mode)
    out = ceil((L - ke) / stride) + 1                 (ceil mode), then
          out -= 1 if the last window starts at or after the end of the input,
          i.e. (out - 1)*stride >= before + n

The notes' 'same' (seed 000): ``out = (n - 1) // stride + 1``, ``before = (ke - 1) // 2``,
``after = max(0, (out - 1)*stride + ke - n - before)``.

Semantics of the pools (torch wherever torch has the case):

* max: the first maximum in row-major window scan order wins (strict ``>``); the
  backward adds each output's upstream gradient to that winner's input position
  (accumulating over overlapping windows); a padding winner (only possible with a
  fill that beats the data) receives nothing.
* avg: sum of the window (fill 0) divided by ``divisor_override`` if given, else by the
  number of non-overhang taps (implicit padding counted; ``count_include_pad=True`` or
  any explicit ``padding_mode``), else by the number of real taps
  (``count_include_pad=False`` with implicit padding).
* lp: torch computes ``avg_pool(x**p) * kernel_area`` then ``** (1/p)``: that is the
  window sum of ``x**p`` times ``kernel_area / (non-overhang taps)`` (the factor is 1
  except for ceil_mode overhang windows, a quirk of torch reproduced here), to the
  power ``1/p``.
* maxout: ``out[:, j] = max_t x[:, j*k + t]`` (first maximum wins the gradient).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


# --------------------------------------------------------------------- sizes / padding
def per_dim(value, nd: int) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    assert len(value) == nd, (value, nd)
    return value


def effective_kernel(k: int, d: int) -> int:
    return d * (k - 1) + 1


def same_pair(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """The notes' 'same' padding for one dimension (window centred on the first sample)."""
    ke = effective_kernel(k, d)
    out = (n - 1) // s + 1
    before = (ke - 1) // 2
    after = max(0, (out - 1) * s + ke - n - before)
    return before, after


def padding_pairs(padding, in_sizes, kernel, stride, dilation=1) -> list[tuple[int, int]]:
    """'valid' | 'same' | int | tuple of ints | tuple of (before, after) -> list of pairs."""
    nd = len(in_sizes)
    kernel, stride, dilation = per_dim(kernel, nd), per_dim(stride, nd), per_dim(dilation, nd)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            return [same_pair(in_sizes[i], kernel[i], stride[i], dilation[i]) for i in range(nd)]
        raise ValueError(padding)
    if isinstance(padding, (int, np.integer)):
        return [(int(padding), int(padding))] * nd
    pairs = []
    assert len(padding) == nd, (padding, nd)
    for entry in padding:
        if isinstance(entry, (int, np.integer)):
            pairs.append((int(entry), int(entry)))
        else:
            pairs.append((int(entry[0]), int(entry[1])))
    return pairs


def output_size(n: int, before: int, after: int, k: int, s: int, d: int, ceil_mode: bool) -> int:
    span = before + n + after - effective_kernel(k, d)
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= before + n:
        out -= 1
    return out


def source_index(q: int, before: int, n: int, mode):
    """Input index (0..n-1) read by padded position ``q``; None for a fill / zero tap."""
    i = q - before
    if 0 <= i < n:
        return i
    if mode is None or mode == "zeros":
        return None
    if mode == "replicate":  # clamp to the edge sample
        return 0 if i < 0 else n - 1
    if mode == "circular":  # period n
        return i % n
    if mode == "reflect":  # mirror about the edge sample, edge not repeated: period 2n - 2
        if n == 1:
            return 0
        period = 2 * n - 2
        m = i % period
        return m if m < n else period - m
    if mode == "symmetric":  # mirror between samples, edge repeated: period 2n
        period = 2 * n
        m = i % period
        return m if m < n else period - 1 - m
    raise ValueError(mode)


class _Plan:
    """Output shape and, per output position, its taps in row-major window order.

    ``taps[o]`` is a list of entries, one per non-overhang tap: a tuple of input indices
    (real or mode-mapped tap) or None (implicit fill / explicit zero).
    """

    def __init__(self, in_sizes, kernel, stride, padding, dilation, ceil_mode, mode):
        nd = len(in_sizes)
        self.kernel = per_dim(kernel, nd)
        self.stride = per_dim(self.kernel if stride is None else stride, nd)
        self.dilation = per_dim(dilation, nd)
        self.pairs = padding_pairs(padding, in_sizes, self.kernel, self.stride, self.dilation)
        self.in_sizes = tuple(in_sizes)
        self.out_sizes = tuple(
            output_size(n, b, a, k, s, d, ceil_mode)
            for n, (b, a), k, s, d in zip(in_sizes, self.pairs, self.kernel, self.stride,
                                          self.dilation))
        assert all(m >= 1 for m in self.out_sizes), self.out_sizes
        self.area = math.prod(self.kernel)
        self.taps = {}
        for o in itertools.product(*[range(m) for m in self.out_sizes]):
            entries = []
            for a in itertools.product(*[range(k) for k in self.kernel]):
                q = [o[t] * self.stride[t] + a[t] * self.dilation[t] for t in range(nd)]
                if any(q[t] >= sum(self.pairs[t]) + in_sizes[t] for t in range(nd)):
                    continue  # ceil_mode overhang: not part of the window at all
                src = [source_index(q[t], self.pairs[t][0], in_sizes[t], mode) for t in range(nd)]
                entries.append(None if any(v is None for v in src) else tuple(src))
            self.taps[o] = entries


def flat_index(src, in_sizes) -> int:
    """Row-major flat index of ``src`` in a plane of shape ``in_sizes`` (torch's indices)."""
    flat = 0
    for i, n in zip(src, in_sizes):
        flat = flat * n + i
    return flat


# ----------------------------------------------------------------------------- max
def max_pool_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       padding_mode=None):
    """Max pooling by loops. Returns ``(out, indices)``.

    ``indices`` holds, per output, the flat index (into one input plane) of the first
    maximum in row-major scan order of the window, or -1 if a padding tap won.
    ``padding_mode=None`` pads with -inf; 'zeros' with 0; other modes map indices.
    """
    x = np.asarray(x, dtype=np.float64)
    lead, in_sizes = x.shape[:2], x.shape[2:]
    plan = _Plan(in_sizes, kernel_size, stride, padding, dilation, ceil_mode, padding_mode)
    fill = -np.inf if padding_mode is None else 0.0
    out = np.empty(lead + plan.out_sizes)
    indices = np.empty(lead + plan.out_sizes, dtype=np.int64)
    for o, entries in plan.taps.items():
        best = best_index = None
        for src in entries:
            if src is None:
                value, index = np.full(lead, fill), -1
            else:
                value, index = x[(Ellipsis,) + src], flat_index(src, in_sizes)
            if best is None:
                best, best_index = value.copy(), np.full(lead, index, dtype=np.int64)
            else:
                better = value > best  # strict: an equal later value never replaces
                best = np.where(better, value, best)
                best_index = np.where(better, index, best_index)
        out[(Ellipsis,) + o] = best
        indices[(Ellipsis,) + o] = best_index
    return out, indices


def max_pool_backward_reference(input_shape, indices, grad_output):
    """Add each output's upstream gradient at its argmax input position (accumulating)."""
    lead, in_sizes = tuple(input_shape[:2]), tuple(input_shape[2:])
    grad = np.zeros(lead + (math.prod(in_sizes),))
    grad_output = np.asarray(grad_output, dtype=np.float64)
    for n, c in itertools.product(range(lead[0]), range(lead[1])):
        for o in itertools.product(*[range(m) for m in indices.shape[2:]]):
            index = indices[(n, c) + o]
            if index >= 0:
                grad[n, c, index] += grad_output[(n, c) + o]
    return grad.reshape(tuple(input_shape))


# ----------------------------------------------------------------------------- avg
def avg_pool_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None, padding_mode=None,
                       grad_output=None):
    """Average pooling by loops. Returns ``out``, or ``(out, grad_input)`` with grad_output."""
    x = np.asarray(x, dtype=np.float64)
    lead, in_sizes = x.shape[:2], x.shape[2:]
    plan = _Plan(in_sizes, kernel_size, stride, padding, 1, ceil_mode, padding_mode)
    out = np.empty(lead + plan.out_sizes)
    grad = np.zeros(x.shape)
    for o, entries in plan.taps.items():
        total = np.zeros(lead)
        real = 0
        for src in entries:
            if src is not None:
                total += x[(Ellipsis,) + src]
                real += 1
        if divisor_override is not None:
            divisor = divisor_override
        elif padding_mode is None and not count_include_pad:
            divisor = real
        else:
            divisor = len(entries)
        out[(Ellipsis,) + o] = total / divisor
        if grad_output is not None:
            g = np.asarray(grad_output, dtype=np.float64)[(Ellipsis,) + o]
            for src in entries:
                if src is not None:
                    grad[(Ellipsis,) + src] += g / divisor
    return out if grad_output is None else (out, grad)


# ------------------------------------------------------------------------------ lp
def lp_pool_reference(x, norm_type, kernel_size, stride=None, ceil_mode=False, padding=0,
                      padding_mode=None, grad_output=None):
    """Power-average pooling ``(sum_window x**p * area/non_overhang) ** (1/p)`` by loops.

    Returns ``out``, or ``(out, grad_input)`` when ``grad_output`` is given
    (d out / d x = scale * x**(p-1) * out**(1-p), accumulated over windows).
    """
    p = float(norm_type)
    x = np.asarray(x, dtype=np.float64)
    lead, in_sizes = x.shape[:2], x.shape[2:]
    plan = _Plan(in_sizes, kernel_size, stride, padding, 1, ceil_mode, padding_mode)
    out = np.empty(lead + plan.out_sizes)
    grad = np.zeros(x.shape)
    for o, entries in plan.taps.items():
        total = np.zeros(lead)
        for src in entries:
            if src is not None:  # fill / zero taps contribute 0**p = 0
                total += x[(Ellipsis,) + src] ** p
        scale = plan.area / len(entries)
        value = np.power(total * scale, 1.0 / p)
        out[(Ellipsis,) + o] = value
        if grad_output is not None:
            g = np.asarray(grad_output, dtype=np.float64)[(Ellipsis,) + o]
            for src in entries:
                if src is not None:
                    grad[(Ellipsis,) + src] += (g * scale * x[(Ellipsis,) + src] ** (p - 1)
                                                * value ** (1 - p))
    return out if grad_output is None else (out, grad)


# -------------------------------------------------------------------------- maxout
def maxout_reference(x, pool_size, grad_output=None):
    """``out[:, j] = max_t x[:, j*k + t]``; first maximum wins the gradient.

    Returns ``out``, or ``(out, grad_input)`` when ``grad_output`` is given.
    """
    x = np.asarray(x, dtype=np.float64)
    k = int(pool_size)
    n, channels = x.shape[:2]
    assert channels % k == 0
    out = np.empty((n, channels // k) + x.shape[2:])
    grad = np.zeros(x.shape)
    for j in range(channels // k):
        best = x[:, j * k].copy()
        winner = np.zeros(best.shape, dtype=np.int64)
        for t in range(1, k):
            better = x[:, j * k + t] > best
            best = np.where(better, x[:, j * k + t], best)
            winner = np.where(better, t, winner)
        out[:, j] = best
        if grad_output is not None:
            g = np.asarray(grad_output, dtype=np.float64)[:, j]
            for t in range(k):
                grad[:, j * k + t] += np.where(winner == t, g, 0.0)
    return out if grad_output is None else (out, grad)
