"""Autograd tests for convnet.Tensor (contract: /work/notes/api.md, section "Tensor").

PyTorch (CPU) is the oracle for values and gradients (via ``torch_compare.compare``);
float64 finite differences (``gradcheck.check_gradients``) cover a few composite
expressions.  Expectations are never computed with convnet itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnet
from gradcheck import check_gradients
from torch_compare import compare, tolerance, to_torch

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed: it is the oracle for this test")

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


# ----------------------------------------------------------------------------- data
def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def positive(*shape, seed=0):
    """Values in [0.5, 2): safe for log, sqrt, fractional powers."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def nonzero(*shape, seed=0):
    """|values| in [0.5, 2) with random signs: safe for division, abs, relu kinks."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def tolerances(dtype):
    return tolerance(dtype)


# ------------------------------------------------------------------ binary arithmetic
BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((1, 4), (3, 1)),
    ((2, 3, 4), (3, 1)),
    ((3, 1), (2, 3, 4)),
    ((1, 3, 1), (2, 1, 4)),
    ((), (3, 4)),
    ((3, 4), ()),
    ((2, 3, 4), (1,)),
]


@needs_torch
@DTYPES
@pytest.mark.parametrize("op", list(BINARY_OPS), ids=list(BINARY_OPS))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_binary_broadcasting(op, shapes, dtype):
    a = nonzero(*shapes[0], seed=1)
    b = nonzero(*shapes[1], seed=2)
    compare(BINARY_OPS[op], a, b, dtype=dtype)


@needs_torch
@DTYPES
@pytest.mark.parametrize("op", list(BINARY_OPS), ids=list(BINARY_OPS))
def test_binary_with_constant_tensor(op, dtype):
    """Only the requires_grad input gets a gradient; the other keeps grad None."""
    a = nonzero(3, 4, seed=3)
    b = nonzero(4, seed=4)
    compare(BINARY_OPS[op], a, b, dtype=dtype, requires_grad=[True, False])
    compare(BINARY_OPS[op], a, b, dtype=dtype, requires_grad=[False, True])


SCALAR_EXPRESSIONS = {
    "s+t": lambda t: 2.5 + t,
    "t+s": lambda t: t + 2.5,
    "s-t": lambda t: 2.0 - t,
    "t-s": lambda t: t - 2.0,
    "s*t": lambda t: 3.0 * t,
    "t*s": lambda t: t * 3.0,
    "s/t": lambda t: 2.0 / t,
    "t/s": lambda t: t / 4.0,
    "int+t": lambda t: 1 + t,
    "int-t": lambda t: 1 - t,
    "t*int": lambda t: t * 2,
    "int/t": lambda t: 3 / t,
    "t/int": lambda t: t / 2,
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(SCALAR_EXPRESSIONS))
def test_python_scalar_either_side(name, dtype):
    """Python scalars do not change the tensor's dtype (float32 stays float32)."""
    compare(SCALAR_EXPRESSIONS[name], nonzero(3, 4, seed=5), dtype=dtype)


ARRAY_EXPRESSIONS = {
    "arr+t": (lambda arr: lambda t: arr + t),
    "t+arr": (lambda arr: lambda t: t + arr),
    "arr-t": (lambda arr: lambda t: arr - t),
    "t-arr": (lambda arr: lambda t: t - arr),
    "arr*t": (lambda arr: lambda t: arr * t),
    "t*arr": (lambda arr: lambda t: t * arr),
    "arr/t": (lambda arr: lambda t: arr / t),
    "t/arr": (lambda arr: lambda t: t / arr),
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(ARRAY_EXPRESSIONS))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)),
                                    ((2, 1, 4), (3, 1))],
                         ids=lambda s: f"arr{s[0]}-t{s[1]}")
def test_ndarray_either_side(name, shapes, dtype):
    """ndarray on the left or right gives a Tensor (not an object array) with the right grad."""
    arr = nonzero(*shapes[0], seed=6).astype(dtype)
    make = ARRAY_EXPRESSIONS[name]
    out, _ = compare(make(arr), nonzero(*shapes[1], seed=7), dtype=dtype,
                     torch_fn=make(to_torch(arr)))
    assert np.asarray(out.data).dtype == dtype


