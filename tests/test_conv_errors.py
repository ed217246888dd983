"""Bad arguments to conv1d/2d/3d: one test per message listed in notes/api.md ("Errors").

Each test asserts the exception type and that the message names the argument AND the
value received (both must appear, in any order).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import convnet
import convnet.functional as F
import convnet.nn as nn


def names(argument: str, *values: str) -> str:
    """A regex (for ``match=``, i.e. re.search) requiring every piece to appear somewhere."""
    parts = [rf"\b{re.escape(argument)}\b"] + [
        rf"(?<![\w.]){re.escape(v)}(?![\w.])" if re.match(r"^-?\d", v) else re.escape(v)
        for v in values]
    return "(?s)^" + "".join(f"(?=.*{p})" for p in parts)


def data(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_names_helper_is_strict():
    assert re.search(names("stride", "0"), "stride: expected >= 1, got 0")
    assert not re.search(names("stride", "0"), "stride: expected >= 1, got 10")
    assert not re.search(names("stride", "0"), "dilation: got 0")
    assert re.search(names("bias", "(3,)"), "bias: expected (4,), got shape (3,)")


def test_channel_mismatch_names_in_channels():
    x = convnet.tensor(data(2, 5, 6, 6))
    w = convnet.tensor(data(4, 2, 3, 3))  # expects 2 * groups = 2 input channels, input has 5
    with pytest.raises(ValueError, match=names("in_channels", "5")):
        F.conv2d(x, w)


def test_groups_not_dividing_out_channels():
    x = data(2, 4, 6, 6)
    w = data(5, 2, 3, 3)  # in_channels 4 = 2 * groups fits, but 5 filters do not split in 2 groups
    with pytest.raises(ValueError, match=names("groups", "2")):
        F.conv2d(x, w, groups=2)


def test_groups_not_dividing_in_channels():
    x = data(1, 7, 9)
    w = data(6, 2, 3)  # 7 input channels cannot form 3 groups
    with pytest.raises(ValueError, match=names("groups", "3")):
        F.conv1d(x, w, groups=3)


def test_kernel_larger_than_input():
    x = data(1, 2, 5, 8)
    w = data(3, 2, 7, 3)
    with pytest.raises(ValueError, match=names("kernel_size", "7")):
        F.conv2d(x, w)


def test_kernel_larger_than_padded_input():
    x = data(1, 1, 4)
    w = data(1, 1, 7)  # padded size 4 + 2 = 6 < 7
    with pytest.raises(ValueError, match=names("kernel_size", "7")):
        F.conv1d(x, w, padding=1)
    # boundary: a kernel exactly as large as the padded input is fine (one output)
    assert F.conv1d(x, data(1, 1, 6), padding=1).shape == (1, 1, 1)


def test_dilated_kernel_larger_than_input():
    x = data(1, 1, 5, 5, 5)
    w = data(1, 1, 3, 3, 3)  # dilation 3: extent 7 > 5
    with pytest.raises(ValueError, match=names("kernel_size")):
        F.conv3d(x, w, dilation=3)


@pytest.mark.parametrize("stride,bad", [(0, "0"), ((1, -1), "-1")])
def test_stride_below_one(stride, bad):
    with pytest.raises(ValueError, match=names("stride", bad)):
        F.conv2d(data(1, 1, 6, 6), data(1, 1, 3, 3), stride=stride)


@pytest.mark.parametrize("dilation,bad", [(0, "0"), ((2, 1, -2), "-2")])
def test_dilation_below_one(dilation, bad):
    with pytest.raises(ValueError, match=names("dilation", bad)):
        F.conv3d(data(1, 1, 6, 6, 6), data(1, 1, 2, 2, 2), dilation=dilation)


@pytest.mark.parametrize("padding,bad", [(-1, "-1"), ((0, -3), "-3"), (((1, 0), (2, -2)), "-2")])
def test_negative_padding(padding, bad):
    with pytest.raises(ValueError, match=names("padding", bad)):
        F.conv2d(data(1, 1, 6, 6), data(1, 1, 3, 3), padding=padding)


def test_unknown_padding_string():
    with pytest.raises(ValueError, match=names("padding", "half")):
        F.conv1d(data(1, 1, 6), data(1, 1, 3), padding="half")


def test_unknown_padding_mode():
    with pytest.raises(ValueError, match=names("padding_mode", "mirror")):
        F.conv2d(data(1, 1, 6, 6), data(1, 1, 3, 3), padding=1, padding_mode="mirror")


def test_reflect_padding_not_smaller_than_input():
    x = data(1, 1, 8, 3)
    with pytest.raises(ValueError, match=names("padding", "3")):
        F.conv2d(x, data(1, 1, 3, 3), padding=(1, 3), padding_mode="reflect")
    # boundary: padding 2 on a size-3 axis is allowed (as in torch)
    assert F.conv2d(x, data(1, 1, 3, 3), padding=(1, 2), padding_mode="reflect").shape == (1, 1, 8, 5)


def test_reflect_same_padding_too_large():
    x = data(1, 1, 2)
    w = data(1, 1, 5)  # 'same' pads 2 before, 2 after; reflect needs < 2
    with pytest.raises(ValueError, match=names("padding", "2")):
        F.conv1d(x, w, padding="same", padding_mode="reflect")


@pytest.mark.parametrize("fn,shape,ndim", [
    (F.conv2d, (1, 2, 5, 5, 5), "5"),   # 5-D input to conv2d
    (F.conv1d, (1, 2, 4, 4), "4"),      # 4-D input to conv1d
    (F.conv3d, (2, 5, 5), "3"),         # 3-D input to conv3d
])
def test_wrong_number_of_input_dims(fn, shape, ndim):
    w = {F.conv1d: data(1, 2, 3), F.conv2d: data(1, 2, 3, 3), F.conv3d: data(1, 2, 3, 3, 3)}[fn]
    with pytest.raises(ValueError, match=names("input", ndim)):
        fn(data(*shape), w)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_input_dtype(dtype):
    x = np.ones((1, 1, 5, 5), dtype=dtype)
    with pytest.raises(TypeError, match=names("input", np.dtype(dtype).name)):
        F.conv2d(x, data(1, 1, 3, 3))


def test_tied_bias_wrong_shape():
    with pytest.raises(ValueError, match=names("bias", "(3,)")):
        F.conv2d(data(1, 2, 6, 6), data(4, 2, 3, 3), data(3))


def test_untied_bias_wrong_shape():
    # output is (1, 4, 4, 4); an untied bias must be (4, 4, 4)
    with pytest.raises(ValueError, match=names("bias", "(4, 5, 5)")):
        F.conv2d(data(1, 2, 6, 6), data(4, 2, 3, 3), data(4, 5, 5))


# ---- arguments a hostile or careless caller passes: each names the argument at fault
@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.complex64])
def test_weights_and_bias_must_be_real_floating_point(dtype):
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(TypeError, match=f"weight: expected a floating-point array.*{np.dtype(dtype)}"):
        F.conv2d(x, np.zeros((4, 3, 3, 3), dtype))
    with pytest.raises(TypeError, match=f"bias: expected a floating-point array.*{np.dtype(dtype)}"):
        F.conv2d(x, np.zeros((4, 3, 3, 3), np.float32), np.zeros(4, dtype))


def test_a_layer_with_an_integer_dtype_blames_dtype():
    with pytest.raises(TypeError, match="^dtype: expected a floating-point dtype.*int32"):
        nn.Conv2d(3, 4, 3, dtype=np.int32)


def test_no_input_says_none():
    with pytest.raises(TypeError, match="^input: expected a Tensor or a floating-point array, got None"):
        F.conv2d(None, np.zeros((4, 3, 3, 3), np.float32))


def test_an_absurd_padding_names_padding():
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="^padding: 1000000000 adds 2,000,000,000 values"):
        F.conv2d(x, np.zeros((4, 3, 3, 3), np.float32), padding=10**9)
    with pytest.raises(ValueError, match="^padding: 1000000000"):
        nn.Conv2d(3, 4, 3, padding=10**9)
