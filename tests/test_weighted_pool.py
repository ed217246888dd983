"""Trainable sum pooling (seed 001, Eq. 8.22; P8.3 and P8.4) and LeCun's scaled tanh.

Oracles: torch's avg_pool2d times the window area times the weight plus the bias (forward
and every gradient), a loop written from Eq. 8.22 (1-based indices as printed), the
backpropagation paths of P8.3 / P8.4 written out, and float64 finite differences.
"""

import numpy as np
import pytest
import torch

import convnet
import convnet.functional as F
import convnet.nn as nn
from convnet.io import load, save
from convnet.models import build_model
from gradcheck import check_gradients
from reference_pool import avg_pool_reference


def eq_8_22_loop(a, lw, r, c):
    """lz[i, j] = lw * sum_{u=1..r} sum_{v=1..c} a[r(i-1)+u, c(j-1)+v], 1-based as printed."""
    batch, channels, height, width = a.shape
    lz = np.zeros((batch, channels, height // r, width // c))
    for n in range(batch):
        for h in range(channels):
            for i in range(1, height // r + 1):
                for j in range(1, width // c + 1):
                    total = 0.0
                    for u in range(1, r + 1):
                        for v in range(1, c + 1):
                            total += a[n, h, r * (i - 1) + u - 1, c * (j - 1) + v - 1]
                    lz[n, h, i - 1, j - 1] = total * lw[h]
    return lz


def random_case(seed, shape=(2, 3, 6, 8)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])


@pytest.mark.parametrize("kernel", [(2, 2), (3, 2), (1, 4)])
def test_eq_8_22_loop_and_the_p8_3_p8_4_paths(kernel):
    x, w, _ = random_case(1, (2, 3, 6, 8))
    r, c = kernel
    out = F.weighted_sum_pool2d(convnet.tensor(x, requires_grad=True), w, None, kernel)
    np.testing.assert_allclose(out.data, eq_8_22_loop(x, w, r, c), rtol=1e-12, atol=1e-12)

    dlz = np.random.default_rng(2).standard_normal(out.shape)
    a = convnet.tensor(x, requires_grad=True)
    lw = convnet.tensor(w, requires_grad=True)
    F.weighted_sum_pool2d(a, lw, None, kernel).backward(dlz)
    # P8.3: dA = lw expanded over each r x c window (stride = window: no sums)
    expanded = np.repeat(np.repeat(dlz, r, axis=2), c, axis=3) * w[None, :, None, None]
    np.testing.assert_allclose(a.grad, expanded, rtol=1e-12, atol=1e-12)
    # P8.4: dlw = sum_{i,j} dlz[i, j] * (window sum of A)[i, j]
    window_sums = eq_8_22_loop(x, np.ones(3), r, c)
    np.testing.assert_allclose(lw.grad, (dlz * window_sums).sum(axis=(0, 2, 3)), rtol=1e-12)


CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=1),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_torch_avg_pool_times_area_times_weight(case, with_bias):
    x, w, b = random_case(3, (2, 3, 7, 9))
    kernel = case["kernel_size"]
    area = np.prod(kernel if isinstance(kernel, tuple) else (kernel, kernel))
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    expected = torch.nn.functional.avg_pool2d(xt, **case, count_include_pad=True) * area \
        * wt.view(1, -1, 1, 1)
    if with_bias:
        expected = expected + bt.view(1, -1, 1, 1)
    upstream = np.random.default_rng(4).standard_normal(expected.shape)
    expected.backward(torch.tensor(upstream))

    xc, wc, bc = (convnet.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.weighted_sum_pool2d(xc, wc, bc if with_bias else None, **case)
    out.backward(upstream)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wc.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if with_bias:
        np.testing.assert_allclose(bc.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding, padding_mode", [("same", None), ("same", "reflect"),
                                                   (1, "symmetric"), (((0, 1), (1, 0)), None)])
def test_padding_forms_torch_lacks_against_the_loop_reference(padding, padding_mode):
    x, w, b = random_case(5, (1, 2, 5, 6))
    out = F.weighted_sum_pool2d(x, w, b, 2, 2, padding, padding_mode=padding_mode)
    sums = avg_pool_reference(x, 2, 2, padding, divisor_override=1, padding_mode=padding_mode)
    np.testing.assert_allclose(out.data, sums * w[None, :, None, None] + b[None, :, None, None],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [dict(kernel_size=2), dict(kernel_size=3, stride=2,
                                                             padding="same")])
def test_finite_differences(case):
    x, w, b = random_case(6, (2, 2, 5, 4))
    check_gradients(lambda x, w, b: F.weighted_sum_pool2d(x, w, b, **case), x, w, b)


def test_float32_stays_float32():
    x, w, b = (v.astype(np.float32) for v in random_case(7))
    assert F.weighted_sum_pool2d(x, w, b).data.dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: F.weighted_sum_pool2d(np.ones((1, 3, 4, 4)), np.ones(2)),
     r"weight: expected shape \(3,\).*got \(2,\)"),
    (lambda: F.weighted_sum_pool2d(np.ones((1, 3, 4, 4)), np.ones(3), np.ones((3, 1))),
     r"bias: expected shape \(3,\)"),
    (lambda: F.weighted_sum_pool2d(np.ones((3, 4, 4)), np.ones(3)), r"input: expected \(N, C, H, W\)"),
    (lambda: nn.WeightedSumPool2d(0, 2), r"channels: expected a positive int, got 0"),
    (lambda: nn.WeightedSumPool2d(2, 2, bias="yes"), r"bias: expected True or False"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_layer_parameters_repr_and_save_load(tmp_path):
    layer = nn.WeightedSumPool2d(4, (2, 3), dtype=np.float64)
    assert list(layer.state_dict()) == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.data, np.full(4, 1 / 6))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4))
    assert repr(layer) == "WeightedSumPool2d([2x3 s 2x3], channels=4)"
    x = np.random.default_rng(8).standard_normal((1, 4, 4, 6))
    # a fresh layer is average pooling
    np.testing.assert_allclose(layer(x).data, torch.nn.functional.avg_pool2d(
        torch.tensor(x), (2, 3)).numpy(), rtol=1e-12)
    layer.weight.data[:] = [1, 2, 3, 4]
    model = nn.Sequential(layer, nn.ScaledTanh())
    save(model, tmp_path / "model.safetensors")
    again = load(tmp_path / "model.safetensors")
    np.testing.assert_allclose(again(x).data, model(x).data, rtol=1e-12)
    assert list(nn.WeightedSumPool2d(2, 2, bias=False).state_dict()) == ["weight"]