@needs_torch
@DTYPES
def test_unary_minus(dtype):
    compare(lambda t: -t, randn(3, 4, seed=8), dtype=dtype)
    compare(lambda a, b: -(a * b) + a, randn(3, 4, seed=9), randn(4, seed=10), dtype=dtype)


@needs_torch
@DTYPES
@pytest.mark.parametrize("exponent", [2, 2.0, 0.5, 3, -1.0, 1.5])
def test_pow_scalar(exponent, dtype):
    data = positive(3, 4, seed=11) if exponent != int(exponent) or exponent < 0 else nonzero(3, 4, seed=11)
    compare(lambda t: t ** exponent, data, dtype=dtype)


# --------------------------------------------------------------------------- matmul
MATMUL_SHAPES = [
    ((3, 4), (4, 5)),          # 2D @ 2D
    ((2, 3, 4), (2, 4, 5)),    # batched 3D @ 3D
    ((2, 3, 4), (4, 5)),       # 3D @ 2D (broadcast the matrix)
    ((3, 4), (2, 4, 5)),       # 2D @ 3D (broadcast the matrix)
    ((4,), (4, 5)),            # 1D @ 2D
    ((3, 4), (4,)),            # 2D @ 1D
    ((4,), (4,)),              # 1D @ 1D -> scalar
    ((2, 3, 4), (4,)),         # 3D @ 1D
    ((4,), (2, 4, 5)),         # 1D @ 3D
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast against each other
]


@needs_torch
@DTYPES
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul(shapes, dtype):
    compare(lambda a, b: a @ b, randn(*shapes[0], seed=12), randn(*shapes[1], seed=13), dtype=dtype)


@needs_torch
@DTYPES
def test_matmul_with_ndarray_operand(dtype):
    w = randn(4, 5, seed=14).astype(dtype)
    compare(lambda t: t @ w, randn(3, 4, seed=15), dtype=dtype,
            torch_fn=lambda t: t @ to_torch(w))
    v = randn(2, 3, seed=16).astype(dtype)
    compare(lambda t: v @ t, randn(3, 4, seed=17), dtype=dtype,
            torch_fn=lambda t: to_torch(v) @ t)


# ------------------------------------------------------------------------ reductions
REDUCE_DIMS = [None, 0, 1, 2, -1, (0, 2), (2, 0), (1,), (0, 1, 2)]


@needs_torch
@DTYPES
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", REDUCE_DIMS, ids=str)
@pytest.mark.parametrize("method", ["sum", "mean"])
def test_sum_mean(method, dim, keepdim, dtype):
    compare(lambda t: getattr(t, method)(dim=dim, keepdim=keepdim), randn(2, 3, 4, seed=18),
            dtype=dtype)


@needs_torch
@DTYPES
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", REDUCE_DIMS, ids=str)
def test_max_distinct(dim, keepdim, dtype):
    tdim = () if dim is None else dim
    compare(lambda t: t.amax(dim=dim, keepdim=keepdim), randn(2, 3, 4, seed=19), dtype=dtype,
            torch_fn=lambda t: torch.amax(t, dim=tdim, keepdim=keepdim))


@needs_torch
@DTYPES
@pytest.mark.parametrize("method", ["sum", "mean", "max"])
def test_reductions_without_arguments(method, dtype):
    torch_fn = (lambda t: torch.amax(t, dim=())) if method == "max" else (lambda t: getattr(t, method)())
    out, _ = compare(lambda t: getattr(t, method)(), randn(3, 4, seed=20), dtype=dtype,
                     torch_fn=torch_fn)
    assert tuple(out.shape) == ()


TIES = np.array([[[1.0, 3.0, 3.0, 0.0],
                  [2.0, 2.0, 2.0, 2.0],
                  [5.0, -1.0, 5.0, 5.0]],
                 [[3.0, 3.0, -2.0, 1.0],
                  [0.0, 4.0, 4.0, 4.0],
                  [5.0, 5.0, 1.0, 2.0]]])


