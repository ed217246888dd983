"""convnet.nn: every layer against its PyTorch twin, and weight initialisation.

Oracle and tolerances: see ``nn_oracle.py``. Statistical init tests use the exact variance
of the estimator: for n i.i.d. draws with known mean 0, ``m2 = mean(w**2)`` has variance
``(E[w^4] - E[w^2]^2) / n``, i.e. ``4 b^4 / (45 n)`` for U(-b, b) and ``2 s^4 / n`` for
N(0, s^2); the tests allow 6 standard deviations (a false failure has probability below
2e-9 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convnet.nn; not installed")
import torch.nn.functional as TF  # noqa: E402

import convnet  # noqa: E402
import convnet.nn as nn  # noqa: E402
from convnet.nn import init  # noqa: E402
from nn_oracle import assert_close, randomize_torch, tnn, torch_state  # noqa: E402


# --------------------------------------------------------------------------- every layer
def untied_reference(dims):
    """Torch conv without bias, plus the untied bias array (one value per output unit)."""
    conv = (None, TF.conv1d, TF.conv2d, TF.conv3d)[dims]

    def reference(module, x):
        return conv(x, module.weight, None, module.stride, module.padding) + module.untied_bias
    return reference


class TorchUntiedConv(tnn.Module):
    """A torch stand-in for convnet's untied-bias conv: weight + bias (C_out, *out_spatial)."""

    def __init__(self, dims, in_channels, out_channels, kernel_size, out_spatial, stride=1,
                 padding=0, dtype=torch.float64):
        super().__init__()
        self.dims, self.stride, self.padding = dims, stride, padding
        k = (kernel_size,) * dims
        generator = torch.Generator().manual_seed(11)
        self.weight = tnn.Parameter(torch.randn((out_channels, in_channels) + k,
                                                generator=generator, dtype=dtype) * 0.3)
        self.bias = tnn.Parameter(torch.randn((out_channels,) + out_spatial,
                                              generator=generator, dtype=dtype))

    def forward(self, x):
        conv = (None, TF.conv1d, TF.conv2d, TF.conv3d)[self.dims]
        return conv(x, self.weight, None, self.stride, self.padding) + self.bias


