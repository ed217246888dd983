"""Every pooling error in the contract: exception type, argument name and received value.

Contract (notes, Issue 3): ValueError naming the argument for a window larger than the
padded input (``kernel_size``), stride 0 or negative (``stride``), adaptive output size
below 1 (``output_size``), maxout channels not divisible (``pool_size``), negative padding
(``padding``) and an unknown padding_mode (``padding_mode``). Each message must also show
the value received.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import convnet.functional as F


def names(argument: str, value) -> str:
    """Regex: the message names ``argument`` and shows ``value`` (in either order)."""
    value = re.escape(str(value))
    return rf"(?s)(?=.*\b{argument}\b)(?=.*(?<![\w.-]){value}(?![\w.]))"


def x_of(nd, size=4, channels=2):
    return np.random.default_rng(0).standard_normal((1, channels) + (size,) * nd)


def pool_call(family, nd, x, **kwargs):
    if family == "lp":
        return getattr(F, f"lp_pool{nd}d")(x, 2, **kwargs)
    return getattr(F, f"{family}_pool{nd}d")(x, **kwargs)


FAMILY_ND = [(family, nd) for family in ("max", "avg", "lp") for nd in (1, 2, 3)]
ids = [f"{family}{nd}d" for family, nd in FAMILY_ND]


@pytest.mark.parametrize("family,nd", FAMILY_ND, ids=ids)
def test_window_larger_than_padded_input_names_kernel_size(family, nd):
    x = x_of(nd, size=4)
    with pytest.raises(ValueError, match=names("kernel_size", 9)):
        pool_call(family, nd, x, kernel_size=9)
    if family != "lp":  # padding 1 makes the padded input 6: a 7-wide window still fails
        with pytest.raises(ValueError, match=names("kernel_size", 7)):
            pool_call(family, nd, x, kernel_size=7, stride=1, padding=1)


@pytest.mark.parametrize("stride", [0, -2])
@pytest.mark.parametrize("family,nd", FAMILY_ND, ids=ids)
def test_stride_zero_or_negative_names_stride(family, nd, stride):
    with pytest.raises(ValueError, match=names("stride", stride)):
        pool_call(family, nd, x_of(nd), kernel_size=2, stride=stride)


@pytest.mark.parametrize("family,nd", FAMILY_ND, ids=ids)
def test_negative_padding_names_padding(family, nd):
    with pytest.raises(ValueError, match=names("padding", -3)):
        pool_call(family, nd, x_of(nd), kernel_size=2, padding=-3)


@pytest.mark.parametrize("family,nd", FAMILY_ND, ids=ids)
def test_unknown_padding_mode_names_padding_mode(family, nd):
    with pytest.raises(ValueError, match=names("padding_mode", "mirror")):
        pool_call(family, nd, x_of(nd), kernel_size=2, padding=1, padding_mode="mirror")


@pytest.mark.parametrize("output_size", [0, -2], ids=["zero", "negative"])
@pytest.mark.parametrize("kind,nd", [(k, nd) for k in ("max", "avg") for nd in (1, 2, 3)],
                         ids=lambda v: str(v))
def test_adaptive_output_size_below_one_names_output_size(kind, nd, output_size):
    pool = getattr(F, f"adaptive_{kind}_pool{nd}d")
    x = x_of(nd)
    with pytest.raises(ValueError, match=names("output_size", output_size)):
        pool(x, output_size)
    if nd > 1:  # one bad entry in a tuple is enough
        size = (3,) * (nd - 1) + (output_size,)
        with pytest.raises(ValueError, match=names("output_size", output_size)):
            pool(x, size)


@pytest.mark.parametrize("channels,pool_size", [(6, 4), (5, 2), (3, 7)])
def test_maxout_channels_not_divisible_names_pool_size(channels, pool_size):
    x = np.random.default_rng(0).standard_normal((2, channels, 3, 3))
    with pytest.raises(ValueError, match=names("pool_size", pool_size)):
        F.maxout(x, pool_size)
