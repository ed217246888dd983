"""convnet.vision.models against torchvision.models (the oracle, imported through
tests/torchvision_oracle.py).

For every model: the same builder with the same arguments gives the same ``state_dict``
keys, order and shapes; torchvision's weights, saved with ``torch.save`` and read with
``convnet.load``, give the same eval-mode outputs (float32, 1e-4 relative). For four
representative models, train-mode outputs, batch statistics and the gradients of the input
and of every parameter agree in float64. Initialisation is compared statistically
(constants exactly, spread and distribution family of the random draws). Then the
``weights=`` argument, the registry and the errors.

Costs are kept small: torchvision's models are built on the meta device and given random
weights directly (no initialisation pass), convnet's under ``skip_init``; inputs are 32x32
(64x64 for AlexNet). The seven VGG variants beside vgg11_bn and the two largest ResNets
skip the file round trip (350-530 MB each) and copy the arrays in memory: the file path is
the same code for every model and the other 23 cover it.
"""

from __future__ import annotations

import contextlib
import inspect
import pathlib
import re

import numpy as np
import pytest

from torchvision_oracle import import_torchvision

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
torchvision = import_torchvision()

import convnet  # noqa: E402
import convnet.vision.models as models  # noqa: E402
from convnet.nn.init import skip_init  # noqa: E402

RESNETS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
           "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
