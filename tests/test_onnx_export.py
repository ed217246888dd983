"""ONNX export: the file ONNX Runtime and ONNX's reference evaluator run computes what the
convnet model computes (atol 1e-5 in float32), over a grid of layer settings and every model
of convnet.models; the files pass the full checker, their inferred output shape is
convnet's, and what cannot be exported exactly is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest

import convnet.nn as nn
from convnet.models import MODELS, SEGMENTATION_MODELS, build_model
from convnet.onnx import ExportError, export

onnx = pytest.importorskip("onnx", reason="onnx writes and checks the files")
ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime is the oracle")
from onnx.reference import ReferenceEvaluator  # noqa: E402


def roundtrip(model, x, reference=True, opset=None):
    """Export, then run the file in ONNX Runtime (and the reference evaluator); compare."""
    buffer = io.BytesIO()
    proto = export(model, x, buffer, opset_version=opset)
    model.eval()
    expected = model(x).data
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    if reference:
        referenced = ReferenceEvaluator(proto).run(None, {"input": x})[0]
        np.testing.assert_allclose(referenced, expected, rtol=1e-5, atol=1e-5)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1:] == list(expected.shape[1:])
    # a batch of another size runs through the same file
    other = np.concatenate([x] * 7)[:7]
    np.testing.assert_allclose(session.run(None, {"input": other})[0], model(other).data,
                               rtol=1e-5, atol=1e-5)
    return proto


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal((1, *shape)).astype(np.float32)


PADDINGS = [0, 1, (1, 2), ((0, 2), (1, 0)), "same", "valid", "full"]


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_every_padding_form(padding, stride):
    model = nn.Conv2d(2, 3, 3, stride=stride, padding=padding, rng=0)
    roundtrip(model, data(2, 7, 6))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "symmetric"])
def test_conv2d_padding_modes(mode):
    model = nn.Conv2d(2, 3, (3, 2), padding="same", padding_mode=mode, rng=0)
    proto = roundtrip(model, data(2, 6, 5), reference=mode != "circular")
    assert proto.opset_import[0].version == (19 if mode == "circular" else 17)


@pytest.mark.parametrize("module, shape", [
    (nn.Conv1d(2, 4, 3, stride=2, padding="same", dilation=2, rng=0), (2, 11)),
    (nn.Conv3d(2, 2, 2, padding="same", rng=0), (2, 4, 5, 3)),
    (nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=2, rng=0), (4, 8, 8)),
    (nn.Conv2d(2, 3, 3, padding="same", bias="untied", input_size=(5, 6), rng=0), (2, 5, 6)),
    (nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=0), (3, 4, 5)),
    (nn.ConvTranspose2d(4, 2, 2, stride=2, groups=2, rng=0), (4, 3, 3)),
    (nn.LocallyConnected2d(2, 3, 3, input_size=(6, 5), padding=1, rng=0), (2, 6, 5)),
    (nn.LocallyConnected2d(2, 3, 2, input_size=(6, 5), stride=2, bias="tied", rng=0), (2, 6, 5)),
    (nn.TiledConv2d(2, 3, 3, tiles=(2, 3), padding="same", rng=0), (2, 7, 8)),
    (nn.Linear(5, 4, rng=0), (5,)),
    (nn.Sequential(nn.Flatten(2), nn.Softmax(dim=2)), (3, 4, 2)),
    (nn.LogSoftmax(dim=1), (6,)),
    (nn.Sequential(nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.ScaledTanh()), (2, 3, 3)),
    (nn.Maxout(2), (6, 3, 3)),
    (nn.WeightedSumPool2d(3, 2), (3, 6, 6)),
    (nn.Upsample(scale_factor=2), (2, 3, 4)),
    (nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4)),
    (nn.Upsample(scale_factor=3, mode="bilinear", align_corners=True), (1, 3, 4)),
    (nn.AdaptiveAvgPool2d(1), (3, 5, 7)), (nn.AdaptiveMaxPool2d((2, 3)), (3, 4, 6)),
    (nn.Dropout(0.5), (4,)),
])
def test_layers(module, shape):
    # onnx 1.23's reference ConvTranspose reshapes W as if group were 1 (it raises for
    # groups=2); ONNX Runtime is the oracle there
    grouped_transpose = isinstance(module, nn.ConvTranspose2d) and module.groups > 1
    roundtrip(module, data(*shape), reference=not grouped_transpose)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("padding", [0, 1, "same"])
def test_max_pool(ceil_mode, padding):
    roundtrip(nn.MaxPool2d(3, 2, padding=padding, ceil_mode=ceil_mode), data(2, 8, 7))


@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_avg_pool(ceil_mode, count_include_pad):
    roundtrip(nn.AvgPool2d(3, 2, padding=1, ceil_mode=ceil_mode,
                           count_include_pad=count_include_pad), data(2, 8, 7))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "symmetric"])
def test_pooling_padding_modes(mode):
    roundtrip(nn.MaxPool2d(3, 2, padding="same", padding_mode=mode), data(2, 7, 8))
    roundtrip(nn.AvgPool2d(3, 2, padding="same", padding_mode=mode), data(2, 7, 8))


@pytest.mark.parametrize("norm", [1, 2, 3])
def test_lp_pool(norm):
    x = np.abs(data(2, 6, 6)) + 0.1  # odd p of negative sums is NaN in convnet and torch
    roundtrip(nn.LPPool2d(norm, 2), x)


def test_batch_norm_in_inference_form():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, rng=0), nn.BatchNorm2d(3))
    model.train()
    model(data(2, 6, 6, seed=1) * 3 + 1)  # running statistics away from 0 and 1
    export(model, data(2, 6, 6), io.BytesIO())
    assert model[1].training   # export restores the mode
    roundtrip(model, data(2, 6, 6))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_named_model(name):
    shape = {"uwnet-cifar": (3, 32, 32), "lenet-1998": (1, 32, 32)}.get(name, (1, 28, 28))
    roundtrip(build_model(name, shape, 10, rng=0), data(*shape))


@pytest.mark.parametrize("arch", ["unet depth=2 width=4", "unet-transpose depth=2 width=4",
                                  "fcn depth=2 width=4", "refine steps=3 width=4"])
def test_segmentation_models_at_odd_sizes(arch):
    model = build_model(arch, (1, 13, 10), 3, rng=0)
    roundtrip(model, data(1, 13, 10))


def test_refine_writes_its_shared_stage_once():
    model = build_model("refine steps=4 width=4", (1, 8, 8), 2, rng=0)
    proto = roundtrip(model, data(1, 8, 8))
    names = [init.name for init in proto.graph.initializer]
    assert names.count("W.weight") == 1 and len(names) == len(set(names))
    assert sum(node.op_type == "Conv" for node in proto.graph.node) == 2 + 4 + 3  # U, W x4, V x3


def test_refusals_are_one_line():
    with pytest.raises(ExportError, match="product net input"):
        export(nn.Conv2d(1, 2, 3, net_input="product", rng=0), data(1, 5, 5), io.BytesIO())
    with pytest.raises(ExportError, match="unequal sizes"):
        export(nn.AdaptiveAvgPool2d(3), data(1, 5, 5), io.BytesIO())
    with pytest.raises(ExportError, match="needs opset 19"):
        export(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", rng=0), data(1, 5, 5),
               io.BytesIO(), opset_version=17)

    class Custom(nn.Module):
        def forward(self, x):
            return x * 2
    with pytest.raises(ExportError, match="no exact ONNX form for Custom"):
        export(Custom(), data(1, 2, 2), io.BytesIO())
