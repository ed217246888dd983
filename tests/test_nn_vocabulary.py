"""torch.nn's layers, losses and Module API on convnet, one constructor for both libraries:
each module is built from the same lambda on torch.nn and on convnet.nn, the convnet one
loads the torch one's ``state_dict``, and outputs, input gradients, parameter gradients and
updated buffers must agree (float64).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnet
import convnet.nn as cnn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of the nn vocabulary")

RNG = np.random.default_rng(1)


def normal(*shape):
    return RNG.standard_normal(shape)


def labels(*shape, high=4):
    return RNG.integers(0, high, shape).astype(np.int64)


def probabilities(*shape):
    return RNG.uniform(0.05, 0.95, shape)


# name: (make(nn) -> module, inputs, train mode)
LAYERS = {
    "SiLU": (lambda nn: nn.SiLU(), [normal(2, 3)]),
    "GELU": (lambda nn: nn.GELU(), [normal(2, 3)]),
    "GELU tanh": (lambda nn: nn.GELU(approximate="tanh"), [normal(2, 3)]),
    "ReLU6": (lambda nn: nn.ReLU6(), [normal(2, 3) * 5]),
    "Hardswish": (lambda nn: nn.Hardswish(), [normal(2, 3) * 3]),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), [normal(2, 3) * 3]),
    "Hardtanh": (lambda nn: nn.Hardtanh(-0.5, 2.0), [normal(2, 3)]),
    "ELU": (lambda nn: nn.ELU(alpha=0.5), [normal(2, 3)]),
    "CELU": (lambda nn: nn.CELU(alpha=1.5), [normal(2, 3)]),
    "SELU": (lambda nn: nn.SELU(), [normal(2, 3)]),
    "PReLU": (lambda nn: nn.PReLU(3, init=0.1), [normal(2, 3, 4)]),
    "Mish": (lambda nn: nn.Mish(), [normal(2, 3)]),
    "Softplus": (lambda nn: nn.Softplus(beta=2, threshold=5), [normal(2, 3) * 4]),
    "Softsign": (lambda nn: nn.Softsign(), [normal(2, 3)]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), [normal(2, 3)]),
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), [normal(2, 3)]),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [normal(2, 3, 2, 2)]),
    "LayerNorm": (lambda nn: nn.LayerNorm((3, 4)), [normal(2, 3, 4)]),
    "LayerNorm no affine": (lambda nn: nn.LayerNorm(4, elementwise_affine=False), [normal(2, 4)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [normal(2, 4, 3, 3)]),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3), [normal(2, 3, 5)]),
    "InstanceNorm2d affine": (lambda nn: nn.InstanceNorm2d(3, affine=True), [normal(2, 3, 4, 4)]),
    "InstanceNorm2d running": (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True),
                               [normal(2, 3, 4, 4)]),
    "LocalResponseNorm": (lambda nn: nn.LocalResponseNorm(3, alpha=0.1), [normal(2, 5, 3, 3)]),
    "ZeroPad2d": (lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), [normal(1, 2, 3, 3)]),
    "ConstantPad1d": (lambda nn: nn.ConstantPad1d(2, 3.5), [normal(1, 2, 3)]),
    "ReflectionPad2d": (lambda nn: nn.ReflectionPad2d(2), [normal(1, 2, 4, 4)]),
    "ReplicationPad2d": (lambda nn: nn.ReplicationPad2d((1, 0, 2, 1)), [normal(1, 2, 3, 3)]),
    "CircularPad2d": (lambda nn: nn.CircularPad2d(1), [normal(1, 2, 3, 3)]),
    "ReflectionPad1d": (lambda nn: nn.ReflectionPad1d((2, 1)), [normal(1, 2, 4)]),
    "PixelShuffle": (lambda nn: nn.PixelShuffle(2), [normal(1, 8, 2, 3)]),
    "PixelUnshuffle": (lambda nn: nn.PixelUnshuffle(2), [normal(1, 2, 4, 6)]),
    "ChannelShuffle": (lambda nn: nn.ChannelShuffle(3), [normal(1, 6, 2, 2)]),
    "Unfold": (lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
               [normal(2, 3, 5, 6)]),
    "Fold": (lambda nn: nn.Fold((5, 5), 3, padding=1, stride=2), [normal(2, 18, 9)]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 3)), [normal(4, 6)]),
    "Identity": (lambda nn: nn.Identity(54, unused=True), [normal(2, 3)]),
    "Embedding": (lambda nn: nn.Embedding(6, 3, padding_idx=2), [labels(2, 4, high=6)]),
    "Sequential OrderedDict": (lambda nn: nn.Sequential(__import__("collections").OrderedDict(
        [("conv", nn.Conv2d(2, 3, 3, padding=1)), ("act", nn.GELU()),
         ("norm", nn.GroupNorm(1, 3))])), [normal(2, 2, 4, 4)]),
    "Conv + BatchNorm + Hardswish": (lambda nn: nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4), nn.Hardswish(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0), nn.Linear(4, 2)),
        [normal(2, 3, 8, 8)]),
}

# name: (make(nn) -> loss module, input, target, which get gradients)
LOSSES = {
    "CrossEntropyLoss": (lambda nn: nn.CrossEntropyLoss(), normal(5, 4), labels(5), [0]),
    "CrossEntropyLoss options": (lambda nn: nn.CrossEntropyLoss(
        weight=torch.tensor([1.0, 2.0, 0.5, 1.0]).double() if nn is torch.nn
        else convnet.tensor(np.array([1.0, 2.0, 0.5, 1.0])), ignore_index=3, label_smoothing=0.2),
        normal(6, 4), labels(6), [0]),
    "CrossEntropyLoss per pixel": (lambda nn: nn.CrossEntropyLoss(reduction="none"),
                                   normal(2, 4, 3, 3), labels(2, 3, 3), [0]),
    "CrossEntropyLoss probabilities": (lambda nn: nn.CrossEntropyLoss(), normal(3, 4),
                                       probabilities(3, 4), [0, 1]),
    "NLLLoss": (lambda nn: nn.NLLLoss(reduction="sum"), normal(5, 4), labels(5), [0]),
    "MSELoss": (lambda nn: nn.MSELoss(), normal(3, 4), normal(3, 4), [0, 1]),
    "L1Loss": (lambda nn: nn.L1Loss(reduction="sum"), normal(3, 4), normal(3, 4), [0, 1]),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(beta=0.5), normal(3, 4), normal(3, 4), [0, 1]),
    "HuberLoss": (lambda nn: nn.HuberLoss(delta=0.3), normal(3, 4), normal(3, 4), [0, 1]),
    "BCELoss": (lambda nn: nn.BCELoss(), probabilities(3, 4), probabilities(3, 4), [0, 1]),
    "BCEWithLogitsLoss": (lambda nn: nn.BCEWithLogitsLoss(
        pos_weight=(torch.tensor([1.0, 2.0, 3.0, 0.5]).double() if nn is torch.nn
                    else convnet.tensor(np.array([1.0, 2.0, 3.0, 0.5])))),
        normal(3, 4), probabilities(3, 4), [0, 1]),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean"), normal(3, 4),
                  probabilities(3, 4), [0, 1]),
    "KLDivLoss log_target": (lambda nn: nn.KLDivLoss(reduction="sum", log_target=True),
                             normal(3, 4), normal(3, 4), [0, 1]),
}


def _pair(make):
    torch.manual_seed(0)
    theirs = make(torch.nn).double()
    ours = make(cnn).double()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    return theirs, ours


def _check_gradients(theirs_inputs, ours_inputs, theirs, ours):
    for expected, actual in zip(theirs_inputs, ours_inputs):
        if expected.grad is not None:
            np.testing.assert_allclose(actual.grad, expected.grad.numpy(), rtol=1e-7, atol=1e-10)
    ours_params = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        if parameter.grad is not None:
            np.testing.assert_allclose(ours_params[name].grad, parameter.grad.numpy(), rtol=1e-7,
                                       atol=1e-10, err_msg=name)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_layer_matches_torch(name, training):
    make, arrays = LAYERS[name]
    theirs, ours = _pair(make)
    theirs.train(training)
    ours.train(training)
    floating = [a.dtype.kind == "f" for a in arrays]
    theirs_inputs = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floating)]
    ours_inputs = [convnet.tensor(a, requires_grad=f) for a, f in zip(arrays, floating)]
    expected, actual = theirs(*theirs_inputs), ours(*ours_inputs)
    assert actual.shape == tuple(expected.shape) and actual.dtype == expected.detach().numpy().dtype
    np.testing.assert_allclose(actual.data, expected.detach().numpy(), rtol=1e-7, atol=1e-10)
    upstream = RNG.standard_normal(actual.shape)
    (expected * torch.tensor(upstream)).sum().backward()
    (actual * convnet.tensor(upstream)).sum().backward()
    _check_gradients(theirs_inputs, ours_inputs, theirs, ours)
    for key, buffer in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], buffer.numpy(), rtol=1e-7, err_msg=key)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_module_matches_torch(name):
    make, prediction, target, differentiable = LOSSES[name]
    theirs, ours = make(torch.nn), make(cnn)
    arrays = [prediction, target]
    theirs_inputs = [torch.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    ours_inputs = [convnet.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    expected, actual = theirs(*theirs_inputs), ours(*ours_inputs)
    np.testing.assert_allclose(actual.data, expected.detach().numpy(), rtol=1e-7, atol=1e-10)
    upstream = RNG.standard_normal(actual.shape)
    (expected * torch.tensor(upstream)).sum().backward()
    (actual * convnet.tensor(upstream)).sum().backward()
    _check_gradients(theirs_inputs, ours_inputs, theirs, ours)


@pytest.mark.parametrize("arguments", [{"size_average": False}, {"reduce": False},
                                       {"size_average": True, "reduce": True}])
@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss", "NLLLoss", "CrossEntropyLoss"])
def test_legacy_reduction_arguments_warn_and_reduce_as_torch(loss, arguments):
    prediction, target = normal(4, 3), labels(4, high=3)
    if loss in ("MSELoss", "L1Loss"):
        target = normal(4, 3)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        expected = getattr(torch.nn, loss)(**arguments)(torch.tensor(prediction),
                                                         torch.tensor(target))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        actual = getattr(cnn, loss)(**arguments)(convnet.tensor(prediction),
                                                 convnet.tensor(target))
    np.testing.assert_allclose(actual.data, expected.numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d", "Dropout3d"])
def test_channel_dropout_drops_whole_channels(name):
    spatial = {"Dropout1d": (5,), "Dropout2d": (4, 4), "Dropout3d": (2, 3, 3)}[name]
    layer = getattr(cnn, name)(p=0.5)
    convnet.manual_seed(3)
    x = convnet.ones((64, 8) + spatial)
    y = layer(x).data.reshape(64, 8, -1)
    per_channel = np.unique(y, axis=2)
    assert per_channel.shape[2] == 1 and set(np.unique(per_channel)) <= {0.0, 2.0}
    assert 0.35 < (per_channel == 0).mean() < 0.65
    np.testing.assert_array_equal(layer.eval()(x).data, x.data)
    with pytest.raises(ValueError):
        getattr(cnn, name)(p=1.5)


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_keeps_selu_statistics(name):
    """torch's own check: SELU-distributed input keeps zero mean and unit variance."""
    convnet.manual_seed(0)
    x = convnet.randn(2000, 50, 1, 1, dtype=convnet.float64)
    y = getattr(cnn, name)(p=0.2).train()(x).data
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
    assert getattr(cnn, name)(p=0.2).eval()(x) is x


