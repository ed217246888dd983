"""convnet pooling against PyTorch (the oracle): values, input gradients and indices.

Every case runs the same call in both libraries through ``torch_compare.compare`` (same
data, same random upstream gradient ``g``, ``y.backward(g)``) and compares the output and
the input gradient; ``return_indices`` cases also compare the indices exactly (int64).
Max-pooling data is continuous random (no ties), so the argmax is unambiguous.

Tolerances: float64 rtol=1e-10 (atol 1e-12); float32 rtol=1e-5, atol=1e-6 (torch computes
in float32 too).

Declared grid (one pytest id per case):
- max_pool1d/2d/3d: kernel 1..4 (even included) x stride None/1/2/3 x ceil_mode, with
  padding cycling over 0 / 1 / per-dim tuple (always <= k/2, torch's limit), dilation 1/2,
  float32/float64, batch 1/2, return_indices on every other case; plus non-cubic kernels
  and per-dim strides.
- avg_pool1d/2d/3d: kernel 1..4 x stride None/1/2/3 x ceil_mode x count_include_pad, padding
  cycling as above, divisor_override (2-D/3-D: torch's avg_pool1d has none), both dtypes.
- lp_pool1d/2d/3d: kernel 1..4 x stride None/1/2/3 x ceil_mode, norm_type 1/2/3/1.5 on
  positive data (norm 2 also on signed data).
- adaptive_max/avg_pool1d/2d/3d: divisible and non-divisible sizes, output larger than the
  input, int and tuple output_size, None entries (2-D/3-D), return_indices for max.
Odd spatial sizes throughout.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for pooling; not installed")
import torch.nn.functional as TF  # noqa: E402

import convnet.functional as F  # noqa: E402
from torch_compare import compare  # noqa: E402

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
SPATIAL = {1: (11,), 2: (9, 8), 3: (7, 9, 8)}  # odd and unequal sizes, >= 7 (k=4, d=2)
KERNELS = (1, 2, 3, 4)
STRIDES = (None, 1, 2, 3)


def data(shape, dtype, seed, positive=False):
    rng = np.random.default_rng(seed)
    if positive:
        return rng.uniform(0.2, 2.0, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def padding_choices(nd, k):
    """Padding forms within torch's limit (2 * pad <= kernel)."""
    limit = k // 2
    choices = [0]
    if limit >= 1:
        choices.append(1)
        choices.append(tuple((d % 2) * limit for d in range(nd)) if nd > 1 else (limit,))
    return choices


def fmt(value):
    return str(value).replace(" ", "")


def run_case(name, x, kwargs, torch_kwargs=None, dtype=np.float64):
    """compare() our F.<name>(x, **kwargs) with torch's TF.<name>(x, **torch_kwargs)."""
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    ours, theirs = getattr(F, name), getattr(TF, name)
    return compare(lambda t: ours(t, **kwargs), x, torch_fn=lambda t: theirs(t, **torch_kwargs),
                   **TOL[dtype])


def check_indices(name, x, kwargs):
    """return_indices=True: same values, and indices equal torch's exactly (int64)."""
    out, indices = getattr(F, name)(x, **kwargs, return_indices=True)
    ref, ref_indices = getattr(TF, name)(torch.from_numpy(x.copy()), **kwargs,
                                         return_indices=True)
    indices = np.asarray(getattr(indices, "data", indices))
    assert indices.dtype == np.int64, f"indices dtype {indices.dtype}, expected int64"
    np.testing.assert_array_equal(indices, ref_indices.numpy(), err_msg="indices")
    np.testing.assert_allclose(np.asarray(out.data), ref.numpy(), **TOL[x.dtype.type])


