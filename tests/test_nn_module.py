"""convnet.nn: the Module API, state_dict interchange with PyTorch, modes, init and every layer.

PyTorch (CPU build) is the oracle: key names and order, shapes, outputs and gradients come
from ``torch.nn`` built with the same architecture and the same weights (copied from torch
into convnet with ``load_state_dict``). What torch lacks (untied bias, maxout, the notes'
init rule, the repr notation) is checked against an explicit computation or the notes.

Tolerances: float64 rtol=1e-10 with an absolute floor of 1e-12 times the largest magnitude
of the expected array; float32 rtol=1e-5 (atol 1e-6 times that magnitude). Both libraries
compute in the same dtype, so these bound reordering error, not algorithmic differences.

Statistical init tests use the exact variance of the estimator: for n i.i.d. draws with
known mean 0, ``m2 = mean(w**2)`` has variance ``(E[w^4] - E[w^2]^2) / n``, i.e.
``4 b^4 / (45 n)`` for U(-b, b) and ``2 s^4 / n`` for N(0, s^2); the tests allow 6 standard
deviations (a false failure has probability below 2e-9 per check).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convnet.nn; not installed")
import torch.nn.functional as TF  # noqa: E402

import convnet  # noqa: E402
import convnet.nn as nn  # noqa: E402
from convnet.nn import init  # noqa: E402

tnn = torch.nn
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def assert_close(actual, expected, dtype=np.float64, what=""):
    actual = np.asarray(getattr(actual, "data", actual))
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12 * max(scale, 1.0),
                                   err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6 * max(scale, 1.0),
                                   err_msg=what)


def torch_state(module) -> dict:
    """A torch state_dict converted to numpy (copies, so torch can change afterwards)."""
    return {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}


def randomize_torch(module, seed=0):
    """Give every parameter and floating buffer of a torch module distinctive values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=generator, dtype=b.dtype) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=generator, dtype=b.dtype) * 0.3)
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)


# --------------------------------------------------------------------------- architectures
def flat_sequential(lib, dtype):
    """Sequential with Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear (input 3x8x8)."""
    return lib.Sequential(
        lib.Conv2d(3, 4, 3, padding=1, dtype=dtype),
        lib.BatchNorm2d(4, dtype=dtype),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Conv2d(4, 6, 3, padding=1, bias=False, dtype=dtype),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Linear(6 * 2 * 2, 5, dtype=dtype),
    )


def nested_sequential(lib, dtype):
    """Sequential of Sequentials (keys like '0.1.running_mean'); input 3x8x8."""
    return lib.Sequential(
        lib.Sequential(lib.Conv2d(3, 4, 3, padding=1, dtype=dtype),
                       lib.BatchNorm2d(4, dtype=dtype), lib.ReLU()),
        lib.Sequential(lib.MaxPool2d(2), lib.Conv2d(4, 5, 3, dtype=dtype), lib.ReLU()),
        lib.Flatten(),
        lib.Sequential(lib.Linear(5 * 2 * 2, 7, dtype=dtype), lib.ReLU(),
                       lib.Linear(7, 3, dtype=dtype)),
    )


class ConvnetNet(nn.Module):
    """Custom module: own parameter and buffer assigned AFTER the children (torch still lists
    a module's own parameters, then its buffers, then its children)."""

    def __init__(self, dtype=np.float32):
        super().__init__()
        self.features = flat_sequential(nn, dtype)[:7]
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(24, 8, dtype=dtype), nn.ReLU(),
                                        nn.Linear(8, 5, dtype=dtype))
        self.scale = nn.Parameter(np.ones(5, dtype=dtype))
        self.register_buffer("offset", np.zeros(5, dtype=dtype))
        self.register_buffer("scratch", np.zeros(2, dtype=dtype), persistent=False)

    def forward(self, x):
        return self.classifier(self.features(x)) * self.scale + self.offset


class TorchNet(tnn.Module):
    def __init__(self, dtype=torch.float32):
        super().__init__()
        self.features = flat_sequential(tnn, dtype)[:7]
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(24, 8, dtype=dtype), tnn.ReLU(),
                                         tnn.Linear(8, 5, dtype=dtype))
        self.scale = tnn.Parameter(torch.ones(5, dtype=dtype))
        self.register_buffer("offset", torch.zeros(5, dtype=dtype))
        self.register_buffer("scratch", torch.zeros(2, dtype=dtype), persistent=False)

    def forward(self, x):
        return self.classifier(self.features(x)) * self.scale + self.offset


