"""Layer fusion (convnet.nn.fusion, convnet.ops.conv.onednn_fused): a convolution, its
eval-mode batch norm and a residual sum as one oneDNN primitive and the activation after it,
against PyTorch's eval-mode layers run one by one (and torchvision's models); a
training-mode batch norm and its ReLU as one primitive; and the cases that must not fuse
(hooks, training mode, gradients wanted, float64, oneDNN off).

Tolerance: the fused batch norm is ``z * scale + shift`` instead of
``(z - mean) / sqrt(var + eps) * weight + bias``; the two roundings differ by a few ulps of
the largest of ``|z * scale|`` and ``|shift|``, so the bound is 8 ulps of that magnitude."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.nn.fusion import fused_conv, fusion_disabled
from convnet.ops.conv import onednn_fused
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

EPS32 = np.finfo(np.float32).eps


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    original = onednn_fused.forward
    monkeypatch.setattr(onednn_fused, "forward",
                        lambda *args, **kw: calls.append(1) or original(*args, **kw))
    return calls


def expected_calls(count):
    return count if onednn_library.available() else 0


def randomise_batch_norms(module, seed=0):
    rng = np.random.default_rng(seed)
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean[...] = rng.normal(0, 0.3, layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 1.5, layer.num_features)
            layer.weight.data[...] = rng.uniform(0.5, 1.5, layer.num_features)
            layer.bias.data[...] = rng.normal(0, 0.3, layer.num_features)


def torch_twin(layers):
    """PyTorch's eval-mode copy of a list of convnet layers (Conv2d, BatchNorm2d, activations)."""
    twins = []
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            twin = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   layer.stride, layer.padding, layer.dilation, layer.groups,
                                   bias=layer.bias is not None)
        elif isinstance(layer, nn.BatchNorm2d):
            twin = torch.nn.BatchNorm2d(layer.num_features, eps=layer.eps,
                                        momentum=layer.momentum)
        else:
            twin = ACTIVATIONS[type(layer).__name__][1](layer)
        twin.load_state_dict({k: torch.from_numpy(np.array(v))
                              for k, v in layer.state_dict().items()}, strict=False)
        twins.append(twin)
    return torch.nn.Sequential(*twins).eval()


ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda m: torch.nn.ReLU()),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda m: torch.nn.LeakyReLU(m.negative_slope)),
    "ReLU6": (lambda: nn.ReLU6(), lambda m: torch.nn.ReLU6()),
    "SiLU": (lambda: nn.SiLU(), lambda m: torch.nn.SiLU()),
    "Hardswish": (lambda: nn.Hardswish(), lambda m: torch.nn.Hardswish()),
    "GELU": (lambda: nn.GELU(), lambda m: torch.nn.GELU()),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda m: torch.nn.Sigmoid()),
    "Tanh": (lambda: nn.Tanh(), lambda m: torch.nn.Tanh()),
}


def bound(reference, scale=1.0):
    return 8 * EPS32 * scale * max(1.0, float(np.abs(reference).max()))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("with_bn", [True, False])
def test_sequential_conv_bn_activation_matches_torch(activation, with_bn, fused_calls):
    rng = np.random.default_rng(1)
    layers = [nn.Conv2d(8, 16, 3, padding=1, rng=rng)]
    layers += [nn.BatchNorm2d(16)] if with_bn else []
    layers.append(ACTIVATIONS[activation][0]())
    net = nn.Sequential(*layers).eval()
    randomise_batch_norms(net)
    x = rng.standard_normal((4, 8, 12, 12)).astype(np.float32)
    x[0, 0, 5, 5], x[1, 1, 0, 0], x[2, 2, 3, 3] = np.nan, np.inf, -np.inf
    with convnet.no_grad():
        y = net(convnet.from_numpy(x)).data
    expected = torch_twin(layers)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(y[finite], expected[finite], rtol=0,
                               atol=bound(expected[finite], 4))
    assert len(fused_calls) == expected_calls(1 if with_bn else 0)     # conv alone: no gain


