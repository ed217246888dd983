"""Whole models against PyTorch: LeNet-5 and the notes' homework CIFAR net.

Each model is built in convnet and in torch with the same architecture; the torch model's
initial weights are copied into convnet through ``state_dict`` (whose keys must be exactly
torch's). On random batches both libraries must give the same cross-entropy loss, the same
gradients of every parameter and of the input, and the same parameters after 5 steps of
SGD (momentum 0.9, weight decay 5e-3) and after 5 steps of Adam.

Torch has no asymmetric pool padding: the notes' ``MaxPool2d(3, 2, padding='same')`` pads
``(k - 1) // 2`` before and ``max(0, (out - 1) * s + k - in - before)`` after (1 and 0 on
even sizes), done in torch with ``F.pad(value=-inf)`` followed by ``max_pool2d``.

Tolerances: float64 rtol 1e-10, float32 rtol 1e-4 (elementwise, with an absolute floor of
rtol times the largest magnitude of the expected array).

Comparing two float32 computations is only meaningful where float32 itself is
well-conditioned, so each case (model x {gradient, SGD run, Adam run}) runs on a seed for
which, in torch:
- no ReLU or max-pool decision lies within rounding of flipping: along the float64 run every
  ReLU pre-activation is at least MARGIN away from 0 and every max-pool window's top-2 gap
  exceeds MARGIN (windows whose maximum is a ReLU zero are exempt: their gradient is zero
  whichever zero wins);
- torch's float32 pre-activations stay within MARGIN / 4 of its float64 ones (so torch and
  convnet in float32 differ by less than MARGIN / 2 and cannot flip a decision), and its
  final float32 parameters within a quarter of the float32 tolerance of float64. This also
  rules out Adam's amplification of a gradient that is within float32 rounding of zero
  (``m / sqrt(v)`` is then +-1 or anything between, whatever the gradient's size).
The seed is re-drawn until all of this holds (START_SEED records where the search lands) and
``test_case_is_well_conditioned_in_float32`` asserts it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for whole models; not installed")
import torch.nn.functional as TF  # noqa: E402

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402
import convnet.nn as nn  # noqa: E402
from convnet import optim  # noqa: E402

tnn = torch.nn
MARGIN = 1e-5
TOL = {np.float64: 1e-10, np.float32: 1e-4}
STEPS = 5
SGD_OPTIONS = dict(lr=0.05, momentum=0.9, weight_decay=5e-3)
ADAM_OPTIONS = dict(lr=1e-3)


# --------------------------------------------------------------------------- torch pieces
class TorchSamePool(tnn.Module):
    """The notes' 'same' max pooling in torch: pad with -inf (asymmetric), then pool."""

    def __init__(self, kernel_size, stride):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def pads(self, size):
        out = (size - 1) // self.stride + 1
        before = (self.kernel_size - 1) // 2
        after = max(0, (out - 1) * self.stride + self.kernel_size - size - before)
        return before, after

    def forward(self, x):
        top, bottom = self.pads(x.shape[2])
        left, right = self.pads(x.shape[3])
        padded = TF.pad(x, (left, right, top, bottom), value=-math.inf)
        return TF.max_pool2d(padded, self.kernel_size, self.stride)


def test_torch_same_pool_padding_rule():
    pool = TorchSamePool(3, 2)
    assert [pool.pads(n) for n in (32, 16, 8, 4)] == [(1, 0)] * 4
    assert pool.pads(7) == (1, 1)


# --------------------------------------------------------------------------- architectures
def lenet(lib, activation, pooling, padding, dtype):
    act = {"tanh": lib.Tanh, "relu": lib.ReLU}[activation]
    pool = {"avg": lambda: lib.AvgPool2d(2), "max": lambda: lib.MaxPool2d(2)}[pooling]
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=padding, dtype=dtype), act(), pool(),
        lib.Conv2d(6, 16, 5, dtype=dtype), act(), pool(),
        lib.Flatten(),
        lib.Linear(16 * 5 * 5, 120, dtype=dtype), act(),
        lib.Linear(120, 84, dtype=dtype), act(),
        lib.Linear(84, 10, dtype=dtype),
    )


def cifar_net(lib, dtype):
    layers = []
    for cin, cout in ((3, 8), (8, 16), (16, 32), (32, 64)):
        pool = nn.MaxPool2d(3, 2, padding="same") if lib is nn else TorchSamePool(3, 2)
        layers += [lib.Conv2d(cin, cout, 3, stride=1, padding="same", dtype=dtype), lib.ReLU(),
                   pool]
    layers += [lib.Flatten(), lib.Linear(256, 10, dtype=dtype)]
    return lib.Sequential(*layers)


LENET_KEYS = ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias",
              "9.weight", "9.bias", "11.weight", "11.bias"]