def custom_net(lib, dtype):
    return ConvnetNet(dtype) if lib is nn else TorchNet(dtype)


ARCHITECTURES = {"flat": flat_sequential, "nested": nested_sequential, "custom": custom_net}


def build_pair(name, dtype=np.float64):
    ours = ARCHITECTURES[name](nn, dtype)
    theirs = ARCHITECTURES[name](tnn, TORCH_DTYPE[dtype])
    return ours, theirs


# --------------------------------------------------------------------------- traversal
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_named_parameters_match_torch_names_order_and_shapes(arch):
    ours, theirs = build_pair(arch)
    ours_named = [(name, p.shape) for name, p in ours.named_parameters()]
    torch_named = [(name, tuple(p.shape)) for name, p in theirs.named_parameters()]
    assert ours_named == torch_named
    params = list(ours.parameters())
    assert len(params) == len(torch_named)
    assert all(isinstance(p, nn.Parameter) and isinstance(p, convnet.Tensor) for p in params)
    assert all(p.requires_grad for p in params)
    assert [id(p) for p in params] == [id(p) for _, p in ours.named_parameters()]


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_children_and_modules_match_torch(arch):
    ours, theirs = build_pair(arch)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.children()] == \
        [type(m).__name__ for m in theirs.children()]
    ours_modules = [(n, type(m).__name__) for n, m in ours.named_modules()]
    torch_modules = [(n, type(m).__name__) for n, m in theirs.named_modules()]
    assert ours_modules[0][0] == torch_modules[0][0] == ""  # the root: our own class name
    assert ours_modules[1:] == torch_modules[1:]
    assert [type(m).__name__ for m in ours.modules()][1:] == \
        [type(m).__name__ for m in theirs.modules()][1:]
    assert next(iter(ours.modules())) is ours


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_buffers_match_torch(arch):
    ours, theirs = build_pair(arch)
    ours_named = [(n, b.shape) for n, b in ours.named_buffers()]
    torch_named = [(n, tuple(b.shape)) for n, b in theirs.named_buffers()]
    assert ours_named == torch_named  # non-persistent buffers are buffers too
    assert len(list(ours.buffers())) == len(torch_named)
    assert all(isinstance(b, np.ndarray) for b in ours.buffers())


def test_shared_module_and_parameter_listed_once_like_torch():
    linear = nn.Linear(3, 3)
    ours = nn.Sequential(linear, nn.ReLU(), linear)
    t_linear = tnn.Linear(3, 3)
    theirs = tnn.Sequential(t_linear, tnn.ReLU(), t_linear)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_parameters_recurse_false_and_attribute_registration():
    net = ConvnetNet()
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_buffers(recurse=False)] == ["offset", "scratch"]
    assert net.features is net._modules["features"]
    del net.classifier
    assert not any(n.startswith("classifier") for n in net.state_dict())
    assert [n for n, _ in net.named_children()] == ["features"]


def test_module_list_keys_match_torch():
    ours = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)])
    theirs = tnn.ModuleList([tnn.Linear(2, 3), tnn.ReLU(), tnn.Linear(3, 1)])
    assert len(ours) == 3
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_init_args_record_the_callers_arguments():
    conv = nn.Conv2d(3, 8, 3, padding="same")
    assert conv.init_args == {"in_channels": 3, "out_channels": 8, "kernel_size": 3,
                              "padding": "same"}
    relu = nn.ReLU()
    seq = nn.Sequential(conv, relu)
    assert seq.init_args == {"modules": (conv, relu)}


# --------------------------------------------------------------------------- state_dict
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_state_dict_keys_order_shapes_and_dtypes_equal_torch(arch):
    for dtype in (np.float32, np.float64):
        ours, theirs = build_pair(arch, dtype)
        sd, tsd = ours.state_dict(), theirs.state_dict()
        assert list(sd.keys()) == list(tsd.keys())
        for key in tsd:
            assert sd[key].shape == tuple(tsd[key].shape), key
            assert sd[key].dtype == tsd[key].numpy().dtype, key