# ------------------------------------------------------------------------ Module API
def _two_layer(nn):
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_hooks_see_what_torch_hooks_see():
    theirs, ours = _pair(_two_layer)
    records = {"theirs": [], "ours": []}

    def install(model, key, lib):
        def pre(module, args):
            records[key].append(("pre", np.asarray(args[0].detach().numpy() if lib is torch
                                                   else args[0].data)))
            return (args[0] * 2,)

        def forward(module, args, output):
            records[key].append(("forward", tuple(output.shape)))
            return output + 1

        def backward(module, grad_input, grad_output):
            records[key].append(("backward", [None if g is None else np.asarray(
                g.numpy() if lib is torch else g.data) for g in grad_input],
                np.asarray(grad_output[0].numpy() if lib is torch else grad_output[0].data)))
        return [model[0].register_forward_pre_hook(pre), model[2].register_forward_hook(forward),
                model[2].register_full_backward_hook(backward)]

    handles = install(theirs, "theirs", torch) + install(ours, "ours", convnet)
    x = normal(5, 3)
    expected_in = torch.tensor(x, requires_grad=True)
    actual_in = convnet.tensor(x, requires_grad=True)
    theirs(expected_in).sum().backward()
    ours(actual_in).sum().backward()
    np.testing.assert_allclose(actual_in.grad, expected_in.grad.numpy(), rtol=1e-10)
    assert [r[0] for r in records["ours"]] == [r[0] for r in records["theirs"]]
    for mine, reference in zip(records["ours"], records["theirs"]):
        if mine[0] == "backward":
            np.testing.assert_allclose(mine[1][0], reference[1][0], rtol=1e-10)
            np.testing.assert_allclose(mine[2], reference[2], rtol=1e-10)
        elif mine[0] == "pre":
            np.testing.assert_allclose(mine[1], reference[1])
    for handle in handles:
        handle.remove()
    assert not ours[0]._forward_pre_hooks and not ours[2]._backward_hooks
    np.testing.assert_allclose(ours(convnet.tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_module_api_as_torch():
    theirs, ours = _pair(lambda nn: nn.ModuleList(
        [nn.Conv2d(1, 2, 3), nn.ModuleDict({"act": nn.ReLU(), "norm": nn.BatchNorm2d(2)})]))
    assert [name for name, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    seen = []
    ours.apply(lambda m: seen.append(type(m).__name__))
    expected = []
    theirs.apply(lambda m: expected.append(type(m).__name__))
    assert seen == expected
    ours.to(convnet.float32)
    assert all(p.dtype == np.float32 for p in ours.parameters())
    assert ours.state_dict()["1.norm.running_mean"].dtype == np.float32
    assert ours.state_dict()["1.norm.num_batches_tracked"].dtype == np.int64
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())
    assert ours.get_submodule("1.norm") is ours[1]["norm"]
    ours.to("cpu").cpu()
    with pytest.raises(RuntimeError, match="CPU only"):
        ours.to("cuda")
    ours.requires_grad_(True)
    ours[1]["norm"](ours[1]["act"](ours[0](convnet.randn(2, 1, 5, 5)))).sum().backward()
    ours.zero_grad(set_to_none=False)
    assert all(not np.any(p.grad) for p in ours.parameters())
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_parameter_containers_have_torch_keys():
    def make(nn):
        module = nn.Module()
        module.scales = nn.ParameterList([nn.Parameter(torch.ones(2) if nn is torch.nn
                                                       else convnet.ones(2)) for _ in range(2)])
        module.gains = nn.ParameterDict({"a": nn.Parameter(torch.zeros(3) if nn is torch.nn
                                                           else convnet.zeros(3))})
        return module
    assert list(make(cnn).state_dict()) == list(make(torch.nn).state_dict())


def test_clip_grad_norm_in_nn_utils():
    theirs, ours = _pair(_two_layer)
    x = normal(4, 3) * 10
    theirs(torch.tensor(x)).sum().backward()
    ours(convnet.tensor(x)).sum().backward()
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5)
    actual = cnn.utils.clip_grad_norm_(ours.parameters(), 0.5)
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-10)
    _check_gradients([], [], theirs, ours)


def test_no_warning_without_legacy_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cnn.CrossEntropyLoss()(convnet.zeros(2, 3), convnet.tensor([0, 1]))
