"""NaN and infinities through max pooling (every path), adaptive max pooling, max-out and
ReLU behave as in PyTorch: the same values (NaN where torch has NaN) and the same gradients.

torch's max pooling and adaptive max pooling take the *last* NaN of a window as its winner;
``torch.max(dim)`` (the oracle for max-out, which torch lacks) takes the first.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import pool as pool_ops
from convnet.ops.pool import reference

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


def poisoned(shape, seed=0, channels_last=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 7, replace=False)] = np.nan
    flat[rng.choice(flat.size, flat.size // 11, replace=False)] = np.inf
    flat[rng.choice(flat.size, flat.size // 13, replace=False)] = -np.inf
    x[0, 0, :2, :2] = np.nan            # a window of NaN only
    x[-1, -1, -2:, -2:] = -np.inf       # a window of -inf only
    if channels_last:
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    return x


def both(op_convnet, op_torch, x, seed=1, exact=True, exact_gradient=None):
    """Values and input gradients equal torch's, NaN for NaN: exactly for ops that select,
    to float32 rounding (rtol and atol 1e-6: 1 - tanh(x)**2 cancels for large x) where the
    two libraries compute or sum in other orders (``exact_gradient=False``: overlapping
    pooling windows add several gradients into one cell, in each library's own order)."""
    cx = convnet.tensor(x, requires_grad=True)
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    cy, ty = op_convnet(cx), op_torch(tx)
    upstream = np.random.default_rng(seed).standard_normal(ty.shape).astype(np.float32)
    cy.backward(upstream)
    ty.backward(torch.tensor(upstream))
    check = np.testing.assert_array_equal if exact else \
        (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6))
    check(cy.data, ty.detach().numpy())   # NaN == NaN in both checks
    if exact_gradient is not None and exact_gradient != exact:
        check = np.testing.assert_array_equal if exact_gradient else \
            (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6))
    check(cx.grad, tx.grad.numpy())


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_max_pool2d_kernels(kernel, stride, padding, channels_last):
    x = poisoned((2, 3, 8, 8), channels_last=channels_last)
    both(lambda a: F.max_pool2d(a, kernel, stride, padding),
         lambda a: torch.nn.functional.max_pool2d(a, kernel, stride, padding), x,
         exact_gradient=stride >= kernel)


@pytest.mark.parametrize("dims", [1, 3])
def test_max_pool_1d_3d(dims):
    shape = (2, 3) + (6,) * dims
    x = poisoned((2, 3, 6, 6), seed=2).reshape(2, 3, 36)[..., :6 ** dims].reshape(shape) \
        if dims == 1 else np.repeat(poisoned((2, 3, 6, 6), seed=2)[:, :, None], 6, axis=2)
    ours = {1: F.max_pool1d, 3: F.max_pool3d}[dims]
    theirs = {1: torch.nn.functional.max_pool1d, 3: torch.nn.functional.max_pool3d}[dims]
    both(lambda a: ours(a, 2, 2), lambda a: theirs(a, 2, 2), x)


@pytest.mark.parametrize("window", [[1, np.nan, 3, 2], [np.nan, 1, 3, 2], [np.nan, 1, np.nan, 2],
                                    [np.inf, np.nan, -np.inf, 0]])
def test_the_numpy_path_agrees_with_torch_on_one_window(window):
    x = np.array(window, np.float32).reshape(1, 1, 2, 2)
    spec = pool_ops.pool_spec(x.shape, x.dtype, 2, 2, 0, 1, False)
    values, winner = reference.max_forward(x, spec)
    expected, index = torch.nn.functional.max_pool2d(torch.tensor(x), 2, 2, return_indices=True)
    np.testing.assert_array_equal(values, expected.numpy())
    assert int(winner[0, 0, 0, 0]) == int(index[0, 0, 0, 0])


@pytest.mark.parametrize("out", [(2, 2), (3, 3), (1, 1)])
def test_adaptive_max_pool2d(out):
    both(lambda a: F.adaptive_max_pool2d(a, out),  # overlapping windows sum their gradients
         lambda a: torch.nn.functional.adaptive_max_pool2d(a, out), poisoned((2, 3, 7, 7), 3),
         exact=False)


def test_maxout_takes_the_first_nan_as_torch_max():
    x = poisoned((2, 6, 5, 5), 4)
    both(lambda a: F.maxout(a, 3),
         lambda a: a.reshape(2, 2, 3, 5, 5).max(dim=2).values, x)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("method", [False, True])
def test_activations(activation, method):
    x = poisoned((2, 3, 4, 4), 5)
    ours = (lambda a: getattr(a, activation)()) if method else getattr(F, activation)
    both(ours, getattr(torch, activation), x, exact=activation == "relu")
