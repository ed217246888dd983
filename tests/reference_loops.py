"""Slow, obviously-correct loop references for N-d convolution (test oracles).

Written from the notes' formulas, independent of convnet and of torch:

* padding resolved per spatial dimension into (before, after) pairs
  (``resolve_padding_reference``), including the notes' strided ``'same'`` rule;
* the padded array built element by element with explicit index arithmetic
  (``pad_reference``; no ``np.pad``) for zeros / reflect / replicate / circular /
  symmetric;
* cross-correlation with groups, stride and dilation::

      z[n, o, i...] = b + sum_{c, a...} w[o, c, a...] * xpad[n, g*Cin_g + c, i*s + a*d ...]

  where ``g = o // Cout_g``; bias tied (shape ``(O,)``) or untied (shape ``(O, *out)``).

Everything here works on float64 NumPy arrays and plain Python loops, and works for any
number of spatial dimensions (1-D, 2-D, 3-D ...).
"""

from __future__ import annotations

import itertools

import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


def _per_dim(value, ndim, name):
    """An int or a tuple of ``ndim`` ints -> tuple of ``ndim`` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * ndim
    value = tuple(int(v) for v in value)
    if len(value) != ndim:
        raise ValueError(f"{name}: expected {ndim} values, got {value}")
    return value


def effective_kernel(k: int, d: int) -> int:
    """Extent of a dilated kernel: d*(k-1)+1."""
    return d * (k - 1) + 1


def same_pair(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """The notes' 'same' padding for one dimension.

    Output size (in - 1) // stride + 1; filter centred on the first sample (centre of an
    even kernel = the earlier of the two middle taps), so before = (ke - 1) // 2, and
    after = whatever the last window needs beyond the input (never negative).
    """
    ke = effective_kernel(k, d)
    out = (size - 1) // s + 1
    before = (ke - 1) // 2
    # last window starts at padded index (out-1)*s and covers ke samples;
    # padded length must be >= (out-1)*s + ke = before + size + after
    after = max(0, (out - 1) * s + ke - size - before)
    return before, after


def resolve_padding_reference(padding, in_sizes, kernel, stride=1, dilation=1):
    """Resolve a padding spec into a list of (before, after) pairs, one per spatial dim.

    ``padding``: 'valid' | 'same' | 'full' | int | tuple of ints | tuple of (before, after).
    """
    in_sizes = tuple(int(v) for v in in_sizes)
    nd = len(in_sizes)
    kernel = _per_dim(kernel, nd, "kernel")
    stride = _per_dim(stride, nd, "stride")
    dilation = _per_dim(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            return [same_pair(in_sizes[i], kernel[i], stride[i], dilation[i]) for i in range(nd)]
        if padding == "full":
            pairs = []
            for i in range(nd):
                p = effective_kernel(kernel[i], dilation[i]) - 1
                pairs.append((p, p))
            return pairs
        raise ValueError(f"unknown padding string {padding!r}")
    if isinstance(padding, (int, np.integer)):
        return [(int(padding), int(padding))] * nd
    padding = tuple(padding)
    if len(padding) != nd:
        raise ValueError(f"padding: expected {nd} entries, got {padding}")
    pairs = []
    for entry in padding:
        if isinstance(entry, (int, np.integer)):
            pairs.append((int(entry), int(entry)))
        else:
            before, after = entry
            pairs.append((int(before), int(after)))
    return pairs


def source_index(p: int, before: int, n: int, mode: str):
    """Index into the unpadded axis (length n) for padded position p, or None for a zero."""
    i = p - before  # position relative to the first real sample
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":  # numpy 'edge': clamp
        return 0 if i < 0 else n - 1
    if mode == "circular":  # numpy 'wrap': period n
        return i % n
    if mode == "reflect":  # mirror about the edge sample, edge not repeated: period 2n-2
        if n == 1:
            return 0
        period = 2 * n - 2
        m = i % period
        return m if m < n else period - m
    if mode == "symmetric":  # mirror between samples, edge repeated: period 2n
        period = 2 * n
        m = i % period
        return m if m < n else period - 1 - m
    raise ValueError(f"unknown mode {mode!r}")


def pad_reference(x, pairs, mode="zeros"):
    """Pad the last ``len(pairs)`` axes of ``x`` by explicit index arithmetic (no np.pad)."""
    x = np.asarray(x)
    nd = len(pairs)
    lead = x.shape[: x.ndim - nd]
    spatial = x.shape[x.ndim - nd:]
    out_spatial = tuple(n + b + a for n, (b, a) in zip(spatial, pairs))
    out = np.zeros(lead + out_spatial, dtype=x.dtype)
    for pos in itertools.product(*[range(m) for m in out_spatial]):
        src = [source_index(p, b, n, mode) for p, (b, _), n in zip(pos, pairs, spatial)]
        if any(s is None for s in src):
            continue  # zero padding
        out[(Ellipsis,) + pos] = x[(Ellipsis,) + tuple(src)]
    return out


def conv_output_size(padded: int, k: int, s: int, d: int) -> int:
    return (padded - effective_kernel(k, d)) // s + 1


def conv_reference(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1,
                   padding_mode="zeros"):
    """N-d grouped, strided, dilated cross-correlation with loops (float64).

    x: (N, C, *spatial); w: (O, C // groups, *kernel); bias: None, (O,) or (O, *out_spatial).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    nd = x.ndim - 2
    assert w.ndim == nd + 2
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    kernel = w.shape[2:]
    assert C == Cg * groups and O % groups == 0
    Og = O // groups
    stride = _per_dim(stride, nd, "stride")
    dilation = _per_dim(dilation, nd, "dilation")
    pairs = resolve_padding_reference(padding, x.shape[2:], kernel, stride, dilation)
    xp = pad_reference(x, pairs, padding_mode)
    out_spatial = tuple(conv_output_size(xp.shape[2 + i], kernel[i], stride[i], dilation[i])
                        for i in range(nd))
    assert all(m >= 1 for m in out_spatial), out_spatial
    z = np.zeros((N, O) + out_spatial, dtype=np.float64)
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in itertools.product(*[range(m) for m in out_spatial]):
                total = 0.0
                for c in range(Cg):
                    for a in itertools.product(*[range(k) for k in kernel]):
                        src = tuple(i[t] * stride[t] + a[t] * dilation[t] for t in range(nd))
                        total += w[(o, c) + a] * xp[(n, g * Cg + c) + src]
                if bias is not None:
                    b = np.asarray(bias, dtype=np.float64)
                    total += b[o] if b.ndim == 1 else b[(o,) + i]
                z[(n, o) + i] = total
    return z