CIFAR_KEYS = ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias",
              "9.weight", "9.bias", "13.weight", "13.bias"]

MODELS = {
    # name: (builder(lib, dtype), input shape (without batch), batch size, expected keys)
    "lenet-tanh-avg-32": (lambda lib, dt: lenet(lib, "tanh", "avg", 0, dt), (1, 32, 32), 4,
                          LENET_KEYS),
    "lenet-relu-max-28": (lambda lib, dt: lenet(lib, "relu", "max", 2, dt), (1, 28, 28), 4,
                          LENET_KEYS),
    "cifar-homework": (cifar_net, (3, 32, 32), 2, CIFAR_KEYS),
}
# first seed tried for each (model, case) (found by the search below; the search still runs
# and re-draws if the margin condition ever fails for it)
START_SEED = {
    ("lenet-tanh-avg-32", None): 0, ("lenet-tanh-avg-32", "sgd"): 0,
    ("lenet-tanh-avg-32", "adam"): 2,
    ("lenet-relu-max-28", None): 2, ("lenet-relu-max-28", "sgd"): 45,
    ("lenet-relu-max-28", "adam"): 20,
    ("cifar-homework", None): 1, ("cifar-homework", "sgd"): 18, ("cifar-homework", "adam"): 20,
}

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def torch_model(name, seed, dtype):
    torch.manual_seed(seed)
    model = MODELS[name][0](tnn, torch.float64)  # the same draws for both dtypes
    return model.to(TORCH_DTYPE[dtype])


def batches(name, seed, dtype):
    _, shape, size, _ = MODELS[name]
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((size,) + shape).astype(dtype),
             rng.integers(0, 10, size=size)) for _ in range(STEPS)]


# --------------------------------------------------------------------------- margins
def _pool_gaps(x, kernel, stride, before_after=None):
    """Top-2 gaps of the windows whose max is positive (others are ReLU zeros)."""
    if before_after is not None:
        (top, bottom), (left, right) = before_after
        x = TF.pad(x, (left, right, top, bottom), value=-math.inf)
    n, c = x.shape[:2]
    windows = TF.unfold(x.reshape(n * c, 1, *x.shape[2:]), kernel, stride=stride)
    top2 = windows.topk(2, dim=1).values
    positive = top2[:, 0] > 0
    gaps = (top2[:, 0] - top2[:, 1])[positive]
    return gaps.min().item() if gaps.numel() else math.inf


def torch_forward(model, x):
    """Torch forward through the Sequential; returns (logits, smallest decision margin,
    list of the ReLU pre-activations)."""
    margin, pre_activations = math.inf, []
    for layer in model:
        if isinstance(layer, tnn.ReLU):
            pre_activations.append(x)
            margin = min(margin, x.detach().abs().min().item())
        elif isinstance(layer, tnn.MaxPool2d):
            margin = min(margin, _pool_gaps(x.detach(), layer.kernel_size, layer.stride))
        elif isinstance(layer, TorchSamePool):
            pads = (layer.pads(x.shape[2]), layer.pads(x.shape[3]))
            margin = min(margin, _pool_gaps(x.detach(), layer.kernel_size, layer.stride, pads))
        x = layer(x)
    return x, margin, pre_activations


def torch_optimizer(kind, params):
    if kind == "sgd":
        return torch.optim.SGD(params, **SGD_OPTIONS)
    return torch.optim.Adam(params, **ADAM_OPTIONS)


def ours_optimizer(kind, params):
    if kind == "sgd":
        return optim.SGD(params, **SGD_OPTIONS)
    return optim.Adam(params, **ADAM_OPTIONS)


def torch_trajectory(name, seed, dtype, kind):
    """Torch forwards of one case: the first batch only (kind None) or the STEPS batches of a
    training run with the optimizer ``kind``. Returns ([(margin, pre-activations)] per
    forward, {key: final parameter array})."""
    model = torch_model(name, seed, dtype)
    opt = None if kind is None else torch_optimizer(kind, model.parameters())
    records = []
    for x, y in batches(name, seed, dtype)[:1 if kind is None else STEPS]:
        logits, margin, pre_activations = torch_forward(model, torch.from_numpy(x))
        records.append((margin, [p.detach() for p in pre_activations]))
        if opt is not None:
            opt.zero_grad()
            TF.cross_entropy(logits, torch.from_numpy(y)).backward()
            opt.step()
    return records, {k: v.detach().numpy().astype(np.float64) for k, v in model.state_dict().items()}


