"""convnet.nn: the Module API, state_dict interchange with PyTorch, modes and printing.

Oracle and tolerances: see ``nn_oracle.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convnet.nn; not installed")

import convnet  # noqa: E402
import convnet.nn as nn  # noqa: E402
from nn_oracle import TORCH_DTYPE, assert_close, randomize_torch, tnn, torch_state  # noqa: E402,F401

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
