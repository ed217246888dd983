"""The notes' other two routes to a label per pixel: FCN (same-padded convolutions only)
and the recurrent refinement model (one stage, shared parameters, applied T times), each
against the same network written in PyTorch with copied weights (outputs and every
gradient), with finite differences in float64, and built by name."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
from convnet.models import ArchError, build_model
from convnet.nn import FCN, RecurrentRefine

from gradcheck import check_gradients

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
tnn, TF = torch.nn, torch.nn.functional


def copy_into_torch(model, twin):
    """Copy convnet's parameters into the torch twin, matched by name."""
    state = {name: torch.tensor(np.array(value)) for name, value in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)


class TorchRefine(tnn.Module):
    def __init__(self, cin, classes, width, steps, kernel, image_layers):
        super().__init__()
        layers = []
        for layer in range(image_layers - 1):
            layers += [tnn.Conv2d(cin if layer == 0 else width, width, kernel, padding="same",
                                  dtype=torch.float64), tnn.ReLU()]
        layers.append(tnn.Conv2d(width if image_layers > 1 else cin, width, kernel,
                                 padding="same", dtype=torch.float64))
        self.U = tnn.Sequential(*layers)
        self.V = tnn.Conv2d(classes, width, kernel, padding="same", bias=False, dtype=torch.float64)
        self.W = tnn.Conv2d(width, classes, kernel, padding="same", dtype=torch.float64)
        self.steps = steps

    def forward(self, x):
        image = self.U(x)
        scores = self.W(TF.relu(image))
        for _ in range(self.steps - 1):
            scores = self.W(TF.relu(image + self.V(TF.softmax(scores, dim=1))))
        return scores


def torch_fcn(cin, classes, width, depth, dilation, bn):
    layers = []
    for layer in range(depth):
        layers.append(tnn.Conv2d(cin if layer == 0 else width, width, 3, padding="same",
                                 dilation=dilation, bias=not bn, dtype=torch.float64))
        if bn:
            layers.append(tnn.BatchNorm2d(width, dtype=torch.float64))
        layers.append(tnn.ReLU())
    layers.append(tnn.Conv2d(width, classes, 1, dtype=torch.float64))
    twin = tnn.Module()
    twin.layers = tnn.Sequential(*layers)
    twin.forward = lambda x: twin.layers(x)
    return twin


def compare(model, twin, x, train):
    model.train(train)
    twin.train(train)
    ours = model(convnet.tensor(x, requires_grad=True))
    upstream = np.random.default_rng(1).standard_normal(ours.shape)
    ours.backward(upstream)
    theirs_input = torch.tensor(x, requires_grad=True)
    theirs = twin(theirs_input)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, parameter in model.named_parameters():
        twin_parameter = dict(twin.named_parameters())[name]
        if twin_parameter.grad is None:  # unused (V when T = 1): no gradient in either
            assert parameter.grad is None or not np.any(parameter.grad), name
            continue
        np.testing.assert_allclose(parameter.grad, twin_parameter.grad.numpy(), rtol=1e-9,
                                   atol=1e-11, err_msg=name)


@pytest.mark.parametrize("depth, dilation, bn, size", [(2, 1, False, (7, 9)), (3, 2, True, (10, 6))])
def test_fcn_equals_torch(depth, dilation, bn, size):
    model = FCN(2, 3, width=4, depth=depth, dilation=dilation, batch_norm=bn, dtype=np.float64,
                rng=0)
    twin = torch_fcn(2, 3, 4, depth, dilation, bn)
    copy_into_torch(model, twin)
    x = np.random.default_rng(0).standard_normal((2, 2, *size))
    compare(model, twin, x, train=True)
    assert model(x).shape == (2, 3, *size)  # no pooling: the input's size


@pytest.mark.parametrize("steps, image_layers", [(1, 1), (3, 2), (4, 1)])
def test_recurrent_refine_equals_torch(steps, image_layers):
    model = RecurrentRefine(1, 3, width=4, steps=steps, image_layers=image_layers,
                            dtype=np.float64, rng=0)
    twin = TorchRefine(1, 3, 4, steps, 3, image_layers)
    copy_into_torch(model, twin)
    compare(model, twin, np.random.default_rng(2).standard_normal((2, 1, 6, 5)), train=True)


def test_refine_stages_share_parameters():
    """T is not a parameter count: one stage's weights whatever the number of steps, and
    the stages differ only in what they are fed."""
    one, five = (RecurrentRefine(1, 2, width=4, steps=t, dtype=np.float64, rng=3) for t in (1, 5))
    assert sum(p.size for p in one.parameters()) == sum(p.size for p in five.parameters())
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    assert not np.allclose(one(x).data, five(x).data)  # refinement changes the labelling


def test_new_modules_pass_finite_differences():
    x = np.random.default_rng(4).standard_normal((1, 1, 5, 4))
    refine = RecurrentRefine(1, 2, width=3, steps=3, image_layers=2, dtype=np.float64, rng=5)
    check_gradients(lambda t: refine(t), x)
    fcn = FCN(1, 2, width=3, depth=2, dilation=2, batch_norm=False, dtype=np.float64, rng=6)
    check_gradients(lambda t: fcn(t), x)


def test_segmentation_models_by_name():
    unet = build_model("unet-transpose depth=2 width=4 bn=0", (3, 16, 16), 5)
    assert (type(unet).__name__, unet.depth, unet.up_mode) == ("UNet", 2, "transpose")
    assert unet(np.zeros((1, 3, 11, 13), np.float32)).shape == (1, 5, 11, 13)
    refine = build_model("refine t=4 width=8", (1, 8, 8), 2)
    assert refine.steps == 4
    with pytest.raises(ArchError, match="unknown option 'size'"):
        build_model("fcn size=3", (1, 8, 8), 2)
    with pytest.raises(ArchError, match="whole number"):
        build_model("unet depth=two", (1, 8, 8), 2)
    with pytest.raises(ArchError, match="up: expected one of"):
        build_model("unet up=bilinear", (1, 8, 8), 2)
