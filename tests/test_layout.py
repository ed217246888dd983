"""convnet.ops.layout: 64-byte-aligned arrays in the memory order asked for, and the layers
whose outputs (the next layers' inputs) and input gradients come from them."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops.layout import (ALIGNMENT, SMALL, aligned_contiguous, aligned_empty,
                                aligned_empty_like, to_first, to_last)
from convnet.ops.onednn import library as onednn_library


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
@pytest.mark.parametrize("shape", [(1024,), (3, 700), (2, 17, 9, 13), (5, 1, 1, 1, 4096)])
def test_aligned_empty_starts_on_a_cache_line(shape, dtype):
    for _ in range(5):                      # whatever offsets NumPy's allocations have
        array = aligned_empty(shape, dtype)
        assert array.shape == shape and array.dtype == dtype and array.flags.c_contiguous
        assert address(array) % ALIGNMENT == 0 or array.nbytes < SMALL
        assert array.flags.writeable
        array[...] = 1                      # the whole extent is usable
        assert array.sum() == array.size


def test_small_arrays_are_plain_numpy_arrays():
    array = aligned_empty((3, 4), np.float32)
    assert array.nbytes < SMALL and array.flags.owndata and array.shape == (3, 4)


@pytest.mark.parametrize("layout", ["row-major", "channels-last", "fortran", "permuted"])
def test_aligned_empty_like_keeps_the_memory_order(layout):
    base = np.zeros((4, 16, 9, 7), np.float32)
    x = {"row-major": base, "channels-last": to_first(np.zeros((4, 9, 7, 16), np.float32)),
         "fortran": np.asfortranarray(base), "permuted": base.transpose(2, 0, 3, 1)}[layout]
    like, reference = aligned_empty_like(x), np.empty_like(x)
    assert like.shape == x.shape and address(like) % ALIGNMENT == 0
    assert like.strides == reference.strides
    assert aligned_empty_like(x, np.float64).strides == np.empty_like(x, np.float64).strides


def test_aligned_contiguous_copies_only_what_is_not_contiguous():
    x = np.arange(4 * 16 * 9 * 7, dtype=np.float32).reshape(4, 16, 9, 7)
    assert aligned_contiguous(x) is x
    view = to_last(x)
    copy = aligned_contiguous(view)
    assert copy.flags.c_contiguous and address(copy) % ALIGNMENT == 0
    np.testing.assert_array_equal(copy, view)


def layer_cases():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    cases = {"relu": lambda t: F.relu(t)}
    if onednn_library.available():
        cases.update({
            "conv2d": lambda t: F.conv2d(t, w, padding=1),
            "depthwise": lambda t: F.conv2d(t, w[:, :1], padding=1, groups=16),
            "max_pool2d": lambda t: F.max_pool2d(t, 2),
            "batch_norm": lambda t: F.batch_norm(t, None, None, training=True),
            "silu": lambda t: F.silu(t),
        })
    return x, cases


@pytest.mark.parametrize("name", sorted(layer_cases()[1]))
def test_layer_outputs_and_input_gradients_are_aligned(name):
    """The NumPy input is wherever NumPy put it (16 bytes); what the layer makes is aligned,
    and a layer's output in channels-last memory gives the next layer an aligned input."""
    x, cases = layer_cases()
    for source in (x, to_first(np.ascontiguousarray(to_last(x)))):
        t = convnet.from_numpy(source[:, :, :, :]).requires_grad_(True)
        y = cases[name](t)
        y.backward(np.ones(y.shape, np.float32))
        assert address(y.data) % ALIGNMENT == 0, f"{name}: output"
        assert address(t.grad) % ALIGNMENT == 0, f"{name}: input gradient"


def test_constant_padding_keeps_the_memory_order():
    """F.pad of a channels-last tensor (ResNet's option-A shortcut pads channels) stays
    channels-last, so the residual sum that follows adds two arrays of one layout."""
    x = np.random.default_rng(3).standard_normal((4, 16, 12, 12)).astype(np.float32)
    channels_last = to_first(np.ascontiguousarray(to_last(x)))[:, :, ::2, ::2]
    y = F.pad(convnet.from_numpy(channels_last), (0, 0, 0, 0, 8, 8))
    np.testing.assert_array_equal(y.data, np.pad(channels_last, ((0, 0), (8, 8), (0, 0), (0, 0))))
    assert to_last(y.data).flags.c_contiguous
