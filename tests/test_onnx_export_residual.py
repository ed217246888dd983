"""Residual networks out to ONNX: the CIFAR ResNets (option-A shortcuts as Slice with steps
and a channel Pad; option-B projections) and the notation's res( ... ) blocks, each run by
ONNX Runtime and ONNX's reference evaluator against convnet's own eval-mode outputs."""

from __future__ import annotations

import io

import numpy as np
import pytest

from convnet.models import RESIDUAL_MODELS, build_model
from convnet.nn.regularization import _BatchNorm
from convnet.onnx import export

onnx = pytest.importorskip("onnx", reason="onnx writes and checks the files")
ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime is the oracle")
from onnx.reference import ReferenceEvaluator  # noqa: E402


def with_statistics(model, seed=0):
    """Batch norms with running statistics and affine values far from 0/1, so the exported
    inference form is really exercised."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            size = module.running_mean.shape
            module.running_mean[...] = rng.normal(0, 0.5, size)
            module.running_var[...] = rng.uniform(0.5, 2.0, size)
            module.weight.data[...] = rng.uniform(0.5, 1.5, size)
            module.bias.data[...] = rng.normal(0, 0.3, size)
    return model.eval()


def check(model, shape, reference=True, batch=2):
    x = np.random.default_rng(1).standard_normal((batch, *shape)).astype(np.float32)
    buffer = io.BytesIO()
    proto = export(model, x[:1], buffer)
    expected = model(x).data
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=1e-4, atol=1e-4)
    if reference:
        got = ReferenceEvaluator(proto).run(None, {"input": x})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    onnx.checker.check_model(proto, full_check=True)
    return proto


@pytest.mark.parametrize("name", sorted(RESIDUAL_MODELS))
def test_every_cifar_resnet(name):
    model = with_statistics(build_model(name, (3, 32, 32), 10, rng=0))
    proto = check(model, (3, 32, 32), reference=name == "resnet20")
    ops = [node.op_type for node in proto.graph.node]
    blocks = sum(1 for module in model.modules() if type(module).__name__ == "BasicBlock")
    assert ops.count("Add") == blocks
    if RESIDUAL_MODELS[name][1].get("shortcut", "A") == "A":
        assert ops.count("Slice") == ops.count("Pad") == 2   # the two stage transitions


def test_notation_residual_blocks_at_odd_sizes():
    """res( ... ) with an identity shortcut and with a strided, widening one, on 9x7 images
    (the subsampling keeps rows 0, 2, ..., 8 as convnet's x[:, :, ::2, ::2])."""
    arch = ("[4|3x3 p1] relu res( [4|3x3 p1] bn relu [4|3x3 p1] bn ) relu "
            "res( [8|3x3 s2 p1] bn relu [8|3x3 p1] bn ) relu fc3")
    model = with_statistics(build_model(arch, (2, 9, 7), 3, rng=0))
    proto = check(model, (2, 9, 7))
    assert [node.op_type for node in proto.graph.node].count("Add") == 2


def test_strided_widening_shortcut_alone():
    """The option-A shortcut in the file is the paper's: a 16-channel map at stride 2 becomes
    8x8 with 8 zero channels either side, checked on the shortcut alone."""
    import convnet.nn as nn
    block = nn.Residual(nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1, rng=0)),
                        stride=2, extra_channels=16).eval()
    check(block, (16, 16, 16))
