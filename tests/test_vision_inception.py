"""GoogLeNet and Inception v3 beyond what every model gets (tests/test_vision_models.py):
the auxiliary classifiers' outputs in training mode and their gradients (float64), the
ImageNet input transform, and ``weights=`` doing what torchvision does with its published
Inception weights (transform_input on, auxiliary heads loaded, then dropped unless asked for).
"""

from __future__ import annotations

import numpy as np
import pytest

from test_vision_models import assert_near, convnet_model, numpy_state, torchvision_model
from torchvision_oracle import import_torchvision

torchvision = import_torchvision()
import torch  # noqa: E402

import convnet  # noqa: E402
import convnet.vision.models as models  # noqa: E402

SIZE = {"googlenet": 64, "inception_v3": 299}  # the auxiliary head needs 299x299;
# GoogLeNet at 64x64: its last train-mode batch norms see 8 values per channel, not 2
NO_DROPOUT = {"googlenet": {"dropout": 0.0, "dropout_aux": 0.0},
              "inception_v3": {"dropout": 0.0}}


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_training_outputs_with_auxiliary_heads_and_gradients(name):
    kwargs = {"aux_logits": True, "transform_input": True, "init_weights": False,
              **NO_DROPOUT[name]}
    reference = torchvision_model(name, seed=5, **kwargs).double().train()
    ours = convnet_model(name, numpy_state(reference), dtype=np.float64, **kwargs).train()
    x = np.random.default_rng(6).standard_normal((2, 3, SIZE[name], SIZE[name]))
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    x_ours = convnet.tensor(x, requires_grad=True)
    expected, actual = reference(x_torch), ours(x_ours)
    assert type(actual).__name__ == type(expected).__name__
    assert actual._fields == expected._fields
    total_torch, total_ours = 0, 0
    for field, mine, theirs in zip(expected._fields, actual, expected):
        assert_near(mine, theirs.detach().numpy(), 1e-9, what=field)
        weight = np.random.default_rng(len(field)).standard_normal(theirs.shape)
        total_torch = total_torch + (theirs * torch.from_numpy(weight)).sum()
        total_ours = total_ours + (mine * weight).sum()
    total_torch.backward()
    total_ours.backward()
    assert_near(x_ours.grad, x_torch.grad.numpy(), 1e-7, what="input gradient")
    theirs = dict(reference.named_parameters())
    floor = 1e-9 * max(float(p.grad.abs().max()) for p in theirs.values())
    for key, parameter in ours.named_parameters():
        assert_near(parameter.grad, theirs[key].grad.numpy(), 1e-7, floor, what=key)


@pytest.mark.parametrize("name, aux_name", [("googlenet", "aux1"), ("inception_v3", "AuxLogits")])
def test_weights_file_loads_as_torchvision_loads_its_own(name, aux_name, tmp_path):
    reference = torchvision_model(name, seed=7, aux_logits=True, init_weights=False)
    path = tmp_path / f"{name}.pth"
    torch.save(reference.state_dict(), path)
    model = models.get_model(name, weights=path).eval()
    assert model.transform_input and not model.aux_logits and getattr(model, aux_name) is None
    reference.transform_input = True
    x = np.random.default_rng(8).standard_normal((2, 3, SIZE[name], SIZE[name])).astype(
        np.float32)
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(x)).numpy()
    with convnet.no_grad():
        assert_near(model(x), expected, 1e-4, what=name)
    with_aux = models.get_model(name, weights=path, aux_logits=True, transform_input=False)
    assert with_aux.aux_logits and getattr(with_aux, aux_name) is not None
    assert not with_aux.transform_input


def test_init_weights_none_warns_as_torchvision_does():
    with pytest.warns(FutureWarning, match="init_weights=True"):
        models.googlenet(num_classes=3)
    with pytest.raises(ValueError, match="blocks length should be 3"):
        models.GoogLeNet(blocks=[], init_weights=False)