class TorchMaxout(tnn.Module):
    """Maxout written out: channels c*k .. c*k+k-1 form output channel c."""

    def __init__(self, pool_size):
        super().__init__()
        self.k = pool_size

    def forward(self, x):
        n, c = x.shape[:2]
        return x.reshape(n, c // self.k, self.k, *x.shape[2:]).amax(dim=2)


def _layer_cases():
    F64 = dict(dtype=np.float64)
    T64 = dict(dtype=torch.float64)
    c = []

    def add(name, ours, theirs, shape, positive=False):
        c.append(pytest.param(ours, theirs, shape, positive, id=name))

    for dims, cls in ((1, "Conv1d"), (2, "Conv2d"), (3, "Conv3d")):
        spatial = (7, 6, 5)[:dims] if dims < 3 else (5, 4, 6)
        shape = (2, 4) + spatial
        add(f"{cls}", lambda cls=cls: getattr(nn, cls)(4, 6, 3, **F64),
            lambda cls=cls: getattr(tnn, cls)(4, 6, 3, **T64), shape)
        add(f"{cls}-s2-p1-nobias", lambda cls=cls: getattr(nn, cls)(4, 6, 3, 2, 1, bias=False, **F64),
            lambda cls=cls: getattr(tnn, cls)(4, 6, 3, 2, 1, bias=False, **T64), shape)
        add(f"{cls}-same-d2-g2-reflect",
            lambda cls=cls: getattr(nn, cls)(4, 6, 3, padding="same", dilation=2, groups=2,
                                             padding_mode="reflect", **F64),
            lambda cls=cls: getattr(tnn, cls)(4, 6, 3, padding="same", dilation=2, groups=2,
                                              padding_mode="reflect", **T64), shape)
        out_spatial = tuple(s - 2 for s in spatial)
        add(f"{cls}-untied",
            lambda cls=cls, spatial=spatial: getattr(nn, cls)(4, 6, 3, bias="untied",
                                                              input_size=spatial, **F64),
            lambda dims=dims, out_spatial=out_spatial: TorchUntiedConv(dims, 4, 6, 3, out_spatial),
            shape)
        out_spatial = tuple((s + 2 - 3) // 2 + 1 for s in spatial)
        add(f"{cls}-untied-s2-p1",
            lambda cls=cls, spatial=spatial: getattr(nn, cls)(4, 6, 3, 2, 1, bias="untied",
                                                              input_size=spatial, **F64),
            lambda dims=dims, out_spatial=out_spatial: TorchUntiedConv(dims, 4, 6, 3, out_spatial,
                                                                      stride=2, padding=1),
            shape)
        nd = f"{dims}d"
        add(f"MaxPool{nd}", lambda nd=nd: getattr(nn, f"MaxPool{nd}")(3, 2, 1),
            lambda nd=nd: getattr(tnn, f"MaxPool{nd}")(3, 2, 1), shape)
        add(f"MaxPool{nd}-k2", lambda nd=nd: getattr(nn, f"MaxPool{nd}")(2),
            lambda nd=nd: getattr(tnn, f"MaxPool{nd}")(2), shape)
        add(f"AvgPool{nd}", lambda nd=nd: getattr(nn, f"AvgPool{nd}")(3, 2, 1),
            lambda nd=nd: getattr(tnn, f"AvgPool{nd}")(3, 2, 1), shape)
        add(f"AvgPool{nd}-noinclude-ceil",
            lambda nd=nd: getattr(nn, f"AvgPool{nd}")(2, 2, 1, ceil_mode=True,
                                                      count_include_pad=False),
            lambda nd=nd: getattr(tnn, f"AvgPool{nd}")(2, 2, 1, ceil_mode=True,
                                                       count_include_pad=False), shape)
        add(f"LPPool{nd}-2", lambda nd=nd: getattr(nn, f"LPPool{nd}")(2, 2),
            lambda nd=nd: getattr(tnn, f"LPPool{nd}")(2, 2), shape)
        add(f"LPPool{nd}-3-s1", lambda nd=nd: getattr(nn, f"LPPool{nd}")(3, 2, 1),
            lambda nd=nd: getattr(tnn, f"LPPool{nd}")(3, 2, 1), shape, True)
        add(f"AdaptiveMaxPool{nd}", lambda nd=nd: getattr(nn, f"AdaptiveMaxPool{nd}")(3),
            lambda nd=nd: getattr(tnn, f"AdaptiveMaxPool{nd}")(3), shape)
        add(f"AdaptiveAvgPool{nd}", lambda nd=nd: getattr(nn, f"AdaptiveAvgPool{nd}")(3),
            lambda nd=nd: getattr(tnn, f"AdaptiveAvgPool{nd}")(3), shape)
        add(f"AdaptiveAvgPool{nd}-1", lambda nd=nd: getattr(nn, f"AdaptiveAvgPool{nd}")(1),
            lambda nd=nd: getattr(tnn, f"AdaptiveAvgPool{nd}")(1), shape)
    add("Maxout", lambda: nn.Maxout(2), lambda: TorchMaxout(2), (2, 6, 4, 5))
    add("Maxout-3", lambda: nn.Maxout(3), lambda: TorchMaxout(3), (2, 6, 7))
    add("Linear", lambda: nn.Linear(5, 4, **F64), lambda: tnn.Linear(5, 4, **T64), (3, 5))
    add("Linear-batched-nobias", lambda: nn.Linear(5, 4, bias=False, **F64),
        lambda: tnn.Linear(5, 4, bias=False, **T64), (2, 3, 5))
    add("Flatten", lambda: nn.Flatten(), lambda: tnn.Flatten(), (2, 3, 4, 5))
    add("Flatten-0-2", lambda: nn.Flatten(0, 2), lambda: tnn.Flatten(0, 2), (2, 3, 4, 5))
    add("Identity", lambda: nn.Identity(), lambda: tnn.Identity(), (2, 3, 4))
    add("ReLU", lambda: nn.ReLU(), lambda: tnn.ReLU(), (2, 3, 4, 5))
    add("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (2, 3, 4, 5))
    add("Sigmoid", lambda: nn.Sigmoid(), lambda: tnn.Sigmoid(), (2, 3, 4, 5))
    add("Tanh", lambda: nn.Tanh(), lambda: tnn.Tanh(), (2, 3, 4, 5))
    add("Softmax", lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1), (2, 3, 4, 5))
    add("Softmax-last", lambda: nn.Softmax(dim=-1), lambda: tnn.Softmax(dim=-1), (2, 7))
    add("LogSoftmax", lambda: nn.LogSoftmax(dim=1), lambda: tnn.LogSoftmax(dim=1), (2, 3, 4, 5))
    add("Dropout-eval", lambda: nn.Dropout(0.5).eval(), lambda: tnn.Dropout(0.5).eval(),
        (2, 3, 4))
    add("BatchNorm1d", lambda: nn.BatchNorm1d(3, **F64), lambda: tnn.BatchNorm1d(3, **T64),
        (5, 3, 4))
    add("BatchNorm2d", lambda: nn.BatchNorm2d(3, **F64), lambda: tnn.BatchNorm2d(3, **T64),
        (2, 3, 4, 5))
    add("BatchNorm2d-eval", lambda: nn.BatchNorm2d(3, **F64).eval(),
        lambda: tnn.BatchNorm2d(3, **T64).eval(), (2, 3, 4, 5))
    add("Upsample-nearest", lambda: nn.Upsample(scale_factor=2),
        lambda: tnn.Upsample(scale_factor=2), (2, 3, 4, 5))
    add("Upsample-size", lambda: nn.Upsample(size=(7, 9)), lambda: tnn.Upsample(size=(7, 9)),
        (2, 3, 4, 5))
    add("Upsample-bilinear", lambda: nn.Upsample(scale_factor=2, mode="bilinear"),
        lambda: tnn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4, 5))
    add("Upsample-bilinear-corners",
        lambda: nn.Upsample(size=(7, 8), mode="bilinear", align_corners=True),
        lambda: tnn.Upsample(size=(7, 8), mode="bilinear", align_corners=True), (2, 3, 4, 5))
    add("Upsample-linear-1d", lambda: nn.Upsample(scale_factor=3, mode="linear"),
        lambda: tnn.Upsample(scale_factor=3, mode="linear"), (2, 3, 5))
    add("Sequential",
        lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, **F64), nn.Tanh(), nn.AvgPool2d(2),
                              nn.Flatten(), nn.Linear(8, 2, **F64), nn.LogSoftmax(dim=1)),
        lambda: tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1, **T64), tnn.Tanh(),
                               tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(8, 2, **T64),
                               tnn.LogSoftmax(dim=1)), (2, 3, 2, 4))
    return c