def test_state_dict_expected_literal_keys():
    # the literal keys PyTorch produces for the custom architecture (hand-checked)
    ours = ConvnetNet()
    assert list(ours.state_dict()) == [
        "scale", "offset",
        "features.0.weight", "features.0.bias",
        "features.1.weight", "features.1.bias", "features.1.running_mean",
        "features.1.running_var", "features.1.num_batches_tracked",
        "features.4.weight",
        "classifier.1.weight", "classifier.1.bias", "classifier.3.weight", "classifier.3.bias",
    ]


def test_state_dict_values_are_live_parameter_data():
    layer = nn.Linear(3, 2)
    sd = layer.state_dict()
    assert np.shares_memory(sd["weight"], layer.weight.data)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_load_state_dict_from_torch_gives_torch_outputs(arch, dtype):
    ours, theirs = build_pair(arch, dtype)
    randomize_torch(theirs, seed=1)
    result = ours.load_state_dict(torch_state(theirs))
    assert tuple(map(list, result)) == ([], [])
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy(), err_msg=key)
    x = np.random.default_rng(2).standard_normal((3, 3, 8, 8)).astype(dtype)
    # eval: batch norm normalises with the loaded running statistics
    ours.eval(), theirs.eval()
    assert_close(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), dtype, "eval output")
    # train: batch statistics, and the running statistics move the same way
    ours.train(), theirs.train()
    assert_close(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), dtype, "train output")
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value.numpy(), dtype, key)


def test_load_state_dict_copies_values():
    ours, theirs = build_pair("flat")
    state = torch_state(theirs)
    ours.load_state_dict(state)
    before = ours.state_dict()["0.weight"].copy()
    state["0.weight"][...] = 123.0
    np.testing.assert_array_equal(ours.state_dict()["0.weight"], before)


def test_load_state_dict_casts_float64_into_float32_parameters():
    ours = flat_sequential(nn, np.float32)
    theirs = flat_sequential(tnn, torch.float64)
    ours.load_state_dict(torch_state(theirs))
    assert ours[0].weight.dtype == np.float32
    np.testing.assert_array_equal(ours[0].weight.data,
                                  theirs[0].weight.detach().numpy().astype(np.float32))


def _flat_state():
    return torch_state(flat_sequential(tnn, torch.float32))


def test_strict_load_names_missing_key():
    state = _flat_state()
    del state["1.running_var"]
    with pytest.raises(ValueError, match=r"missing.*1\.running_var"):
        flat_sequential(nn, np.float32).load_state_dict(state)


def test_strict_load_names_unexpected_key():
    state = _flat_state()
    state["4.bias"] = np.zeros(6, np.float32)  # layer 4 is built with bias=False
    with pytest.raises(ValueError, match=r"unexpected.*4\.bias"):
        flat_sequential(nn, np.float32).load_state_dict(state)


def test_strict_load_names_wrongly_shaped_key():
    state = _flat_state()
    state["8.weight"] = np.zeros((5, 25), np.float32)
    with pytest.raises(ValueError, match=r"8\.weight.*\(5, 24\).*\(5, 25\)"):
        flat_sequential(nn, np.float32).load_state_dict(state)


def test_strict_load_lists_every_problem_at_once():
    state = _flat_state()
    del state["0.bias"]
    del state["8.bias"]
    state["9.weight"] = np.zeros(1, np.float32)
    state["0.weight"] = np.zeros((4, 3, 5, 5), np.float32)
    with pytest.raises(ValueError) as info:
        flat_sequential(nn, np.float32).load_state_dict(state)
    message = str(info.value)
    for key in ("0.bias", "8.bias", "9.weight", "0.weight"):
        assert key in message


def test_non_strict_load_returns_missing_and_unexpected_like_torch():
    source = flat_sequential(tnn, torch.float32)
    randomize_torch(source, seed=3)
    state = torch_state(source)
    del state["0.bias"]
    del state["8.bias"]
    state["extra.weight"] = np.ones(2, np.float32)
    state["4.bias"] = np.ones(6, np.float32)
    ours = flat_sequential(nn, np.float32)
    bias_before = ours[0].bias.data.copy()
    missing, unexpected = ours.load_state_dict(state, strict=False)
    reference = flat_sequential(tnn, torch.float32).load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert list(missing) == list(reference.missing_keys) == ["0.bias", "8.bias"]
    assert sorted(unexpected) == sorted(reference.unexpected_keys) == ["4.bias", "extra.weight"]
    np.testing.assert_array_equal(ours[0].weight.data, state["0.weight"])
    np.testing.assert_array_equal(ours[1].running_var, state["1.running_var"])
    np.testing.assert_array_equal(ours[0].bias.data, bias_before)


