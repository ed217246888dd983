"""convnet.vision models in whole-model files: ``convnet.save(model)`` records the builder
call that made the model (``resnet18(num_classes=5)``) and ``convnet.load`` makes that call
again, from the registry only; a model changed after it was built (a replaced layer) is
refused with the way out (save_weights)."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
from convnet.io.architecture import build
from convnet.vision import models

CASES = [("resnet18", {"num_classes": 5}), ("mobilenet_v3_small", {"dropout": 0.1}),
         ("googlenet", {"aux_logits": False, "init_weights": True, "num_classes": 4}),
         ("regnet_y_400mf", {}), ("efficientnet_b0", {"stochastic_depth_prob": 0.1})]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_a_vision_model_file_rebuilds_the_same_model(tmp_path, name, kwargs):
    model = models.get_model(name, **kwargs).eval()
    path = tmp_path / f"{name}.safetensors"
    convnet.save(model, path)
    loaded = convnet.load(path).eval()
    assert type(loaded) is type(model)
    assert list(loaded.state_dict()) == list(model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with convnet.no_grad():
        np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert models._registry.recipe(loaded) == (name, kwargs)


def test_a_changed_model_is_refused_with_the_way_out(tmp_path):
    model = models.mobilenet_v3_small(num_classes=7)
    model.classifier[-1] = convnet.nn.Linear(1024, 3)
    assert models._registry.recipe(model) is None
    with pytest.raises(ValueError, match="save_weights") as error:
        convnet.save(model, tmp_path / "changed.safetensors")
    assert "\n" not in str(error.value)
    convnet.save_weights(model, tmp_path / "weights.safetensors")  # the way out works


def test_a_file_naming_an_unknown_builder_is_refused():
    with pytest.raises(ValueError, match="does not have"):
        build({"class": "convnet.vision.models.os_system", "args": {}})
    with pytest.raises(ValueError, match="rebuilding resnet18"):
        build({"class": "convnet.vision.models.resnet18", "args": {"no_such": 1}})


def test_sequential_item_assignment_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for Sequential")
    ours = convnet.nn.Sequential(convnet.nn.ReLU(), convnet.nn.Tanh())
    theirs = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh())
    ours[-1], theirs[-1] = convnet.nn.Sigmoid(), torch.nn.Sigmoid()
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert list(dict(ours.named_children())) == list(dict(theirs.named_children()))
    for sequential, module in ((ours, convnet.nn.ReLU()), (theirs, torch.nn.ReLU())):
        with pytest.raises(IndexError):
            sequential[2] = module