@pytest.mark.parametrize("make_ours, make_theirs, shape, positive", _layer_cases())
def test_every_layer_matches_torch_forward_and_backward(make_ours, make_theirs, shape, positive):
    theirs = make_theirs()
    randomize_torch(theirs, seed=8)
    ours = make_ours()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(torch_state(theirs))
    rng = np.random.default_rng(9)
    x = rng.uniform(0.5, 1.5, shape) if positive else rng.standard_normal(shape)
    xc = convnet.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y_ours, y_theirs = ours(xc), theirs(xt)
    assert isinstance(y_ours, convnet.Tensor)
    assert y_ours.shape == tuple(y_theirs.shape)
    assert y_ours.dtype == np.float64
    assert_close(y_ours, y_theirs.detach().numpy(), what="output")
    upstream = rng.standard_normal(y_ours.shape)
    y_ours.backward(upstream)
    y_theirs.backward(torch.from_numpy(upstream))
    assert_close(xc.grad, xt.grad.numpy(), what="input gradient")
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(ours_params[name].grad, p.grad.numpy(), what=f"{name} gradient")
    for key, value in theirs.state_dict().items():  # batch-norm running statistics
        assert_close(ours.state_dict()[key], value.numpy(), what=key)


@pytest.mark.parametrize("cls, args", [("Conv2d", (3, 4, 3)), ("Linear", (6, 4)),
                                       ("BatchNorm2d", (3,))])