def test_non_strict_load_still_rejects_wrong_shape_like_torch():
    state = _flat_state()
    state["8.weight"] = np.zeros((5, 25), np.float32)
    with pytest.raises(RuntimeError, match="size mismatch"):
        flat_sequential(tnn, torch.float32).load_state_dict(
            {k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    with pytest.raises(ValueError, match=r"8\.weight"):
        flat_sequential(nn, np.float32).load_state_dict(state, strict=False)


# --------------------------------------------------------------------------- modes
def test_train_eval_recurse_and_return_self():
    net = ConvnetNet()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not any(m.training for m in net.modules())
    net.features.train()
    assert net.features[1].training and not net.training and not net.classifier.training


def test_dropout_is_identity_in_eval_inside_nested_model():
    model = nn.Sequential(nn.Sequential(nn.Dropout(0.5), nn.Identity()), nn.Dropout(0.9))
    x = convnet.tensor(np.random.default_rng(0).standard_normal((4, 50)), requires_grad=True)
    model.eval()
    y = model(x)
    np.testing.assert_array_equal(y.data, x.data)
    upstream = np.random.default_rng(1).standard_normal((4, 50))
    y.backward(upstream)
    np.testing.assert_array_equal(x.grad, upstream)


def test_dropout_in_train_zeroes_and_scales():
    p, n = 0.3, 20000
    layer = nn.Dropout(p)
    x = convnet.tensor(np.random.default_rng(0).uniform(1, 2, n), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-15)
    dropped_fraction = 1 - kept.mean()
    assert abs(dropped_fraction - p) < 6 * math.sqrt(p * (1 - p) / n)
    y.backward(np.ones(n))
    np.testing.assert_allclose(x.grad, kept / (1 - p), rtol=1e-15)


def test_dropout_int_rng_draws_a_new_mask_each_call_and_repeats_across_layers():
    x = np.ones(1000)
    first, second = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    a1, a2 = first(x).data, first(x).data
    b1, b2 = second(x).data, second(x).data
    np.testing.assert_array_equal(a1, b1)  # same seed, same sequence of masks
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2), "Dropout(rng=int) reuses one mask at every forward"


def test_dropout_generator_rng_is_reproducible():
    x = np.ones(1000)
    a = nn.Dropout(0.5, rng=np.random.default_rng(5))
    b = nn.Dropout(0.5, rng=np.random.default_rng(5))
    masks_a = [a(x).data for _ in range(2)]
    masks_b = [b(x).data for _ in range(2)]
    np.testing.assert_array_equal(masks_a[0], masks_b[0])
    np.testing.assert_array_equal(masks_a[1], masks_b[1])
    assert not np.array_equal(masks_a[0], masks_a[1])


def _batchnorm_pair(cls_name, channels, dtype=np.float64, **kwargs):
    ours = getattr(nn, cls_name)(channels, dtype=dtype, **kwargs)
    theirs = getattr(tnn, cls_name)(channels, dtype=TORCH_DTYPE[dtype], **kwargs)
    if kwargs.get("affine", True):
        randomize_torch(theirs, seed=4)
        with torch.no_grad():
            theirs.running_mean.zero_() if theirs.running_mean is not None else None
            theirs.running_var.fill_(1) if theirs.running_var is not None else None
            theirs.num_batches_tracked.zero_() if theirs.num_batches_tracked is not None else None
        ours.load_state_dict(torch_state(theirs))
    return ours, theirs


@pytest.mark.parametrize("cls_name, shape, kwargs", [
    ("BatchNorm2d", (4, 3, 5, 6), {}),
    ("BatchNorm2d", (2, 3, 4, 4), {"momentum": 0.3, "eps": 1e-3}),
    ("BatchNorm1d", (8, 3), {}),
    ("BatchNorm1d", (4, 3, 7), {}),
    ("BatchNorm2d", (4, 3, 5, 6), {"affine": False}),
])
def test_batchnorm_train_updates_running_stats_and_eval_uses_them_like_torch(cls_name, shape,
                                                                              kwargs):
    ours, theirs = _batchnorm_pair(cls_name, shape[1], **kwargs)
    rng = np.random.default_rng(5)
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        xc = convnet.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(xc), theirs(xt)
        assert_close(y_ours, y_theirs.detach().numpy(), what=f"train output, step {step}")
        upstream = rng.standard_normal(shape)
        y_ours.backward(upstream)
        y_theirs.backward(torch.from_numpy(upstream))
        assert_close(xc.grad, xt.grad.numpy(), what="input grad")
        for name, p in theirs.named_parameters():
            assert_close(getattr(ours, name).grad, p.grad.numpy(), what=f"{name} grad")
            p.grad = None
        ours.zero_grad()
        for key, value in theirs.state_dict().items():
            assert_close(ours.state_dict()[key], value.numpy(), what=f"{key}, step {step}")
    assert int(ours.num_batches_tracked) == 3 == int(theirs.num_batches_tracked)
    assert ours.num_batches_tracked.dtype == np.int64 and ours.num_batches_tracked.shape == ()
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape) + 0.5
    running = {k: v.copy() for k, v in ours.state_dict().items()}
    assert_close(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), what="eval output")
    for key, value in running.items():  # eval leaves the running statistics alone
        np.testing.assert_array_equal(ours.state_dict()[key], value)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval_like_torch():
    ours, theirs = _batchnorm_pair("BatchNorm2d", 3, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = np.random.default_rng(6).standard_normal((4, 3, 3, 3)) * 2 + 1
    assert_close(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), what="eval output")