def test_basic_block_with_shortcuts_matches_torch(fused_calls):
    """nn.BasicBlock (option A shortcut: a strided, zero-padded view; option B: a 1x1
    projection) fuses both convolutions, the second with the residual sum."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 10, 10)).astype(np.float32)
    for shortcut in ("A", "B"):
        block = nn.BasicBlock(8, 16, stride=2, rng=rng, shortcut=shortcut).eval()
        randomise_batch_norms(block, seed=3)
        with convnet.no_grad():
            y = block(convnet.from_numpy(x)).data
        with fusion_disabled(), convnet.no_grad():
            unfused = block(convnet.from_numpy(x)).data
        branch = torch_twin([block.conv1, block.bn1, block.relu, block.conv2, block.bn2])
        xt = torch.from_numpy(x)
        if shortcut == "A":
            view = xt[:, :, ::2, ::2]
            short = torch.nn.functional.pad(view, (0, 0, 0, 0, 4, 4))
        else:
            short = torch_twin(list(block.downsample))(xt)
        expected = torch.relu(branch(xt) + short).detach().numpy()
        np.testing.assert_allclose(y, expected, rtol=0, atol=bound(expected, 8))
        np.testing.assert_allclose(unfused, expected, rtol=0, atol=bound(expected, 8))
    assert len(fused_calls) == expected_calls(2 + 3)       # option B: also its projection


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "resnext50_32x4d"])
def test_torchvision_models_in_eval_match(name, fused_calls):
    from torchvision_oracle import import_torchvision
    torchvision = import_torchvision()
    import convnet.vision.models as models
    torch.manual_seed(0)
    theirs = torchvision.models.get_model(name).eval()
    for layer in theirs.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(layer.running_var, 0.5, 1.5)
            torch.nn.init.normal_(layer.running_mean, 0, 0.1)
            torch.nn.init.uniform_(layer.weight, 0.5, 1.5)
    ours = models.get_model(name).eval()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with convnet.no_grad():
        y = ours(convnet.from_numpy(x)).data
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert len(fused_calls) >= expected_calls(10)


def conv_bn_relu(seed=5):
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, rng=rng), nn.BatchNorm2d(8), nn.ReLU())
    randomise_batch_norms(net)
    return net.eval(), rng.standard_normal((2, 4, 9, 9)).astype(np.float32)


def test_a_hook_on_any_layer_sees_its_output(fused_calls):
    net, x = conv_bn_relu()
    seen = []
    handle = net[1].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    with convnet.no_grad():
        net(convnet.from_numpy(x))
    assert seen == [(2, 8, 9, 9)] and fused_calls == []
    handle.remove()
    with convnet.no_grad():
        net(convnet.from_numpy(x))
    assert len(fused_calls) == expected_calls(1)
    own = net[2].forward                # a forward wrapped on the instance (as the summary)
    net[2].forward = lambda inputs: seen.append("relu") or own(inputs)
    with convnet.no_grad():
        net(convnet.from_numpy(x))
    assert seen[-1] == "relu" and len(fused_calls) == expected_calls(2)   # conv + bn fused


def test_training_mode_and_wanted_gradients_are_not_fused(fused_calls):
    net, x = conv_bn_relu()
    xt = torch.from_numpy(x)
    twin = torch_twin(list(net))
    net.train()
    with convnet.no_grad():             # training-mode batch norm: batch statistics, updated
        y = net(convnet.from_numpy(x)).data
    twin.train()
    with torch.no_grad():
        expected = twin(xt).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net[1].running_mean, twin[1].running_mean.numpy(), atol=1e-6)
    net.eval()
    twin.eval()
    out = net(convnet.from_numpy(x))     # grad mode on, weights require grad: not fused
    out.sum().backward()
    reference = twin(xt)
    reference.sum().backward()
    np.testing.assert_allclose(net[0].weight.grad, twin[0].weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    assert fused_calls == []
    inputs = convnet.from_numpy(x).requires_grad_(True)
    with convnet.no_grad():             # no_grad: fused even for an input that wants grad
        net(inputs)
    assert len(fused_calls) == expected_calls(1)


def test_cases_left_unfused(fused_calls):
    net, x = conv_bn_relu()
    with convnet.no_grad():
        with fusion_disabled():
            net(convnet.from_numpy(x))
        net.double()(convnet.from_numpy(x.astype(np.float64)))      # float64: NumPy
    assert fused_calls == []
    conv = nn.Conv2d(4, 8, 3, padding=1, padding_mode="reflect").eval()
    with convnet.no_grad():
        assert fused_conv(conv, nn.BatchNorm2d(8).eval(), convnet.from_numpy(x)) is None


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_spread_as_in_torch(bad):
    net, x = conv_bn_relu()
    x[0, 1, 4, 4], x[1, 0, 0, 0] = bad, -bad
    with convnet.no_grad():
        y = net(convnet.from_numpy(x)).data
    expected = torch_twin(list(net))(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(y[finite], expected[finite], rtol=0, atol=bound(expected[finite],
                                                                               4))


# ------------------------------------------------------------ training: batch norm + ReLU
@pytest.fixture
def bn_relu_calls(monkeypatch):
    from convnet.ops import batch_norm_onednn
    calls = []
    original = batch_norm_onednn.forward
    monkeypatch.setattr(batch_norm_onednn, "forward",
                        lambda *args, **kw: calls.append(kw.get("relu", False))
                        or original(*args, **kw))
    return calls


def channels_last(array):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)


def train_both(net, x, steps=1):
    """convnet's and PyTorch's outputs and gradients after ``steps`` forward/backward passes
    in training mode (same weights, same upstream gradient)."""
    twin = torch_twin(list(net)).train()
    net.train()
    g = np.random.default_rng(9).standard_normal(
        torch_twin(list(net)).eval()(torch.from_numpy(x)).shape).astype(np.float32)
    for _ in range(steps):
        xc = convnet.from_numpy(x).requires_grad_(True)
        y = net(xc)
        y.backward(g)
        xt = torch.from_numpy(x).requires_grad_(True)
        yt = twin(xt)
        yt.backward(torch.from_numpy(g))
    return (y.data, xc.grad), (yt.detach().numpy(), xt.grad.numpy()), twin


@pytest.mark.parametrize("momentum", [0.1, None])
def test_training_batch_norm_relu_matches_torch(momentum, bn_relu_calls):
    rng = np.random.default_rng(6)
    net = nn.Sequential(nn.Conv2d(4, 16, 3, padding=1, rng=rng), nn.BatchNorm2d(16,
                        momentum=momentum), nn.ReLU())
    randomise_batch_norms(net)
    x = rng.standard_normal((8, 4, 10, 10)).astype(np.float32)
    (y, dx), (yt, dxt), twin = train_both(net, x, steps=2)
    np.testing.assert_allclose(y, yt, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dxt, rtol=1e-4, atol=1e-5 * np.abs(dxt).max())
    for ours, theirs in ((net[0].weight.grad, twin[0].weight.grad),
                         (net[1].weight.grad, twin[1].weight.grad),
                         (net[1].bias.grad, twin[1].bias.grad)):
        theirs = theirs.numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    np.testing.assert_allclose(net[1].running_mean, twin[1].running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(net[1].running_var, twin[1].running_var.numpy(), rtol=1e-5)
    assert int(net[1].num_batches_tracked) == int(twin[1].num_batches_tracked) == 2
    assert bn_relu_calls == ([True, True] if onednn_library.available() else [])


def test_training_relu_at_exactly_zero_passes_no_gradient_as_torch(bn_relu_calls):
    """A value equal to its channel's mean normalises to exactly 0: ReLU's gradient there
    is 0 in PyTorch (x > 0), and so in the fused backward pass."""
    x = np.tile(np.array([-2.0, 0.0, 2.0, -1.0, 1.0, 0.0], np.float32), (2, 16, 4, 1))
    net = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU())
    (y, dx), (yt, dxt), _ = train_both(net, channels_last(x))       # as a conv's output
    assert (yt == 0).any()
    np.testing.assert_allclose(y, yt, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, dxt, rtol=1e-5, atol=1e-6)
    assert bn_relu_calls == ([True] if onednn_library.available() else [])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_training_nan_and_inf_run_unfused_as_torch(bad, bn_relu_calls):
    rng = np.random.default_rng(7)
    net = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU())
    x = rng.standard_normal((4, 16, 6, 6)).astype(np.float32)
    x[1, 2, 3, 3] = bad
    (y, _), (yt, _), twin = train_both(net, channels_last(x))
    np.testing.assert_array_equal(np.isnan(y), np.isnan(yt))
    finite = np.isfinite(yt)
    np.testing.assert_allclose(y[finite], yt[finite], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.isnan(net[0].running_mean),
                                  np.isnan(twin[0].running_mean.numpy()))
    assert int(net[0].num_batches_tracked) == 1          # counted once, not twice
    if onednn_library.available():
        assert bn_relu_calls[0] is True and bn_relu_calls[1:] == [False]   # tried, then apart


def test_training_hook_on_the_relu_keeps_the_layers_apart(bn_relu_calls):
    net = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU()).train()
    seen = []
    net[1].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    x = channels_last(np.random.default_rng(8).standard_normal((2, 16, 5, 5)).astype(np.float32))
    net(convnet.from_numpy(x))
    assert seen == [(2, 16, 5, 5)] and True not in bn_relu_calls
