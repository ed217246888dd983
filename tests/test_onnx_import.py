"""ONNX import: ONNX's own backend node tests for the operators convnet reads (each either
matches ONNX's expected output or is refused with one line, by an explicit list of reasons);
convnet -> ONNX -> convnet round trips with bit-identical outputs; models exported by
PyTorch (LeNet, a small VGG, U-Nets with both up-convolutions) matching PyTorch; and hostile
files refused without a crash or a read outside the model's folder."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.models import MODELS, build_model
from convnet.onnx import OnnxImportError, export, load
from convnet.onnx.import_ops import OPS

onnx = pytest.importorskip("onnx", reason="onnx reads and writes the files")
torch = pytest.importorskip("torch", reason="PyTorch is the oracle for imported models")

# backend node tests of supported operators that convnet refuses, and why
EXCLUDED = {
    r"test_averagepool_.*dilations.*|test_lppool_2d_dilations": "dilated average/Lp pooling: convnet has none",
    r"test_batchnorm_.*training_mode|test_training_dropout.*|test_dropout_default_mask.*": "training-mode outputs (convnet imports inference graphs)",
    r"test_constant": "a graph without inputs",
    r"test_convtranspose_(output_shape|kernel_shape|autopad_same)": "output_shape / auto_pad in ConvTranspose",
    r"test_div_uint.*|test_pow_types_int.*|test_maxpool_2d_uint8|test_reduce_max_bool_inputs":
        "integer arithmetic (convnet computes in floating point)",
    r"test_einsum_.*": "written at an opset newer than convnet reads, or more than two operands",
    r"test_maxpool_with_argmax.*": "the Indices output",
    r"test_reduce_max_empty_set.*": "a reduction over an empty axis",
    r"test_reduce_log_sum_.*_expanded": "written at opset 28, newer than convnet reads",
    r"test_reshape_allowzero_reordered": "allowzero=1",
    r"test_resize_.*(cubic|tf_crop|antialias|half_pixel_symmetric).*": "interpolation torch does not have",
    r"test_resize_.*nearest.*": "nearest modes other than torch's (asymmetric, floor)",
    r"test_resize_downsample_scales_linear(_align_corners)?": "scales that give fractional sizes",
    r"test_resize_downsample_sizes_linear_pytorch_half_pixel": "pytorch_half_pixel to a size of 1",
}


# the CNN subset the node suite is run for; OPS also holds the integer shape arithmetic
# (Shape, Gather, Cast, ConstantOfShape, Transpose) that PyTorch writes around a pad, read
# for small integer arrays only and covered by the PyTorch-exported U-Nets below
CNN_OPERATORS = set(OPS) - {"Shape", "Gather", "Cast", "ConstantOfShape", "Transpose"}


def _node_cases():
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    return [case for case in cases if {n.op_type for n in case.model.graph.node} <= CNN_OPERATORS]


NODE_CASES = _node_cases()


def test_the_node_suite_covers_the_cnn_operators():
    covered = {node.op_type for case in NODE_CASES for node in case.model.graph.node}
    assert {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
            "GlobalMaxPool", "Pad", "Resize", "BatchNormalization", "Gemm", "MatMul", "Relu",
            "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "Flatten", "Reshape", "Concat", "Add",
            "Mul"} <= covered
    assert len(NODE_CASES) > 250


@pytest.mark.parametrize("case", NODE_CASES, ids=lambda case: case.name)
def test_onnx_backend_node_case(case):
    excluded = next((why for pattern, why in EXCLUDED.items() if re.fullmatch(pattern, case.name)),
                    None)
    if excluded is not None:
        with pytest.raises((OnnxImportError, TypeError)):
            model = load(io.BytesIO(case.model.SerializeToString()))
            for inputs, _ in case.data_sets:
                model(*inputs)
        return
    model = load(io.BytesIO(case.model.SerializeToString()))
    for inputs, outputs in case.data_sets:
        got = model(*inputs)
        np.testing.assert_allclose(getattr(got, "data", got), outputs[0], rtol=1e-3, atol=1e-7)


def exported(model, x, **kwargs):
    buffer = io.BytesIO()
    export(model, x, buffer, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_is_bit_identical(name):
    shape = {"uwnet-cifar": (3, 32, 32), "lenet-1998": (1, 32, 32)}.get(name, (1, 28, 28))
    model = build_model(name, shape, 10, rng=0).eval()
    x = np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32)
    again = load(io.BytesIO(exported(model, x)))
    np.testing.assert_array_equal(again(x).data, model(x).data)


def test_round_trip_of_a_unet_and_training_the_import():
    model = build_model("unet depth=2 width=4", (1, 12, 12), 3, rng=0).eval()
    x = np.random.default_rng(1).standard_normal((2, 1, 12, 12)).astype(np.float32)
    again = load(io.BytesIO(exported(model, x)))
    np.testing.assert_array_equal(again(x).data, model(x).data)
    # the imported weights are parameters: a step of SGD lowers the loss
    optimizer = convnet.optim.SGD(again.parameters(), lr=0.1)
    masks = np.random.default_rng(2).integers(0, 3, (2, 12, 12))
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = convnet.functional.cross_entropy(again(x), masks)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def torch_exported(module, x):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), torch.from_numpy(x), buffer, dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return buffer.getvalue()


def torch_models():
    tnn = torch.nn
    torch.manual_seed(0)
    lenet = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                           tnn.Linear(84, 10))
    vgg = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(),
                         tnn.Conv2d(8, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2, 2),
                         tnn.Conv2d(8, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(),
                         tnn.MaxPool2d(2, 2, ceil_mode=True), tnn.AdaptiveAvgPool2d(1),
                         tnn.Flatten(), tnn.Dropout(), tnn.Linear(16, 10), tnn.LogSoftmax(dim=1))
    for module in vgg.modules():    # running statistics away from 0 and 1
        if isinstance(module, tnn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    return {"lenet": (lenet, (1, 28, 28)), "vgg": (vgg, (3, 18, 18))}


@pytest.mark.parametrize("name", ["lenet", "vgg"])
def test_pytorch_exported_models_match_pytorch(name):
    module, shape = torch_models()[name]
    x = np.random.default_rng(0).standard_normal((4, *shape)).astype(np.float32)
    model = load(io.BytesIO(torch_exported(module, x)))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("up", ["repeat", "transpose"])
def test_pytorch_exported_unets_match_pytorch(up):
    from test_unet import TorchUNet
    twin = TorchUNet(1, 3, 2, 4, True, up).float()
    for module in twin.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
    x = np.random.default_rng(0).standard_normal((2, 1, 16, 16)).astype(np.float32)
    model = load(io.BytesIO(torch_exported(twin, x)))
    with torch.no_grad():
        expected = twin.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- hostile files
def small_model_bytes():
    return exported(nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU()),
                    np.zeros((1, 1, 5, 5), np.float32))


def test_truncated_and_garbage_files(tmp_path):
    data = small_model_bytes()
    for name, content in (("truncated.onnx", data[: len(data) // 2]), ("garbage.onnx", b"\x00\xff" * 50),
                          ("empty.onnx", b"")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(OnnxImportError) as error:
            load(str(path))
        assert "\n" not in str(error.value) and str(path) in str(error.value)
    with pytest.raises(OnnxImportError):
        load("/dev/zero") if False else load(io.BytesIO(b"\x08"))


def test_huge_declared_shapes_and_wrong_dims_are_refused():
    proto = onnx.load_model_from_string(small_model_bytes())
    weight = proto.graph.initializer[0]
    weight.dims[:] = [2**20, 2**20, 3, 3]
    with pytest.raises(OnnxImportError, match="declares shape"):
        load(io.BytesIO(proto.SerializeToString()))
    weight.dims[:] = [2, 1, 3, 4]           # more values declared than stored
    with pytest.raises(OnnxImportError, match="does not hold its declared shape"):
        load(io.BytesIO(proto.SerializeToString()))


def test_external_data_outside_the_folder_is_never_read(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(18, dtype=np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    proto = onnx.load_model_from_string(small_model_bytes())
    weight = proto.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "72")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    path = folder / "model.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(OnnxImportError, match="outside the model's folder"):
        load(str(path))
    # the same data beside the model is read
    (folder / "weights.bin").write_bytes(secret.read_bytes())
    weight.external_data[0].value = "weights.bin"
    path.write_bytes(proto.SerializeToString())
    model = load(str(path))
    np.testing.assert_array_equal(model.p_0_weight.data.ravel(), np.arange(18, dtype=np.float32))


def test_unsupported_operator_names_node_operator_and_opset():
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Hardmax", ["x"], ["y"], name="mystery")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError, match=r"node 'mystery' uses operator Hardmax \(opset 17\)"):
        load(io.BytesIO(proto.SerializeToString()))