def test_float32_layers_stay_float32_and_match_torch(cls, args):
    theirs = getattr(tnn, cls)(*args)
    randomize_torch(theirs, seed=12)
    ours = getattr(nn, cls)(*args)
    ours.load_state_dict(torch_state(theirs))
    assert all(p.dtype == np.float32 for p in ours.parameters())
    shape = (2, 6) if cls == "Linear" else (2, 3, 5, 5)
    x = np.random.default_rng(13).standard_normal(shape).astype(np.float32)
    y = ours(x)
    assert y.dtype == np.float32
    assert_close(y, theirs(torch.from_numpy(x)).detach().numpy(), np.float32, "output")


# --------------------------------------------------------------------------- init
def _uniform_checks(values, bound):
    """All values within [-bound, bound], mean square b^2/3 within 6 sd, bound nearly reached."""
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    assert np.all(np.abs(values) <= bound * (1 + 1e-6))
    mean_square = np.mean(values ** 2)
    sd = math.sqrt(4 * bound ** 4 / (45 * n))
    assert abs(mean_square - bound ** 2 / 3) < 6 * sd, (mean_square, bound ** 2 / 3, sd)
    assert abs(values.mean()) < 6 * bound / math.sqrt(3 * n)
    # P(max |w| < b (1 - d)) = (1 - d)^n; d = 25 / n makes that below 2e-11
    assert np.abs(values).max() > bound * (1 - 25 / n)