VGGS = [f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")]
OTHERS = ["alexnet", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small",
          "mobilenet_v3_large", "densenet121", "densenet161", "densenet169", "densenet201",
          "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
          "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
          "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "googlenet", "inception_v3"]
REGNETS = [f"regnet_{kind}_{size}" for kind in "xy"
           for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf")]
ALL = RESNETS + VGGS + OTHERS + REGNETS
IN_MEMORY = set(VGGS) - {"vgg11_bn"} | {"wide_resnet101_2", "resnext101_32x8d"}


def on_meta(name):
    """torch's meta device, where torchvision's builder allows it: RegNet's computes its
    widths with torch tensors, which the meta device cannot read back."""
    return contextlib.nullcontext() if name.startswith("regnet") else torch.device("meta")


def torchvision_model(name, seed=0, **kwargs):
    """torchvision's model with fresh values everywhere: weights of std 1/sqrt(fan_in)
    (uniform), biases and shifts N(0, 0.1^2), batch norm scales and variances U(0.5, 1.5)."""
    with on_meta(name):
        model = torchvision.models.get_model(name, **kwargs)
    model = model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key.endswith("num_batches_tracked"):
                value.fill_(0)
            elif value.ndim >= 2:
                bound = (3.0 / value[0].numel()) ** 0.5
                value.uniform_(-bound, bound, generator=generator)
            elif key.endswith(("running_var", "weight")):
                value.uniform_(0.5, 1.5, generator=generator)
            else:
                value.normal_(0.0, 0.1, generator=generator)
    return model


def numpy_state(model) -> dict:
    return {key: value.detach().numpy() for key, value in model.state_dict().items()}


def convnet_model(name, state=None, dtype=np.float32, **kwargs):
    with skip_init():  # no initial draws: the weights come next (np.empty memory until then)
        model = models.get_model(name, **kwargs)
    if dtype != np.float32:
        with np.errstate(invalid="ignore"):  # casting the uninitialised memory
            model.to(dtype)
    if state is not None:
        model.load_state_dict(state)
    return model


def image(name, batch=2, dtype=np.float32, seed=1, train_mode=False):
    """Random inputs, 32x32 where the model allows. In training mode, networks that end at
    1/32 scale get 64x64: their last train-mode batch norms then see 8 values per channel, not
    2 (normalising 2 nearly equal values amplifies rounding from block to block, enough for a
    change of summation order to move float64 gradients by 1e-7)."""
    size = {"alexnet": 64, "inception_v3": 75}.get(name, 32)
    if (train_mode and name != "vgg11_bn") or name.startswith("regnet"):
        size = max(size, 64)
    return np.random.default_rng(seed).standard_normal((batch, 3, size, size)).astype(dtype)


def assert_near(actual, expected, rtol, atol=None, what=""):
    """|actual - expected| <= atol + rtol |expected| everywhere; atol defaults to rtol times
    the largest |expected|. In chunks: assert_allclose takes seconds on VGG's 100 M gradients."""
    actual, expected = np.asarray(getattr(actual, "data", actual)), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: {actual.shape} != {expected.shape}"
    flat_actual, flat_expected = actual.reshape(-1), expected.reshape(-1)
    if atol is None:
        atol = rtol * float(np.abs(flat_expected).max(initial=0.0))
    for start in range(0, flat_expected.size, 1 << 18):
        mine, theirs = flat_actual[start:start + (1 << 18)], flat_expected[start:start + (1 << 18)]
        excess = np.abs(mine - theirs) - rtol * np.abs(theirs)
        worst = int(np.argmax(excess))
        assert excess[worst] <= atol, (f"{what}: at flat index {start + worst}, "
                                       f"{mine[worst]!r} != {theirs[worst]!r}")


# ------------------------------------------------------------------ layout and outputs
@pytest.mark.parametrize("name", ALL)
def test_state_dict_keys_order_and_shapes(name):
    with on_meta(name):
        reference = torchvision.models.get_model(name)
    ours = convnet_model(name)
    assert [(key, tuple(value.shape)) for key, value in ours.state_dict().items()] == \
        [(key, tuple(value.shape)) for key, value in reference.state_dict().items()]
    assert [key for key, _ in ours.named_parameters()] == \
        [key for key, _ in reference.named_parameters()]


@pytest.mark.parametrize("name", ALL)
def test_eval_outputs_with_torchvision_weights(name, tmp_path):
    reference = torchvision_model(name).eval()
    if name in IN_MEMORY:
        state = numpy_state(reference)
    else:
        path = tmp_path / f"{name}.pth"
        torch.save(reference.state_dict(), path)
        state = convnet.load(path)
        assert list(state) == list(reference.state_dict())
    ours = convnet_model(name)
    ours.load_state_dict(state)
    ours.eval()
    x = image(name)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with convnet.no_grad():
        actual = ours(x)
    assert actual.dtype == np.float32
    assert_near(actual, expected, 1e-4, what=name)


@pytest.mark.parametrize("name, kwargs", [("resnet18", {}), ("mobilenet_v2", {"dropout": 0.0}),
                                          ("squeezenet1_1", {"dropout": 0.0}),
                                          ("vgg11_bn", {"dropout": 0.0, "num_classes": 10}),
                                          ("efficientnet_b0", {"dropout": 0.0,
                                                               "stochastic_depth_prob": 0.0}),
                                          ("mnasnet0_5", {"dropout": 0.0}),
                                          ("regnet_y_400mf", {})])
def test_train_mode_gradients_float64(name, kwargs):
    reference = torchvision_model(name, seed=2, **kwargs).double().train()
    ours = convnet_model(name, numpy_state(reference), dtype=np.float64, **kwargs).train()
    x = image(name, dtype=np.float64, seed=3, train_mode=True)
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    x_ours = convnet.tensor(x, requires_grad=True)
    expected, actual = reference(x_torch), ours(x_ours)
    upstream = np.random.default_rng(4).standard_normal(expected.shape)
    expected.backward(torch.from_numpy(upstream))
    actual.backward(upstream)
    assert_near(actual, expected.detach().numpy(), 1e-9, what="output")
    # float64 reordering through ~50 train-mode batch norms: 1e-7 of the largest magnitude
    assert_near(x_ours.grad, x_torch.grad.numpy(), 1e-7, what="input gradient")
    theirs = {key: value.grad.numpy() for key, value in reference.named_parameters()}
    # a shift feeding a train-mode batch norm has gradient 0 in exact arithmetic (the
    # mean is subtracted), rounding noise in both libraries: an absolute floor for those
    floor = 1e-9 * max(float(np.abs(grad).max()) for grad in theirs.values())
    for key, parameter in ours.named_parameters():
        assert parameter.grad is not None, key
        assert_near(parameter.grad, theirs[key], 1e-7, floor, what=key)
    for key, buffer in ours.named_buffers():  # batch statistics updated as torch's
        assert_near(buffer, reference.get_buffer(key).numpy(), 1e-9, what=key)


# ------------------------------------------------------------------ initialisation
@pytest.mark.parametrize("name, kwargs", [
    ("resnet18", {"zero_init_residual": True}), ("resnet50", {}), ("mobilenet_v2", {}),
    ("mobilenet_v3_small", {}), ("squeezenet1_0", {}), ("densenet121", {}),
    ("shufflenet_v2_x0_5", {}), ("efficientnet_b0", {}), ("mnasnet0_75", {}),
    ("googlenet", {"init_weights": True}), ("regnet_x_400mf", {})])
def test_initialisation_follows_torchvision(name, kwargs):
    torch.manual_seed(0)
    reference = numpy_state(torchvision.models.get_model(name, **kwargs))
    ours = models.get_model(name, **kwargs).state_dict()
    for key, theirs in reference.items():
        mine = ours[key]
        assert mine.dtype == theirs.dtype, key
        if theirs.size < 2 or theirs.std() == 0:  # constants (batch norm, zero biases) exactly
            np.testing.assert_array_equal(mine, theirs, err_msg=key)
        elif theirs.size >= 1000:  # random draws: same spread, same family (uniform/normal)
            assert abs(mine.std() / theirs.std() - 1) < 0.1, key
            assert abs(mine.mean()) < 0.1 * theirs.std() + 1e-3, key
            assert (np.abs(mine).max() / mine.std() > 2.2) == \
                (np.abs(theirs).max() / theirs.std() > 2.2), key


def test_zero_init_residual_and_builder_arguments():
    model = models.resnet50(zero_init_residual=True, num_classes=3)
    assert not model.layer1[0].bn3.weight.data.any() and model.bn1.weight.data.all()
    assert model.fc.weight.shape == (3, 2048)
    assert models.resnext50_32x4d().layer1[0].conv2.init_args["groups"] == 32
    with pytest.raises(ValueError, match="groups"):
        models.resnext50_32x4d(groups=2)
    with pytest.raises(ValueError, match="BasicBlock only supports"):
        models.resnet18(width_per_group=32)
    for name in ALL:  # torchvision's signatures
        ours = inspect.signature(models.get_model_builder(name)).parameters
        assert list(ours) == list(inspect.signature(
            torchvision.models.get_model_builder(name)).parameters), name


@pytest.mark.parametrize("name, kwargs", [
    ("resnet50", {"replace_stride_with_dilation": [False, True, True], "num_classes": 10}),
    ("resnet34", {"width_per_group": 64, "groups": 1}),
    ("mobilenet_v3_large", {"width_mult": 0.5, "reduced_tail": True, "dilated": True}),
    ("mobilenet_v3_small", {"width_mult": 0.75, "dropout": 0.5}),
    ("mobilenet_v2", {"width_mult": 0.35, "round_nearest": 4}),
    ("squeezenet1_0", {"num_classes": 3}),
    ("densenet121", {"drop_rate": 0.2, "bn_size": 2, "memory_efficient": True}),
])
def test_builder_options_match_torchvision(name, kwargs):
    reference = torchvision_model(name, **kwargs).eval()
    ours = convnet_model(name, numpy_state(reference), **kwargs).eval()
    assert list(ours.state_dict()) == list(reference.state_dict())
    x = image(name, batch=1)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert_near(ours(x), expected, 1e-4, what=name)


# ------------------------------------------------------------------ weights=
def test_weights_from_local_files(tmp_path):
    reference = torchvision_model("resnet18", num_classes=7)
    expected = numpy_state(reference)
    path = tmp_path / "resnet18-finetuned.pth"
    torch.save(reference.state_dict(), path)

    def check(model):
        assert model.fc.weight.shape == (7, 512)  # num_classes read from the file
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, expected[key], err_msg=key)

    check(models.resnet18(weights=str(path)))
    check(models.resnet18(weights=pathlib.Path(path), progress=False))
    check(models.get_model("resnet18", weights=path))
    check(models.resnet18(weights=expected))  # a state_dict itself
    convnet.save(expected, tmp_path / "state.safetensors")
    check(models.resnet18(weights=tmp_path / "state.safetensors"))
    convnet.save_weights(models.resnet18(weights=path), tmp_path / "weights.safetensors")
    check(models.resnet18(weights=tmp_path / "weights.safetensors"))

    squeeze = torchvision_model("squeezenet1_1", num_classes=5)
    convnet.save(models.squeezenet1_1(weights=numpy_state(squeeze)), tmp_path / "m.safetensors")
    loaded = models.squeezenet1_1(weights=tmp_path / "m.safetensors").eval()
    with torch.no_grad():
        expected_out = squeeze.eval()(torch.from_numpy(image("squeezenet1_1"))).numpy()
    assert_near(loaded(image("squeezenet1_1")), expected_out, 1e-4)


def test_densenet_files_with_torchvision_first_key_names(tmp_path):
    reference = torchvision_model("densenet121", num_classes=5)
    old = {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", key): value
           for key, value in reference.state_dict().items()
           if not key.endswith("num_batches_tracked")}  # as old as BatchNorm's counter
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    torch.save(old, tmp_path / "densenet121-a639ec97.pth")
    model = models.densenet121(weights=tmp_path / "densenet121-a639ec97.pth")
    for key, value in numpy_state(reference).items():
        np.testing.assert_array_equal(model.state_dict()[key], value, err_msg=key)


WEIGHTS = torchvision.models.get_model_weights


@pytest.mark.parametrize("name, weights, theirs", [
    ("resnet18", "IMAGENET1K_V1", WEIGHTS("resnet18").IMAGENET1K_V1),
    ("resnet50", "DEFAULT", WEIGHTS("resnet50").DEFAULT),
    ("resnet50", "ResNet50_Weights.IMAGENET1K_V1", WEIGHTS("resnet50").IMAGENET1K_V1),
    ("mobilenet_v3_large", "IMAGENET1K_V1", WEIGHTS("mobilenet_v3_large").IMAGENET1K_V1),
    ("vgg16", "IMAGENET1K_FEATURES", WEIGHTS("vgg16").IMAGENET1K_FEATURES),
    ("shufflenet_v2_x0_5", "DEFAULT", WEIGHTS("shufflenet_v2_x0_5").DEFAULT),
    ("densenet121", WEIGHTS("densenet121").IMAGENET1K_V1, WEIGHTS("densenet121").IMAGENET1K_V1),
])
def test_weight_names_say_what_to_download(name, weights, theirs):
    with pytest.raises(ValueError) as error:
        models.get_model(name, weights=weights)
    message = str(error.value)
    assert "\n" not in message
    assert f"download {theirs.url.rsplit('/', 1)[1]} once from {theirs.url}" in message
    assert "https://download.pytorch.org/models/<file>" in message


@pytest.mark.parametrize("name", ALL)
def test_every_published_weight_name_is_known(name):
    for weight in WEIGHTS(name):
        with pytest.raises(ValueError, match=f"from {weight.url} "):
            models.get_model(name, weights=weight.name)


def test_weights_errors(tmp_path):
    with pytest.raises(ValueError, match="resnet18-f37072fd.pth"):
        models.resnet18(pretrained=True)
    with pytest.raises(ValueError, match="IMAGENET1K_V1, DEFAULT"):
        models.resnet18(weights="IMAGENET1K_V2")
    with pytest.raises(FileNotFoundError, match="no-such.pth"):
        models.resnet18(weights=str(tmp_path / "no-such.pth"))
    with pytest.raises(TypeError, match="weights"):
        models.resnet18(weights=3)
    state = numpy_state(torchvision_model("resnet18"))
    del state["layer1.0.bn1.running_mean"]
    state["layer2.0.conv1.weight"] = state["layer2.0.conv1.weight"][:, :32]
    state["extra.weight"] = np.zeros(2, dtype=np.float32)
    torch.save({key: torch.from_numpy(value) for key, value in state.items()},
               tmp_path / "bad.pth")
    for attempt in (lambda: models.resnet18(weights=tmp_path / "bad.pth"),
                    lambda: models.resnet18().load_state_dict(convnet.load(tmp_path / "bad.pth"))):
        with pytest.raises(ValueError) as error:
            attempt()
        message = str(error.value)
        assert "missing keys: layer1.0.bn1.running_mean" in message
        assert "unexpected keys: extra.weight" in message
        assert "layer2.0.conv1.weight: expected (128, 64, 3, 3), got (128, 32, 3, 3)" in message


# ------------------------------------------------------------------ registry
def test_list_models_and_get_model():
    assert models.list_models() == sorted(ALL)
    assert set(ALL) <= set(torchvision.models.list_models())
    for include, exclude in [("resnet*", None), ("*net*", "*101*"), (["vgg1?", "alex*"], None),
                             (None, ["*_bn", "res*", "dense*", "wide*"])]:
        theirs = torchvision.models.list_models(include=include, exclude=exclude)
        assert models.list_models(include=include, exclude=exclude) == \
            [name for name in theirs if name in ALL]
    assert models.list_models(module=models.vgg) == sorted(VGGS)
    assert models.list_models(module=models) == sorted(ALL)
    model = models.get_model("ResNet18", num_classes=3)
    assert isinstance(model, models.ResNet) and model.fc.weight.shape == (3, 512)
    assert models.get_model_builder("mobilenet_v2") is models.mobilenet_v2
    with pytest.raises(ValueError, match="Unknown model 'resnet19'"):
        models.get_model("resnet19")
    assert convnet.vision.models is models
