"""The product net input (seed 001, E8.9): n = b * z, with z the weight function's output.

Oracles: a loop written from the notes (correlation weight function, then the product),
the two backpropagation paths written out (dN -> dLZ: dz = b * dn; dN -> db:
db = sum dn * z), torch (conv2d without bias times the bias) and float64 finite differences.
"""

import numpy as np
import pytest
import torch

import convnet
import convnet.functional as F
import convnet.nn as nn
from convnet.io import load, save
from gradcheck import check_gradients


def product_layer_loop(x, w, b, stride, padding):
    """n[o, i, j] = b[o] * sum_{c, k, l} w[o, c, k, l] * x_padded[c, s*i + k, s*j + l]."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    batch, out_channels = x.shape[0], w.shape[0]
    kh, kw = w.shape[2:]
    out_h = (xp.shape[2] - kh) // stride + 1
    out_w = (xp.shape[3] - kw) // stride + 1
    n = np.zeros((batch, out_channels, out_h, out_w))
    for q in range(batch):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    z = 0.0
                    for c in range(x.shape[1]):
                        for k in range(kh):
                            for col in range(kw):
                                z += w[o, c, k, col] * xp[q, c, stride * i + k, stride * j + col]
                    n[q, o, i, j] = (b[o] if b.ndim == 1 else b[o, i, j]) * z
    return n


def case(seed, untied=False):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal((4, 3, 3) if untied else 4)
    return x, w, b


@pytest.mark.parametrize("untied", [False, True])
def test_forward_and_both_backpropagation_paths(untied):
    x, w, b = case(0, untied)
    stride, padding = 2, 1
    expected = product_layer_loop(x, w, b, stride, padding)
    z = convnet.tensor(F.conv2d(x, w, None, stride, padding).data, requires_grad=True)
    bias = convnet.tensor(b, requires_grad=True)
    n = F.product_net_input(z, bias)
    np.testing.assert_allclose(n.data, expected, rtol=1e-12, atol=1e-12)
    dn = np.random.default_rng(1).standard_normal(n.shape)
    n.backward(dn)
    b_map = b[None, :, None, None] if not untied else b[None]
    np.testing.assert_allclose(z.grad, b_map * dn, rtol=1e-12)  # dN -> dLZ
    db = (dn * z.data).sum(axis=(0, 2, 3) if not untied else 0)  # dN -> db
    np.testing.assert_allclose(bias.grad, db, rtol=1e-12)


def test_conv2d_product_bias_against_torch():
    x, w, b = case(2)
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    expected = torch.nn.functional.conv2d(xt, wt, None, 1, 1) * bt.view(1, -1, 1, 1)
    upstream = np.random.default_rng(3).standard_normal(expected.shape)
    expected.backward(torch.tensor(upstream))
    xc, wc, bc = (convnet.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.conv2d_product_bias(xc, wc, bc, padding=1)
    out.backward(upstream)
    for mine, theirs in ((out.data, expected.detach()), (xc.grad, xt.grad), (wc.grad, wt.grad),
                         (bc.grad, bt.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("untied", [False, True])
def test_finite_differences(untied):
    x, w, b = case(4, untied)
    check_gradients(lambda x, w, b: F.conv2d_product_bias(x, w, b, stride=2, padding=1),
                    x[:1], w, b)


def test_conv_layer_option():
    x, w, b = case(5)
    layer = nn.Conv2d(3, 4, 3, padding=1, net_input="product", dtype=np.float64)
    np.testing.assert_array_equal(layer.bias.data, np.ones(4))  # starts as the identity
    layer.weight.data[...] = w
    layer.bias.data[...] = b
    np.testing.assert_allclose(layer(x).data, product_layer_loop(x, w, b, 1, 1), rtol=1e-12)
    assert "net_input='product'" in repr(layer)
    untied = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias="untied", input_size=(6, 5),
                       net_input="product", dtype=np.float64)
    untied.weight.data[...] = w
    b_untied = case(5, untied=True)[2]
    untied.bias.data[...] = b_untied
    np.testing.assert_allclose(untied(x).data, product_layer_loop(x, w, b_untied, 2, 1),
                               rtol=1e-12)
    # without a bias the product net input is the weight function's output itself
    plain = nn.Conv2d(3, 4, 3, bias=False, net_input="product", dtype=np.float64)
    plain.weight.data[...] = w
    np.testing.assert_allclose(plain(x).data, product_layer_loop(x, w, np.ones(4), 1, 0),
                               rtol=1e-12)
    one_d = nn.Conv1d(2, 3, 3, net_input="product")
    assert one_d(np.ones((1, 2, 7), np.float32)).shape == (1, 3, 5)


def test_sum_stays_the_default_and_save_load(tmp_path):
    assert nn.Conv2d(1, 2, 3).net_input == "sum"
    model = nn.Sequential(nn.Conv2d(3, 4, 3, net_input="product", rng=0), nn.ReLU())
    model[0].bias.data[:] = [0.5, -1.0, 2.0, 3.0]
    save(model, tmp_path / "model.safetensors")
    x = case(6)[0].astype(np.float32)
    np.testing.assert_allclose(load(tmp_path / "model.safetensors")(x).data, model(x).data)


@pytest.mark.parametrize("call, message", [
    (lambda: nn.Conv2d(1, 2, 3, net_input="max"), r"net_input: expected 'sum' or 'product', "
                                                    r"got 'max'"),
    (lambda: F.product_net_input(np.ones((1, 2, 3, 3)), np.ones(3)),
     r"bias: expected shape \(2,\) \(tied\) or \(2, 3, 3\) \(untied\), got \(3,\)"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