def _normal_checks(values, std):
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    mean_square = np.mean(values ** 2)
    assert abs(mean_square - std ** 2) < 6 * math.sqrt(2 * std ** 4 / n), (mean_square, std ** 2)
    assert abs(values.mean()) < 6 * std / math.sqrt(n)
    # a normal sample of this size reaches beyond 3 sd (probability of not: ~(0.9973)^n)
    assert np.abs(values).max() > 3 * std


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Conv2d(64, 128, 3, rng=0), 64 * 9),
    (lambda: nn.Conv2d(32, 64, (3, 5), groups=2, rng=1), 16 * 15),
    (lambda: nn.Conv1d(40, 300, 5, rng=2), 200),
    (lambda: nn.Conv3d(8, 64, 3, rng=3), 8 * 27),
    (lambda: nn.Linear(500, 300, rng=4), 500),
])
def test_default_conv_linear_init_is_uniform_one_over_sqrt_fan_in(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    _uniform_checks(layer.weight.data, bound)
    bias = layer.bias.data
    assert np.all(np.abs(bias) <= bound) and np.unique(bias).size == bias.size
    assert abs(np.mean(bias.astype(np.float64) ** 2) - bound ** 2 / 3) < \
        6 * math.sqrt(4 * bound ** 4 / (45 * bias.size))


def test_default_init_bound_equals_torchs():
    # torch's default init draws U(-b, b); its empirical max must sit just under our b too
    torch.manual_seed(0)
    layer = tnn.Conv2d(64, 128, 3)
    assert layer.weight.abs().max().item() <= 1 / math.sqrt(64 * 9)
    assert layer.weight.abs().max().item() > (1 / math.sqrt(64 * 9)) * (1 - 25 / layer.weight.numel())


SHAPE = (128, 64, 3, 3)
FAN_IN, FAN_OUT = 64 * 9, 128 * 9


def _empty(shape=SHAPE):
    return nn.Parameter(np.empty(shape, dtype=np.float64))


@pytest.mark.parametrize("kwargs, bound", [
    ({}, math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    ({"nonlinearity": "relu"}, math.sqrt(6 / FAN_IN)),
    ({"a": 0.2, "nonlinearity": "leaky_relu"}, math.sqrt(2 / 1.04) * math.sqrt(3 / FAN_IN)),
    ({"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / FAN_OUT)),
    ({"a": math.sqrt(5)}, 1 / math.sqrt(FAN_IN)),
])
def test_kaiming_uniform_bound(kwargs, bound):
    _uniform_checks(init.kaiming_uniform_(_empty(), rng=0, **kwargs).data, bound)


@pytest.mark.parametrize("kwargs, std", [
    ({}, math.sqrt(2 / FAN_IN)),
    ({"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
    ({"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / FAN_OUT)),
    ({"nonlinearity": "tanh"}, (5 / 3) / math.sqrt(FAN_IN)),
    ({"a": 0.5, "nonlinearity": "leaky_relu"}, math.sqrt(2 / 1.25) / math.sqrt(FAN_IN)),
])
def test_kaiming_normal_std(kwargs, std):
    _normal_checks(init.kaiming_normal_(_empty(), rng=1, **kwargs).data, std)


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_xavier_uniform_bound(gain):
    bound = gain * math.sqrt(6 / (FAN_IN + FAN_OUT))
    _uniform_checks(init.xavier_uniform_(_empty(), gain=gain, rng=2).data, bound)


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_normal_std(gain):
    std = gain * math.sqrt(2 / (FAN_IN + FAN_OUT))
    _normal_checks(init.xavier_normal_(_empty(), gain=gain, rng=3).data, std)


def test_xavier_on_linear_shape():
    w = _empty((300, 500))
    _uniform_checks(init.xavier_uniform_(w, rng=4).data, math.sqrt(6 / 800))


@pytest.mark.parametrize("shape, fan_in", [(SHAPE, FAN_IN), ((300, 500), 500),
                                           ((64, 16, 5), 80)])
def test_notes_uniform_bound_sqrt_two_over_fan_in(shape, fan_in):
    _uniform_checks(init.notes_uniform_(_empty(shape), rng=5).data, math.sqrt(2 / fan_in))


@pytest.mark.parametrize("name, param", [("linear", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None),
                                         ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_calculate_gain_equals_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        tnn.init.calculate_gain(name, param), rel=1e-12)


def test_init_works_on_float32_in_place():
    w = nn.Parameter(np.empty((16, 8, 3, 3), dtype=np.float32))
    data = w.data
    returned = init.kaiming_normal_(w, rng=0)
    assert returned is w and w.data is data and w.data.dtype == np.float32


def _model():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv1d(2, 3, 3),
                         nn.Linear(10, 4))


def _weights(model):
    return [v.copy() for v in model.state_dict().values()]


def test_manual_seed_makes_constructions_identical():
    convnet.manual_seed(123)
    a = _weights(_model())
    convnet.manual_seed(123)
    b = _weights(_model())
    convnet.manual_seed(124)
    c = _weights(_model())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    d = _weights(_model())  # without reseeding, the generator moves on
    assert not np.array_equal(c[0], d[0])


def test_manual_seed_repeats_dropout_masks():
    x = np.ones(500)
    convnet.manual_seed(7)
    a = nn.Dropout(0.5)(x).data
    convnet.manual_seed(7)
    b = nn.Dropout(0.5)(x).data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda rng: nn.Conv2d(3, 8, 3, rng=rng),
    lambda rng: nn.Conv1d(3, 8, 3, rng=rng),
    lambda rng: nn.Conv3d(3, 8, 3, rng=rng),
    lambda rng: nn.Conv2d(3, 8, 3, bias="untied", input_size=(6, 6), rng=rng),
    lambda rng: nn.Linear(7, 5, rng=rng),
])
def test_rng_argument_int_and_generator(make):
    same = [make(5), make(5), make(np.random.default_rng(5))]
    for layer in same[1:]:
        for key in layer.state_dict():
            np.testing.assert_array_equal(layer.state_dict()[key], same[0].state_dict()[key])
    other = make(6)
    assert not np.array_equal(other.weight.data, same[0].weight.data)
    # passing rng= leaves the library generator untouched
    convnet.manual_seed(0)
    _ = make(1)
    after_rng = nn.Linear(4, 4).weight.data.copy()
    convnet.manual_seed(0)
    plain = nn.Linear(4, 4).weight.data.copy()
    np.testing.assert_array_equal(after_rng, plain)


def test_init_functions_rng_argument_is_reproducible():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_,
               init.xavier_normal_, init.notes_uniform_):
        a = fn(_empty((8, 4, 3, 3)), rng=3).data
        b = fn(_empty((8, 4, 3, 3)), rng=np.random.default_rng(3)).data
        c = fn(_empty((8, 4, 3, 3)), rng=4).data
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