@functools.lru_cache(maxsize=None)
def conditioning(name, seed, kind):
    """(smallest decision margin of the float64 run, largest deviation of torch's float32
    pre-activations from float64, largest deviation of its final float32 parameters from
    float64 relative to each array's largest magnitude)."""
    reference, final64 = torch_trajectory(name, seed, np.float64, kind)
    single, final32 = torch_trajectory(name, seed, np.float32, kind)
    margin = min(m for m, _ in reference)
    deviation = max([0.0] + [(a - b.double()).abs().max().item()
                             for (_, pre64), (_, pre32) in zip(reference, single)
                             for a, b in zip(pre64, pre32)])
    parameter_deviation = max(np.max(np.abs(final32[k] - final64[k])) / np.max(np.abs(final64[k]))
                              for k in final64)
    return margin, deviation, parameter_deviation


def well_conditioned(name, seed, kind):
    margin, deviation, parameter_deviation = conditioning(name, seed, kind)
    return margin > MARGIN and deviation < MARGIN / 4 and parameter_deviation < TOL[np.float32] / 4


@functools.lru_cache(maxsize=None)
def seed_for(name, kind):
    first = START_SEED[name, kind]
    for seed in range(first, first + 300):
        if well_conditioned(name, seed, kind):
            return seed
    raise AssertionError(f"{name}, {kind}: no well-conditioned seed (decision margins above "
                         f"{MARGIN}, float32 rounding below a quarter of the tolerances)")


# --------------------------------------------------------------------------- helpers
def assert_rel_close(actual, expected, dtype, what):
    actual = np.asarray(getattr(actual, "data", actual))
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {dtype}"
    rtol = TOL[dtype]
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def build_pair(name, seed, dtype):
    theirs = torch_model(name, seed, dtype)
    ours = MODELS[name][0](nn, dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", sorted(MODELS))
def test_state_dict_keys_equal_torch_names(name):
    builder, _, _, expected = MODELS[name]
    ours, theirs = builder(nn, np.float32), builder(tnn, torch.float32)
    assert list(theirs.state_dict()) == expected
    assert list(ours.state_dict()) == expected
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape), key


@pytest.mark.parametrize("kind", [None, "sgd", "adam"], ids=["grad", "sgd", "adam"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_case_is_well_conditioned_in_float32(name, kind):
    margin, deviation, parameter_deviation = conditioning(name, seed_for(name, kind), kind)
    assert margin > MARGIN
    # torch float32 stays within MARGIN / 4 of float64 along the whole run, so two float32
    # computations (torch's and ours) differ by less than MARGIN / 2: no decision can flip;
    # likewise its final float32 parameters sit within a quarter of the float32 tolerance
    assert deviation < MARGIN / 4
    assert parameter_deviation < TOL[np.float32] / 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_loss_and_gradients_equal_torch(name, dtype):
    seed = seed_for(name, None)
    ours, theirs = build_pair(name, seed, dtype)
    for x, y in batches(name, seed, dtype)[:1]:
        xc = convnet.tensor(x.copy(), requires_grad=True)
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        loss_ours = F.cross_entropy(ours(xc), y)
        logits_t, margin, _ = torch_forward(theirs, xt)
        loss_theirs = TF.cross_entropy(logits_t, torch.from_numpy(y))
        assert margin > MARGIN
        assert_rel_close(loss_ours, loss_theirs.detach().numpy(), dtype, "loss")
        ours.zero_grad()
        theirs.zero_grad()
        loss_ours.backward()
        loss_theirs.backward()
        assert_rel_close(xc.grad, xt.grad.numpy(), dtype, "input gradient")
        ours_params = dict(ours.named_parameters())
        for key, p in theirs.named_parameters():
            assert_rel_close(ours_params[key].grad, p.grad.numpy(), dtype, f"{key} gradient")


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_parameters_after_five_steps_equal_torch(name, dtype, kind):
    seed = seed_for(name, kind)
    ours, theirs = build_pair(name, seed, dtype)
    opt_ours = ours_optimizer(kind, ours.parameters())
    opt_theirs = torch_optimizer(kind, theirs.parameters())
    for step, (x, y) in enumerate(batches(name, seed, dtype)[:STEPS]):
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        loss_ours = F.cross_entropy(ours(x), y)
        logits_t, margin, _ = torch_forward(theirs, torch.from_numpy(x))
        loss_theirs = TF.cross_entropy(logits_t, torch.from_numpy(y))
        assert margin > MARGIN
        assert_rel_close(loss_ours, loss_theirs.detach().numpy(), dtype, f"loss at step {step}")
        loss_ours.backward()
        loss_theirs.backward()
        opt_ours.step()
        opt_theirs.step()
    moved = False
    initial = torch_model(name, seed, dtype).state_dict()
    for key, value in theirs.state_dict().items():
        assert_rel_close(ours.state_dict()[key], value.numpy(), dtype, f"{key} after {STEPS} steps")
        moved |= not np.array_equal(value.numpy(), initial[key].numpy())
    assert moved