def test_batchnorm_eval_output_is_the_running_stat_formula():
    # hand derivation: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
    layer = nn.BatchNorm2d(2, dtype=np.float64).eval()
    layer.load_state_dict({"weight": np.array([2.0, -1.0]), "bias": np.array([0.5, 0.0]),
                           "running_mean": np.array([1.0, -2.0]),
                           "running_var": np.array([4.0, 0.25]),
                           "num_batches_tracked": np.array(10)})
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    expected = np.empty_like(x)
    expected[0, 0] = (x[0, 0] - 1.0) / math.sqrt(4.0 + 1e-5) * 2.0 + 0.5
    expected[0, 1] = (x[0, 1] + 2.0) / math.sqrt(0.25 + 1e-5) * -1.0
    assert_close(layer(x), expected)


# --------------------------------------------------------------------------- gradients
def test_zero_grad_and_accumulation():
    model = flat_sequential(nn, np.float64)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    model(x).sum().backward()
    first = [p.grad.copy() for p in model.parameters()]
    assert all(g is not None for g in first)
    model(x).sum().backward()
    for p, g in zip(model.parameters(), first):
        assert_close(p.grad, 2 * g)
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# --------------------------------------------------------------------------- repr
def test_conv_repr_uses_the_notes_notation():
    assert repr(nn.Conv2d(3, 16, 3, stride=2, padding="same")) == \
        "Conv2d([16 | 3x3 s 2], in_channels=3, padding='same')"
    assert nn.conv.notation(16, (3, 3), (2, 2)) == "[16 | 3x3 s 2]"
    assert nn.conv.notation(128, (3, 3), (1, 1)) == "[128 | 3x3 s 1]"
    assert repr(nn.Conv2d(1, 6, 5)).startswith("Conv2d([6 | 5x5 s 1]")
    assert repr(nn.Conv1d(2, 4, 3)).startswith("Conv1d([4 | 3 s 1]")
    assert repr(nn.Conv3d(2, 4, 3, stride=2)).startswith("Conv3d([4 | 3x3x3 s 2]")


def test_sequential_repr_nests_children_with_notation():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding="same"), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(8, 16, 3, stride=2)))
    text = repr(model)
    lines = text.split("\n")
    assert lines[0] == "Sequential("
    assert lines[1] == "  (0): Conv2d([8 | 3x3 s 1], in_channels=3, padding='same')"
    assert lines[2] == "  (1): ReLU()"
    assert lines[3] == "  (2): Sequential("
    assert lines[4] == "    (0): Conv2d([16 | 3x3 s 2], in_channels=8)"
    assert lines[-1] == ")"


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