@needs_torch
@DTYPES
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, (1, 2), (0, 2)], ids=str)
def test_max_ties_split_evenly(dim, keepdim, dtype):
    """Ties share the gradient equally, like torch.amax (not all-to-one like torch.max(dim))."""
    tdim = () if dim is None else dim
    compare(lambda t: t.amax(dim=dim, keepdim=keepdim), TIES, dtype=dtype,
            torch_fn=lambda t: torch.amax(t, dim=tdim, keepdim=keepdim))


def test_max_ties_split_evenly_explicit():
    """Torch-free check of the tie rule on a tiny case."""
    t = convnet.tensor(np.array([1.0, 3.0, 3.0, 3.0, 0.0]), requires_grad=True)
    t.max().backward()
    np.testing.assert_allclose(t.grad, [0.0, 1 / 3, 1 / 3, 1 / 3, 0.0], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- shape ops
SHAPE_OPS = {
    "reshape(6,4)": (lambda t: t.reshape(6, 4), None),
    "reshape((4,6))": (lambda t: t.reshape((4, 6)), None),
    "reshape(-1)": (lambda t: t.reshape(-1), None),
    "reshape(2,-1,3)": (lambda t: t.reshape(2, -1, 3), None),
    "reshape(24,1)": (lambda t: t.reshape(24, 1), None),
    "transpose(0,1)": (lambda t: t.transpose(0, 1), None),
    "transpose(0,2)": (lambda t: t.transpose(0, 2), None),
    "transpose(-1,-2)": (lambda t: t.transpose(-1, -2), None),
    "transpose(1,1)": (lambda t: t.transpose(1, 1), None),
    "permute(2,0,1)": (lambda t: t.permute(2, 0, 1), None),
    "permute(1,2,0)": (lambda t: t.permute(1, 2, 0), None),
    "T": (lambda t: t.T, lambda t: t.permute(2, 1, 0)),
    "flatten()": (lambda t: t.flatten(), None),
    "flatten(1)": (lambda t: t.flatten(1), None),
    "flatten(0,1)": (lambda t: t.flatten(0, 1), None),
    "flatten(start_dim=1,end_dim=2)": (lambda t: t.flatten(start_dim=1, end_dim=2), None),
    "flatten(-2)": (lambda t: t.flatten(-2), None),
    "reshape-then-mul": (lambda t: t.transpose(0, 2).reshape(4, 6) * t.reshape(4, 6), None),
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops(name, dtype):
    fn, torch_fn = SHAPE_OPS[name]
    compare(fn, randn(2, 3, 4, seed=21), dtype=dtype, torch_fn=torch_fn)


@needs_torch
@DTYPES
def test_T_on_2d(dtype):
    compare(lambda a, b: a.T @ b, randn(4, 3, seed=22), randn(4, 5, seed=23), dtype=dtype)


# ----------------------------------------------------------------------- indexing
def _torch_index(index):
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


_MASK = np.random.default_rng(99).random((4, 5, 3)) > 0.5

INDEXES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "step slice": (slice(None), slice(1, 5, 2)),
    "ellipsis": (Ellipsis, 0),
    "mixed": (slice(None, None, 2), slice(-2, None), slice(1, None)),
    "int-slice-int": (1, slice(None), 2),
    "None": (slice(None), None),
    "int array repeated": np.array([0, 2, 0, 3, 0]),
    "2d int array repeated": np.array([[1, 1], [0, 1]]),
    "int array on dim1": (slice(None), np.array([4, 4, 1])),
    "two int arrays repeated pairs": (np.array([0, 0, 1, 0]), np.array([2, 2, 2, 2])),
    "negative int array": np.array([-1, -1, 0]),
    "bool mask full": _MASK,
    "bool mask dim0": np.array([True, False, True, True]),
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(INDEXES))
def test_indexing(name, dtype):
    index = INDEXES[name]
    compare(lambda t: t[index], randn(4, 5, 3, seed=24), dtype=dtype,
            torch_fn=lambda t: t[_torch_index(index)])


def test_repeated_index_accumulates_explicit():
    """Torch-free: each repeat of an index adds its upstream gradient."""
    t = convnet.tensor(np.zeros(4), requires_grad=True)
    t[np.array([0, 2, 0, 0])].backward(np.array([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_allclose(t.grad, [1101.0, 0.0, 10.0, 0.0], rtol=1e-12, atol=1e-12)


# -------------------------------------------------------------------- elementwise
ELEMENTWISE = {
    "exp": (lambda t: t.exp(), randn),
    "log": (lambda t: t.log(), positive),
    "relu": (lambda t: t.relu(), nonzero),
    "tanh": (lambda t: t.tanh(), randn),
    "sigmoid": (lambda t: t.sigmoid(), randn),
    "abs": (lambda t: t.abs(), nonzero),
    "sqrt": (lambda t: t.sqrt(), positive),
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise(name, dtype):
    fn, make = ELEMENTWISE[name]
    compare(fn, make(3, 4, seed=25), dtype=dtype)


@needs_torch
def test_sigmoid_large_magnitudes_are_finite():
    """sigmoid saturates to exactly 0/1 (no nan) for large |x|, with zero gradient there."""
    x = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    compare(lambda t: t.sigmoid(), x, dtype=np.float64)


# ------------------------------------------------------------------ graph semantics
@needs_torch
@DTYPES
def test_gradient_accumulates_across_backward_calls(dtype):
    x = randn(3, 4, seed=26).astype(dtype)
    w = randn(4, seed=27).astype(dtype)

    a = convnet.tensor(x.copy(), requires_grad=True)
    (a * w).sum().backward()
    (a.exp() * a).sum().backward()

    ta = to_torch(x, requires_grad=True)
    (ta * to_torch(w)).sum().backward()
    (ta.exp() * ta).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), **tolerances(dtype))


def test_accumulation_does_not_write_into_upstream_array():
    """The first backward may store the upstream array; the second must not add into it."""
    a = convnet.tensor(np.zeros((2, 3)), requires_grad=True)
    g1 = np.ones(6)
    a.reshape(6).backward(g1)
    a.reshape(6).backward(np.full(6, 2.0))
    np.testing.assert_array_equal(g1, np.ones(6))
    np.testing.assert_allclose(a.grad, np.full((2, 3), 3.0), rtol=1e-12, atol=1e-12)


DIAMONDS = {
    "a+a": lambda a, b: a + a,
    "a*a": lambda a, b: a * a,
    "a@a.T": lambda a, b: a @ a.transpose(0, 1),
    "shared intermediate": lambda a, b: (lambda y: y * y + y.tanh() * a - y)(a * b),
    "broadcast reuse": lambda a, b: a + a.sum(dim=0) * b,
    "three uses": lambda a, b: (a * b).sum(dim=1, keepdim=True) * a + a.exp() / (b * b + 1.0),
}


@needs_torch
@DTYPES
@pytest.mark.parametrize("name", list(DIAMONDS))
def test_tensor_used_twice_gets_summed_gradient(name, dtype):
    compare(DIAMONDS[name], randn(4, 4, seed=28), randn(4, seed=29), dtype=dtype)


def test_used_twice_explicit():
    """Torch-free: d(a*a + a)/da = 2a + 1."""
    x = np.array([1.0, -2.0, 3.0])
    a = convnet.tensor(x, requires_grad=True)
    (a * a + a).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * x + 1, rtol=1e-12, atol=1e-12)


def test_only_leaves_keep_grad():
    a = convnet.tensor(randn(3, seed=30), requires_grad=True)
    mid = a * 2.0
    mid.sum().backward()
    assert mid.grad is None
    np.testing.assert_allclose(a.grad, np.full(3, 2.0), rtol=1e-12, atol=1e-12)


def test_requires_grad_propagation():
    a = convnet.tensor(randn(3, seed=31), requires_grad=True)
    b = convnet.tensor(randn(3, seed=32))
    assert a.requires_grad is True
    assert b.requires_grad is False
    assert (a * b).requires_grad is True
    assert (b * 2.0).requires_grad is False
    assert (b + b).exp().requires_grad is False
    assert b.grad is None and a.grad is None


def test_no_grad_records_nothing():
    a = convnet.tensor(randn(3, 4, seed=33), requires_grad=True)
    with convnet.no_grad():
        b = (a * 2.0 + 1.0).exp()
        c = (a @ a.transpose(0, 1)).sum()
        assert b.requires_grad is False
        assert c.requires_grad is False
    with pytest.raises((RuntimeError, ValueError)):
        c.backward()
    with pytest.raises((RuntimeError, ValueError)):
        b.sum().backward()
    assert a.grad is None
    # recording resumes after the block
    d = (a * 3.0).sum()
    assert d.requires_grad is True
    d.backward()
    np.testing.assert_allclose(a.grad, np.full((3, 4), 3.0), rtol=1e-12, atol=1e-12)


def test_no_grad_restored_after_exception():
    a = convnet.tensor(randn(3, seed=34), requires_grad=True)
    with pytest.raises(ZeroDivisionError):
        with convnet.no_grad():
            1 / 0
    assert (a * 2.0).requires_grad is True


def test_backward_without_grad_on_non_scalar_raises():
    a = convnet.tensor(randn(3, 4, seed=35), requires_grad=True)
    with pytest.raises((RuntimeError, ValueError), match=r"(?i)scalar|element|grad"):
        (a * 2.0).backward()
    assert a.grad is None


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=str)
def test_backward_without_grad_on_one_element_output(shape):
    x = randn(2, 3, seed=36)
    a = convnet.tensor(x, requires_grad=True)
    out = (a * a).sum().reshape(*shape) if shape else (a * a).sum()
    out.backward()
    np.testing.assert_allclose(a.grad, 2 * x, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- dtypes
def test_default_dtype_float32_for_lists():
    # as torch.tensor: Python floats float32, Python ints int64
    assert convnet.tensor([1.0, 2.0, 3.0]).dtype == np.float32
    assert convnet.tensor([[1, 2], [3, 4]]).dtype == np.int64
    assert convnet.tensor(3).dtype == np.int64
    assert convnet.tensor(2.5).dtype == np.float32
    assert convnet.Tensor([1.0, 2.0]).dtype == np.float32
    assert convnet.tensor([1.0, 2.0]).data.dtype == np.float32


def test_float64_preserved():
    x = randn(2, 3, seed=37)
    t = convnet.tensor(x, requires_grad=True)
    assert t.dtype == np.float64
    assert convnet.Tensor(x).dtype == np.float64
    out = (t * 2.0 + 1).exp().sum(dim=1)
    assert out.dtype == np.float64
    out.backward(np.ones(2))
    assert t.grad.dtype == np.float64


def test_float32_preserved_through_ops():
    t = convnet.tensor(randn(2, 3, seed=38).astype(np.float32), requires_grad=True)
    out = ((t * 2.0 - 1) / 3 + t ** 2).tanh().mean()
    assert out.dtype == np.float32
    out.backward()
    assert t.grad.dtype == np.float32


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.uint8])
def test_integer_arrays_keep_their_dtype(int_dtype):
    t = convnet.tensor(np.arange(6, dtype=int_dtype).reshape(2, 3))
    assert t.dtype == int_dtype
    np.testing.assert_array_equal(t.data, np.arange(6).reshape(2, 3))


