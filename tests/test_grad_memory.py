"""A leaf's ``.grad`` is its own memory: never shared with another leaf's gradient or with
the gradient the caller passed, so in-place changes (clipping, scaling) touch one gradient
only; a gradient the backward pass has just made becomes ``.grad`` without a copy, in the
memory order it was made in (channels-last stays channels-last)."""

from __future__ import annotations

import numpy as np

import convnet
import convnet.functional as F


def test_one_upstream_gradient_reaching_two_leaves_gives_two_arrays():
    a = convnet.tensor(np.ones(3), requires_grad=True)
    b = convnet.tensor(np.ones(3), requires_grad=True)
    upstream = np.arange(3.0)
    (a + b).backward(upstream)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, upstream) and not np.shares_memory(b.grad, upstream)
    a.grad *= 0.5                                   # in place, as gradient clipping does
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(upstream, [0.0, 1.0, 2.0])


def test_the_callers_gradient_and_views_of_it_are_copied():
    upstream = np.arange(6.0).reshape(2, 3)
    x = convnet.tensor(np.ones((2, 3)), requires_grad=True)
    x.backward(upstream)
    assert not np.shares_memory(x.grad, upstream)
    y = convnet.tensor(np.ones(3), requires_grad=True)
    y[None].backward(upstream[:1])                  # a reshape's gradient is a view
    assert not np.shares_memory(y.grad, upstream)
    np.testing.assert_array_equal(y.grad, [0.0, 1.0, 2.0])


def test_a_fresh_channels_last_gradient_is_kept_as_made():
    rng = np.random.default_rng(0)
    nhwc = np.ascontiguousarray(rng.standard_normal((2, 5, 6, 4)))
    x = convnet.from_numpy(nhwc.transpose(0, 3, 1, 2)).requires_grad_(True)
    w = convnet.tensor(rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1, groups=4)
    dy = np.ascontiguousarray(rng.standard_normal((2, 5, 6, 4))).transpose(0, 3, 1, 2)
    y.backward(dy)
    assert x.grad.shape == (2, 4, 5, 6)
    assert x.grad.transpose(0, 2, 3, 1).flags.c_contiguous       # still channels-last
    accumulated = x.grad.copy()
    y2 = F.conv2d(x, w, padding=1, groups=4)
    y2.backward(dy)
    np.testing.assert_allclose(x.grad, 2 * accumulated, rtol=1e-12)


def _fresh_gradient_op(x, make):
    """An operation whose backward returns ``make(grad)`` and notes the address it made."""
    from convnet.tensor import record
    made = {}

    def backward(grad):
        result = make(grad)
        made["address"] = result.__array_interface__["data"][0]
        return (result,)
    return record(x.data * 1.0, (x,), backward), made


def test_fresh_gradients_become_grad_without_a_copy():
    x = convnet.tensor(np.ones((2, 3, 4, 5), np.float32), requires_grad=True)
    # an array that owns its memory, and the channels-last view of a buffer nobody else holds
    for make in (lambda g: g * 2.0,
                 lambda g: np.moveaxis(np.ascontiguousarray(np.moveaxis(g, 1, -1)), -1, 1)):
        x.grad = None
        y, made = _fresh_gradient_op(x, make)
        y.backward(np.ones((2, 3, 4, 5), np.float32))
        assert x.grad.__array_interface__["data"][0] == made["address"]


def test_a_gradient_viewing_a_larger_or_shared_buffer_is_copied():
    x = convnet.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    kept = []
    for make in (lambda g: np.ones((4, 3), np.float32)[:2],           # part of a larger buffer
                 lambda g: kept.append(np.ones((3, 2), np.float32)) or kept[-1].T):   # shared
        x.grad = None
        y, made = _fresh_gradient_op(x, make)
        y.backward(np.ones((2, 3), np.float32))
        assert x.grad.__array_interface__["data"][0] != made["address"]
        x.grad[...] = 5.0                             # an in-place change reaches no one else
    assert (kept[0] == 1.0).all()