# ------------------------------------------------------------------------------- max
MAX_CASES = []
for nd in (1, 2, 3):
    for i, (k, s, ceil) in enumerate(itertools.product(KERNELS, STRIDES, (False, True))):
        pads = padding_choices(nd, k)
        MAX_CASES.append(dict(
            nd=nd, kernel_size=k, stride=s, padding=pads[i % len(pads)],
            dilation=1 + (i // 2) % 2, ceil_mode=ceil,
            dtype=(np.float64, np.float32)[(i // 3) % 2], batch=1 + i % 2,
            return_indices=i % 2 == 0))
MAX_CASES += [
    dict(nd=2, kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1),
         ceil_mode=True, dtype=np.float64, batch=2, return_indices=True),
    dict(nd=2, kernel_size=(4, 1), stride=(3, 1), padding=(2, 0), dilation=1,
         ceil_mode=False, dtype=np.float32, batch=1, return_indices=True),
    dict(nd=3, kernel_size=(3, 2, 1), stride=(2, 1, 1), padding=(1, 1, 0), dilation=(1, 2, 1),
         ceil_mode=True, dtype=np.float64, batch=2, return_indices=True),
    dict(nd=1, kernel_size=3, stride=2, padding=1, dilation=3, ceil_mode=True,
         dtype=np.float64, batch=1, return_indices=True),
]


def max_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    return (f"{c['nd']}d-{dt}-N{c['batch']}-k{fmt(c['kernel_size'])}-s{fmt(c['stride'])}"
            f"-p{fmt(c['padding'])}-d{fmt(c['dilation'])}-ceil{int(c['ceil_mode'])}"
            f"-idx{int(c['return_indices'])}")


@pytest.mark.parametrize("c", MAX_CASES, ids=max_id)
def test_max_pool_matches_torch(c):
    nd = c["nd"]
    x = data((c["batch"], 3) + SPATIAL[nd], c["dtype"], seed=zlib.crc32(max_id(c).encode()))
    kwargs = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"],
                  dilation=c["dilation"], ceil_mode=c["ceil_mode"])
    name = f"max_pool{nd}d"
    run_case(name, x, kwargs, dtype=c["dtype"])
    if c["return_indices"]:
        check_indices(name, x, kwargs)


# ------------------------------------------------------------------------------- avg
AVG_CASES = []
for nd in (1, 2, 3):
    for i, (k, s, ceil, include) in enumerate(
            itertools.product(KERNELS, STRIDES, (False, True), (True, False))):
        pads = padding_choices(nd, k)
        divisor = None
        if nd > 1 and i % 5 == 0:
            divisor = (3, 7)[(i // 5) % 2]
        AVG_CASES.append(dict(
            nd=nd, kernel_size=k, stride=s, padding=pads[(i // 2) % len(pads)], ceil_mode=ceil,
            count_include_pad=include, divisor_override=divisor,
            dtype=(np.float64, np.float32)[(i // 3) % 2], batch=1 + (i // 4) % 2))
AVG_CASES += [
    dict(nd=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True,
         count_include_pad=False, divisor_override=None, dtype=np.float64, batch=2),
    dict(nd=3, kernel_size=(2, 3, 1), stride=(1, 3, 2), padding=(1, 1, 0), ceil_mode=True,
         count_include_pad=True, divisor_override=None, dtype=np.float64, batch=1),
]


def avg_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    return (f"{c['nd']}d-{dt}-N{c['batch']}-k{fmt(c['kernel_size'])}-s{fmt(c['stride'])}"
            f"-p{fmt(c['padding'])}-ceil{int(c['ceil_mode'])}-cip{int(c['count_include_pad'])}"
            f"-div{c['divisor_override']}")


@pytest.mark.parametrize("c", AVG_CASES, ids=avg_id)
def test_avg_pool_matches_torch(c):
    nd = c["nd"]
    x = data((c["batch"], 2) + SPATIAL[nd], c["dtype"], seed=zlib.crc32(avg_id(c).encode()))
    kwargs = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"],
                  ceil_mode=c["ceil_mode"], count_include_pad=c["count_include_pad"])
    if c["divisor_override"] is not None:
        kwargs["divisor_override"] = c["divisor_override"]
    run_case(f"avg_pool{nd}d", x, kwargs, dtype=c["dtype"])


# -------------------------------------------------------------------------------- lp
LP_CASES = []
for nd in (1, 2, 3):
    for i, (k, s, ceil) in enumerate(itertools.product(KERNELS, STRIDES, (False, True))):
        norm = (1, 2, 3, 1.5)[i % 4]
        LP_CASES.append(dict(nd=nd, norm_type=norm, kernel_size=k, stride=s, ceil_mode=ceil,
                             dtype=(np.float64, np.float32)[(i // 4) % 2], batch=1 + (i // 2) % 2,
                             positive=not (norm == 2 and i % 8 == 1)))
LP_CASES += [
    dict(nd=2, norm_type=2, kernel_size=(2, 3), stride=(1, 2), ceil_mode=True,
         dtype=np.float64, batch=2, positive=False),
    dict(nd=3, norm_type=3, kernel_size=(1, 2, 3), stride=None, ceil_mode=False,
         dtype=np.float64, batch=1, positive=True),
]


def lp_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    sign = "pos" if c["positive"] else "signed"
    return (f"{c['nd']}d-{dt}-N{c['batch']}-p{c['norm_type']}-k{fmt(c['kernel_size'])}"
            f"-s{fmt(c['stride'])}-ceil{int(c['ceil_mode'])}-{sign}")


@pytest.mark.parametrize("c", LP_CASES, ids=lp_id)
def test_lp_pool_matches_torch(c):
    nd = c["nd"]
    x = data((c["batch"], 2) + SPATIAL[nd], c["dtype"], seed=zlib.crc32(lp_id(c).encode()),
             positive=c["positive"])
    kwargs = dict(norm_type=c["norm_type"], kernel_size=c["kernel_size"], stride=c["stride"],
                  ceil_mode=c["ceil_mode"])
    run_case(f"lp_pool{nd}d", x, kwargs, dtype=c["dtype"])


# ---------------------------------------------------------------------------- adaptive
ADAPTIVE_SIZES = {
    1: [3, 4, 11, 1, 16, (5,)],                                # 11: non-divisible, larger
    2: [2, (3, 4), (4, 5), (1, 1), (12, 3), (None, 3), (5, None), (13, 11)],
    3: [2, (3, 2, 5), (None, 4, None), (8, 1, 7), (1, None, 2)],
}
ADAPTIVE_CASES = [
    dict(kind=kind, nd=nd, output_size=size, dtype=dtype)
    for kind in ("max", "avg")
    for nd in (1, 2, 3)
    for size in ADAPTIVE_SIZES[nd]
    for dtype in (np.float64, np.float32)
]


def adaptive_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    return f"{c['kind']}-{c['nd']}d-{dt}-out{fmt(c['output_size'])}"


@pytest.mark.parametrize("c", ADAPTIVE_CASES, ids=adaptive_id)
def test_adaptive_pool_matches_torch(c):
    nd = c["nd"]
    batch = 1 if c["dtype"] is np.float32 else 2
    x = data((batch, 3) + SPATIAL[nd], c["dtype"], seed=zlib.crc32(adaptive_id(c).encode()))
    name = f"adaptive_{c['kind']}_pool{nd}d"
    kwargs = dict(output_size=c["output_size"])
    run_case(name, x, kwargs, dtype=c["dtype"])
    if c["kind"] == "max":
        check_indices(name, x, kwargs)


def test_max_pool_float32_in_float32_out_and_indices_are_per_plane():
    """Indices are flat positions inside each (H, W) plane, not into the whole tensor."""
    x = data((2, 3, 6, 4), np.float32, seed=1)
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    assert out.dtype == np.float32
    indices = np.asarray(getattr(indices, "data", indices))
    assert indices.min() >= 0 and indices.max() < 6 * 4
    _, ref_indices = TF.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(indices, ref_indices.numpy())