def test_attributes():
    x = randn(2, 3, 4, seed=39)
    t = convnet.tensor(x)
    assert tuple(t.shape) == (2, 3, 4)
    assert t.ndim == 3
    assert isinstance(t.data, np.ndarray)
    assert t.grad is None
    assert t.requires_grad is False
    assert convnet.Tensor(x, requires_grad=True).requires_grad is True


# ------------------------------------------------------------- item / numpy / detach
def test_item():
    v = convnet.tensor(np.array(3.5)).item()
    assert isinstance(v, float) and v == 3.5
    v = convnet.tensor(np.array([[-1.25]])).item()
    assert isinstance(v, float) and v == -1.25
    t = convnet.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    assert t.sum().item() == 7.0
    with pytest.raises((ValueError, RuntimeError)):
        t.item()


def test_numpy():
    x = randn(2, 3, seed=40)
    t = convnet.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):    # as torch
        t.numpy()
    n = t.detach().numpy()
    assert isinstance(n, np.ndarray)
    np.testing.assert_array_equal(n, x)
    assert n.dtype == np.float64
    out = (t * 2.0).detach().numpy()
    np.testing.assert_array_equal(out, 2.0 * x)


@needs_torch
def test_detach_stops_gradient():
    x = randn(3, 4, seed=41)
    a = convnet.tensor(x.copy(), requires_grad=True)
    d = a.detach()
    assert isinstance(d, convnet.Tensor)
    assert d.requires_grad is False
    np.testing.assert_array_equal(d.data, x)
    (d * a + a.detach().exp()).sum().backward()

    ta = to_torch(x, requires_grad=True)
    (ta.detach() * ta + ta.detach().exp()).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert d.grad is None