def test_scaled_tanh_against_torch():
    x = np.linspace(-4, 4, 17)
    xt = torch.tensor(x, requires_grad=True)
    expected = 1.7159 * torch.tanh(2 / 3 * xt)
    expected.sum().backward()
    xc = convnet.tensor(x, requires_grad=True)
    out = F.scaled_tanh(xc)
    out.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-12)
    check_gradients(lambda v: F.scaled_tanh(v, 2.0, 0.5), x)


def test_arch_tokens_and_lenet_1998():
    model = build_model("[4|3x3] scaledtanh sumpool[2x2 s2] fc3", (1, 8, 8), rng=0)
    assert isinstance(model[1], nn.ScaledTanh) and isinstance(model[2], nn.WeightedSumPool2d)
    assert model[2].channels == 4 and model(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 3)
    lenet = build_model("lenet-1998", (1, 28, 28), 10, rng=0)
    kinds = [type(layer).__name__ for layer in lenet]
    assert kinds.count("WeightedSumPool2d") == 2 and kinds.count("ScaledTanh") == 6
    assert "ReLU" not in kinds and "MaxPool2d" not in kinds
    # LeNet-5's sizes: C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5, C5 120@1x1, F6 84
    x = np.zeros((1, 1, 28, 28), np.float32)
    sizes = []
    for layer in lenet:
        x = layer(x)
        sizes.append(x.shape[1:])
    assert sizes[0] == (6, 28, 28) and sizes[2] == (6, 14, 14) and sizes[4] == (16, 10, 10)
    assert sizes[6] == (16, 5, 5) and sizes[8] == (120, 1, 1) and sizes[11] == (84,)
    # trainable values counted layer by layer (C3 here sees all six maps of S2)
    assert sum(p.data.size for p in lenet.parameters()) == (
        6 * 26 + 2 * 6 + 16 * (6 * 25 + 1) + 2 * 16 + 120 * (16 * 25 + 1) + 84 * 121 + 10 * 85)