def test_detach_gradient_explicit():
    """Torch-free: d/da sum(detach(a) * a) = a."""
    x = np.array([1.0, -2.0, 0.5])
    a = convnet.tensor(x, requires_grad=True)
    (a.detach() * a).sum().backward()
    np.testing.assert_allclose(a.grad, x, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ finite differences
def _softmax(x):
    e = (x - x.amax(dim=1, keepdim=True)).exp()
    return e / e.sum(dim=1, keepdim=True)


def _logsumexp(x):
    m = x.amax(dim=-1, keepdim=True)
    return (x - m).exp().sum(dim=-1, keepdim=True).log() + m


FD_CASES = {
    "tanh(a@b)*c summed over dim1": (
        lambda a, b, c: ((a @ b).tanh() * c).sum(dim=1),
        [randn(3, 4, seed=42), randn(4, 5, seed=43), randn(5, seed=44)]),
    "sigmoid(a)/(1+exp(b)) mean dim0": (
        lambda a, b: (a.sigmoid() / (1.0 + b.exp())).mean(dim=0),
        [randn(3, 4, seed=45), randn(4, seed=46)]),
    "softmax rows": (lambda x: _softmax(x), [randn(3, 5, seed=47)]),
    "logsumexp": (lambda x: _logsumexp(x), [randn(2, 3, 4, seed=48)]),
    "log(sqrt(x**2+1))*abs(y)": (
        lambda x, y: (x ** 2 + 1.0).sqrt().log() * y.abs(),
        [randn(3, 4, seed=49), nonzero(3, 1, seed=50)]),
    "mlp layer with relu": (
        lambda x, w, b: ((x @ w + b).relu() ** 2).sum(dim=-1, keepdim=True) / 2.0 - x.mean(),
        [randn(2, 3, 4, seed=51), randn(4, 6, seed=52) * 0.5, nonzero(6, seed=53)]),
    "indexing+reshape+permute": (
        lambda x: (x[np.array([0, 2, 0])].permute(2, 0, 1).reshape(4, -1) * 3.0
                   - x[:, 1:].flatten(1).sum(dim=0).max()),
        [randn(3, 4, 4, seed=54)]),
    "batched matmul diamond": (
        lambda a, b: (a @ b) @ (a @ b).transpose(-1, -2) - 2.0 / (a.T.T ** 2 + 1.0).sum(),
        [randn(2, 3, 4, seed=55), randn(2, 4, 3, seed=56)]),
}


@pytest.mark.parametrize("name", list(FD_CASES))
def test_finite_differences(name):
    fn, arrays = FD_CASES[name]
    check_gradients(fn, *arrays)


def test_backward_frees_the_graph_and_retain_graph_keeps_it():
    """As torch: saved arrays go after the first backward; retain_graph=True keeps them and
    a second backward accumulates the same gradients again."""
    import convnet.functional as F
    rng = np.random.default_rng(0)
    x = convnet.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = convnet.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    loss = F.relu(F.conv2d(x, w, padding=1)).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy(), w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first[0], rtol=1e-12)
    np.testing.assert_allclose(w.grad, 2 * first[1], rtol=1e-12)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()

